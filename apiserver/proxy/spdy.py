"""SPDY/3.1 framing: the codec kubectl's port-forward speaks inside its WebSocket.

kubectl >= 1.31 opens `pods/{name}/portforward` as a WebSocket with the subprotocol
`SPDY/3.1+portforward.k8s.io` and then runs an unchanged SPDY/3.1 session over the
binary messages, treating them as one byte stream (a single frame may arrive split
over several messages, so the decoder buffers). Frames:

    control: |1|version(15)=3|type(16)|flags(8)|length(24)|payload
    data:    |0|stream id(31)        |flags(8)|length(24)|payload

Header blocks (SYN_STREAM, SYN_REPLY, HEADERS) are a count plus length-prefixed
name/value pairs, zlib-compressed with the fixed SPDY/3 dictionary. There is ONE
compression context per direction for the whole connection (never per frame), and
each block ends with a Z_SYNC_FLUSH, so a `SpdyCodec` must live as long as the
connection.

Kubernetes counterpart: vendor github.com/moby/spdystream/spdy (types.go, read.go,
write.go), SPDY/3 draft §2.6.10 (the header dictionary)
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from enum import IntEnum

VERSION = 3
FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02
MAX_DATA_LENGTH = (1 << 24) - 1


class FrameType(IntEnum):
    SYN_STREAM = 1
    SYN_REPLY = 2
    RST_STREAM = 3
    SETTINGS = 4
    PING = 6
    GOAWAY = 7
    HEADERS = 8
    WINDOW_UPDATE = 9


class RstStatus(IntEnum):
    PROTOCOL_ERROR = 1
    INVALID_STREAM = 2
    REFUSED_STREAM = 3
    UNSUPPORTED_VERSION = 4
    CANCEL = 5
    INTERNAL_ERROR = 6


def _header_dictionary() -> bytes:
    """The SPDY/3 zlib dictionary (1423 bytes): length-prefixed common header words,
    then a run of status codes, dates and media types."""
    words = ("options head post put delete trace accept accept-charset accept-encoding "
             "accept-language accept-ranges age allow authorization cache-control connection "
             "content-base content-encoding content-language content-length content-location "
             "content-md5 content-range content-type date etag expect expires from host if-match "
             "if-modified-since if-none-match if-range if-unmodified-since last-modified location "
             "max-forwards pragma proxy-authenticate proxy-authorization range referer retry-after "
             "server te trailer transfer-encoding upgrade user-agent vary via warning "
             "www-authenticate method get status").split() + ["200 OK"] + \
        "version HTTP/1.1 url public set-cookie keep-alive origin".split()
    tail = ("100101201202205206300302303304305306307402405406407408409410411412413414415416417"
            "502504505203 Non-Authoritative Information204 No Content301 Moved Permanently"
            "400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error"
            "501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct "
            "Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,"
            "image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,"
            "publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.")
    return b"".join(len(w).to_bytes(4, "big") + w.encode() for w in words) + tail.encode()


HEADER_DICTIONARY = _header_dictionary()
assert len(HEADER_DICTIONARY) == 1423


class SpdyProtocolError(Exception):
    """The peer sent bytes that are not SPDY/3.1: the session must end (GOAWAY)."""


@dataclass
class DataFrame:
    stream_id: int
    data: bytes
    flags: int = 0

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


@dataclass
class ControlFrame:
    """A control frame, decoded. Fields that a type does not use stay at defaults:

    - SYN_STREAM: stream_id, associated_stream_id, priority, headers
    - SYN_REPLY / HEADERS: stream_id, headers
    - RST_STREAM: stream_id, status; GOAWAY: stream_id (last good), status
    - PING: ping_id; WINDOW_UPDATE: stream_id, delta
    - SETTINGS: settings {id: value}
    """

    type: FrameType
    flags: int = 0
    stream_id: int = 0
    associated_stream_id: int = 0
    priority: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 0
    ping_id: int = 0
    delta: int = 0
    settings: dict[int, int] = field(default_factory=dict)

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


Frame = DataFrame | ControlFrame


def _encode_header_block(headers: dict[str, str]) -> bytes:
    out = [struct.pack(">I", len(headers))]
    for name, value in headers.items():
        raw_name, raw_value = name.lower().encode(), value.encode()
        out.append(struct.pack(">I", len(raw_name)) + raw_name)
        out.append(struct.pack(">I", len(raw_value)) + raw_value)
    return b"".join(out)


def _decode_header_block(block: bytes) -> dict[str, str]:
    try:
        (count,), offset = struct.unpack_from(">I", block), 4
        headers: dict[str, str] = {}
        for _ in range(count):
            (name_len,) = struct.unpack_from(">I", block, offset)
            name = block[offset + 4: offset + 4 + name_len].decode()
            offset += 4 + name_len
            (value_len,) = struct.unpack_from(">I", block, offset)
            # Several values for one name are joined by NUL; port-forward never sends any.
            headers[name] = block[offset + 4: offset + 4 + value_len].decode().split("\x00")[0]
            offset += 4 + value_len
        return headers
    except (struct.error, UnicodeDecodeError) as err:
        raise SpdyProtocolError(f"malformed header block: {err}") from None


class SpdyCodec:
    """Bytes in → frames out, frames in → bytes out, for one connection.

    - `feed(chunk)` accepts any split of the byte stream and returns every frame
      completed so far; partial frames wait in the buffer;
    - `encode(frame)` produces one frame's bytes; header blocks share this
      connection's compressor, so encode frames in the order they are sent.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 15, 8,
                                            zlib.Z_DEFAULT_STRATEGY, HEADER_DICTIONARY)
        self._decompressor = zlib.decompressobj(zdict=HEADER_DICTIONARY)

    # --- reading -----------------------------------------------------------------

    def feed(self, chunk: bytes) -> list[Frame]:
        self._buffer += chunk
        frames: list[Frame] = []
        while len(self._buffer) >= 8:
            length = int.from_bytes(self._buffer[5:8], "big")
            if len(self._buffer) < 8 + length:
                break
            head, payload = bytes(self._buffer[:8]), bytes(self._buffer[8: 8 + length])
            del self._buffer[: 8 + length]
            frames.append(self._decode(head, payload))
        return frames

    def _decode(self, head: bytes, payload: bytes) -> Frame:
        first, flags = struct.unpack_from(">I", head)[0], head[4]
        if not first & 0x8000_0000:
            return DataFrame(first & 0x7FFF_FFFF, payload, flags)
        version, type_ = (first >> 16) & 0x7FFF, first & 0xFFFF
        if version != VERSION:
            raise SpdyProtocolError(f"unsupported SPDY version {version}")
        try:
            frame_type = FrameType(type_)
        except ValueError:
            raise SpdyProtocolError(f"unknown control frame type {type_}") from None
        frame = ControlFrame(frame_type, flags)
        try:
            if frame_type is FrameType.SYN_STREAM:
                frame.stream_id, frame.associated_stream_id = (
                    v & 0x7FFF_FFFF for v in struct.unpack_from(">II", payload))
                frame.priority = payload[8] >> 5
                frame.headers = self._inflate(payload[10:])
            elif frame_type in (FrameType.SYN_REPLY, FrameType.HEADERS):
                frame.stream_id = struct.unpack_from(">I", payload)[0] & 0x7FFF_FFFF
                frame.headers = self._inflate(payload[4:])
            elif frame_type in (FrameType.RST_STREAM, FrameType.GOAWAY):
                stream_id, frame.status = struct.unpack_from(">II", payload)
                frame.stream_id = stream_id & 0x7FFF_FFFF
            elif frame_type is FrameType.PING:
                frame.ping_id = struct.unpack_from(">I", payload)[0]
            elif frame_type is FrameType.WINDOW_UPDATE:
                stream_id, delta = struct.unpack_from(">II", payload)
                frame.stream_id, frame.delta = stream_id & 0x7FFF_FFFF, delta & 0x7FFF_FFFF
            elif frame_type is FrameType.SETTINGS:
                (count,) = struct.unpack_from(">I", payload)
                for index in range(count):
                    id_word, value = struct.unpack_from(">II", payload, 4 + 8 * index)
                    frame.settings[id_word & 0xFF_FFFF] = value
        except struct.error as err:
            raise SpdyProtocolError(f"short {frame_type.name} frame: {err}") from None
        return frame

    def _inflate(self, compressed: bytes) -> dict[str, str]:
        try:
            return _decode_header_block(self._decompressor.decompress(compressed))
        except zlib.error as err:
            raise SpdyProtocolError(f"header block does not decompress: {err}") from None

    # --- writing -----------------------------------------------------------------

    def _deflate(self, headers: dict[str, str]) -> bytes:
        block = _encode_header_block(headers)
        return self._compressor.compress(block) + self._compressor.flush(zlib.Z_SYNC_FLUSH)

    def encode(self, frame: Frame) -> bytes:
        if isinstance(frame, DataFrame):
            if len(frame.data) > MAX_DATA_LENGTH:
                raise ValueError("a DATA frame carries at most 16 MiB; split the data")
            return struct.pack(">IB", frame.stream_id & 0x7FFF_FFFF, frame.flags) + \
                len(frame.data).to_bytes(3, "big") + frame.data
        type_ = frame.type
        if type_ is FrameType.SYN_STREAM:
            payload = struct.pack(">IIBB", frame.stream_id, frame.associated_stream_id,
                                  (frame.priority & 0x7) << 5, 0) + self._deflate(frame.headers)
        elif type_ in (FrameType.SYN_REPLY, FrameType.HEADERS):
            payload = struct.pack(">I", frame.stream_id) + self._deflate(frame.headers)
        elif type_ in (FrameType.RST_STREAM, FrameType.GOAWAY):
            payload = struct.pack(">II", frame.stream_id, frame.status)
        elif type_ is FrameType.PING:
            payload = struct.pack(">I", frame.ping_id)
        elif type_ is FrameType.WINDOW_UPDATE:
            payload = struct.pack(">II", frame.stream_id, frame.delta)
        else:  # SETTINGS
            payload = struct.pack(">I", len(frame.settings)) + b"".join(
                struct.pack(">II", key & 0xFF_FFFF, value) for key, value in frame.settings.items())
        return struct.pack(">HHB", 0x8000 | VERSION, type_, frame.flags) + \
            len(payload).to_bytes(3, "big") + payload
