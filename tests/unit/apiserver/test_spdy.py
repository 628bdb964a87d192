"""The SPDY/3.1 codec: frames survive a round trip through a second codec (the test's
encoder, standing in for kubectl), in any byte split, with one shared header
compression context per direction."""

from __future__ import annotations

import zlib

import pytest

from apiserver.proxy import spdy
from apiserver.proxy.spdy import ControlFrame, DataFrame, FrameType, SpdyCodec


def roundtrip(frames: list[spdy.Frame], split: int | None = None) -> list[spdy.Frame]:
    sender, receiver = SpdyCodec(), SpdyCodec()
    wire = b"".join(sender.encode(f) for f in frames)
    if split is None:
        return receiver.feed(wire)
    decoded: list[spdy.Frame] = []
    for start in range(0, len(wire), split):
        decoded += receiver.feed(wire[start: start + split])
    return decoded


@pytest.mark.parametrize("frame", [
    DataFrame(1, b"hello", spdy.FLAG_FIN),
    DataFrame(3, b""),
    ControlFrame(FrameType.SYN_STREAM, stream_id=1,
                 headers={"streamtype": "data", "port": "8080", "requestid": "0"}),
    ControlFrame(FrameType.SYN_REPLY, stream_id=5, headers={}),
    ControlFrame(FrameType.RST_STREAM, stream_id=7, status=spdy.RstStatus.CANCEL),
    ControlFrame(FrameType.PING, ping_id=42),
    ControlFrame(FrameType.GOAWAY, stream_id=9, status=0),
    ControlFrame(FrameType.WINDOW_UPDATE, stream_id=1, delta=65536),
    ControlFrame(FrameType.SETTINGS, settings={7: 1 << 20}),
])
def test_every_frame_type_round_trips(frame: spdy.Frame) -> None:
    assert roundtrip([frame]) == [frame]


def test_frames_split_into_tiny_pieces_are_reassembled() -> None:
    # kubectl writes single frames in 2-, 2- and 4-byte messages.
    frames: list[spdy.Frame] = [
        ControlFrame(FrameType.SYN_STREAM, stream_id=1, headers={"streamtype": "error", "port": "80"}),
        ControlFrame(FrameType.SYN_STREAM, stream_id=3, headers={"streamtype": "data", "port": "80"}),
        DataFrame(3, b"GET / HTTP/1.0\r\n\r\n")]
    for split in (1, 2, 3, 7):
        assert roundtrip(frames, split) == frames


def test_header_compression_context_spans_the_connection() -> None:
    sender, receiver = SpdyCodec(), SpdyCodec()
    headers = {"streamtype": "data", "port": "80", "requestid": "1"}
    first = sender.encode(ControlFrame(FrameType.SYN_STREAM, stream_id=1, headers=headers))
    second = sender.encode(ControlFrame(FrameType.SYN_STREAM, stream_id=3, headers=headers))
    # The second block refers back to the first, so it is smaller, and only a
    # receiver that saw the first can read it.
    assert len(second) < len(first)
    assert receiver.feed(first + second)[1].headers == headers  # type: ignore[union-attr]
    with pytest.raises(spdy.SpdyProtocolError):
        SpdyCodec().feed(second)


def test_header_blocks_use_the_spdy3_dictionary() -> None:
    frame = SpdyCodec().encode(ControlFrame(FrameType.SYN_REPLY, stream_id=1, headers={"a": "b"}))
    block = frame[12:]
    # zlib header with FDICT set, naming the dictionary by its Adler-32.
    assert block[1] & 0x20
    assert int.from_bytes(block[2:6], "big") == zlib.adler32(spdy.HEADER_DICTIONARY)
    assert len(spdy.HEADER_DICTIONARY) == 1423


def test_control_frame_wire_layout() -> None:
    ping = SpdyCodec().encode(ControlFrame(FrameType.PING, ping_id=1))
    assert ping == bytes([0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1])
    data = SpdyCodec().encode(DataFrame(5, b"xy", spdy.FLAG_FIN))
    assert data == bytes([0, 0, 0, 5, 1, 0, 0, 2]) + b"xy"


def test_garbage_is_a_protocol_error() -> None:
    with pytest.raises(spdy.SpdyProtocolError):
        SpdyCodec().feed(bytes([0x80, 0x02, 0x00, 0x01, 0, 0, 0, 0]))  # SPDY/2
    with pytest.raises(spdy.SpdyProtocolError):
        SpdyCodec().feed(bytes([0x80, 0x03, 0x00, 0x63, 0, 0, 0, 0]))  # unknown type
