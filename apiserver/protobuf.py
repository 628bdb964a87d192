"""Decode Kubernetes protobuf request bodies into the JSON a JSON client would send.

kubectl's typed generators (`kubectl create deployment ...`, `create configmap`,
`create secret`, `create namespace`, `create service`, `create serviceaccount`,
`create ingress`) POST `Content-Type: application/vnd.kubernetes.protobuf` with no
fallback to JSON, and so do its DELETEs (DeleteOptions) and `drain` (Eviction). `handlers.read_body` hands such bodies to `decode_object`, which
returns the same dict `json.loads` would have returned for the JSON form, so the
rest of the server never sees protobuf.

The wire format: the 4-byte magic `k8s\\x00`, then a `runtime.Unknown` message
{1: typeMeta {1: apiVersion, 2: kind}, 2: raw, 3: contentEncoding, 4: contentType},
where `raw` is the object's own protobuf encoding, described field by field in
`apiserver.protobuf_schema`.

Invariants:
- Nothing is silently dropped: an unknown field number, or a field whose type the
  schema does not describe, fails the request with a message naming the message
  type and field number.
- Go's protobuf encoder always writes non-pointer fields, so a zero scalar in one of
  them means "unset" and is left out, as `omitempty` would; pointer fields keep it
  (`replicas: 0` stays 0). Map values and list items are kept as sent.
- Bytes become base64 strings and times RFC 3339 strings, as in the JSON form.

Kubernetes counterpart: staging/src/k8s.io/apimachinery/pkg/runtime/serializer/protobuf/protobuf.go
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from apiserver.decoding import parse_json
from apiserver.protobuf_schema import ROOT_MESSAGES, SCALAR_MESSAGES, SCHEMA, Field

CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

WIRE_VARINT, WIRE_FIXED64, WIRE_BYTES, WIRE_FIXED32 = 0, 1, 2, 5
_WIRE_NAMES = {WIRE_VARINT: "varint", WIRE_FIXED64: "64-bit", WIRE_BYTES: "length-delimited",
               WIRE_FIXED32: "32-bit"}

WireValue = int | bytes


class MalformedProtobuf(ValueError):
    """The bytes are not valid protobuf (truncated, bad wire type, bad UTF-8)."""


class UnsupportedProtobuf(ValueError):
    """Valid protobuf that this server cannot map to JSON (unknown kind or field)."""


def decode_object(body: bytes) -> dict[str, Any]:
    """Decode a `k8s\\x00` + runtime.Unknown body into the object's JSON dict."""
    if not body.startswith(MAGIC):
        raise MalformedProtobuf("the body does not start with the Kubernetes protobuf "
                                "prefix 'k8s\\x00'")
    envelope = _fields_by_number(body[len(MAGIC):])
    type_meta = _fields_by_number(_as_bytes(envelope.get(1, b""), "Unknown.typeMeta"))
    api_version = _as_text(type_meta.get(1, b""), "TypeMeta.apiVersion")
    kind = _as_text(type_meta.get(2, b""), "TypeMeta.kind")
    encoding = _as_text(envelope.get(3, b""), "Unknown.contentEncoding")
    if encoding:
        raise UnsupportedProtobuf(f"protobuf contentEncoding {encoding!r} is not supported")
    root = ROOT_MESSAGES.get((api_version, kind))
    if root is None:
        served = ", ".join(f"{v} {k}" for v, k in ROOT_MESSAGES)
        raise UnsupportedProtobuf(
            f"protobuf bodies of {api_version or '<no apiVersion>'} {kind or '<no kind>'} are "
            f"not supported by this server (supported: {served}); send it as JSON")
    decoded = decode_message(root, _as_bytes(envelope.get(2, b""), "Unknown.raw"))
    return {"apiVersion": api_version, "kind": kind, **decoded}


def decode_message(message: str, data: bytes) -> dict[str, Any]:
    """Decode one message of `SCHEMA` into its JSON object."""
    schema = SCHEMA[message]
    obj: dict[str, Any] = {}
    for number, wire_type, raw in iter_fields(data):
        field = schema.get(number)
        if field is None:
            raise UnsupportedProtobuf(
                f"protobuf field {number} ({_WIRE_NAMES[wire_type]}) of message {message} is "
                "not known to this server; send this object as JSON")
        where = f"{message}.{field.json_name} (field {number})"
        if field.map_value:
            key, value = _decode_map_entry(field, _as_bytes(raw, where), where)
            obj.setdefault(field.json_name, {})[key] = value
        elif field.repeated and field.kind == "int" and wire_type == WIRE_BYTES:
            # A packed repeated scalar: one length-delimited run of varints.
            obj.setdefault(field.json_name, []).extend(
                _signed(v) for v in _iter_varints(_as_bytes(raw, where)))
        elif field.repeated:
            obj.setdefault(field.json_name, []).append(_decode_value(field, raw, where))
        elif field.inline:
            obj.update(_decode_value(field, raw, where))
        else:
            value = _decode_value(field, raw, where)
            if value is None or (not field.pointer and _is_zero(field, value)):
                obj.pop(field.json_name, None)
            else:
                obj[field.json_name] = value
    return obj


def _decode_map_entry(field: Field, data: bytes, where: str) -> tuple[str, Any]:
    entry = _fields_by_number(data)
    key = _as_text(entry.get(1, b""), where + " key")
    if 2 not in entry:
        return key, {"bytes": "", "str": ""}.get(field.kind, _zero_message(field.kind))
    return key, _decode_value(field, entry[2], where)


def _zero_message(kind: str) -> Any:
    return "0" if kind == "Quantity" else {}


def _decode_value(field: Field, raw: WireValue, where: str) -> Any:
    kind = field.kind
    if kind == "str":
        return _as_text(raw, where)
    if kind == "int":
        return _signed(_as_int(raw, where))
    if kind == "bool":
        return bool(_as_int(raw, where))
    if kind == "bytes":
        return base64.b64encode(_as_bytes(raw, where)).decode()
    data = _as_bytes(raw, where)
    if kind in SCALAR_MESSAGES:
        return _decode_scalar_message(kind, data, where, field.pointer or field.map_value)
    if kind not in SCHEMA:
        raise UnsupportedProtobuf(f"{where} of type {kind} is not supported by this server; "
                                  "send this object as JSON")
    return decode_message(kind, data)


def _decode_scalar_message(kind: str, data: bytes, where: str, keep_zero: bool) -> Any:
    fields = _fields_by_number(data)
    if kind in ("Time", "MicroTime"):
        seconds = _signed(_as_int(fields.get(1, 0), where))
        nanos = _as_int(fields.get(2, 0), where)
        if seconds == 0 and nanos == 0:
            return None  # the zero time is JSON null, i.e. not set
        return format_time(seconds, nanos, micro=kind == "MicroTime")
    if kind == "Quantity":
        text = _as_text(fields.get(1, b""), where)
        return text or ("0" if keep_zero else "")
    if kind == "IntOrString":
        if _as_int(fields.get(1, 0), where) == 1:
            return _as_text(fields.get(3, b""), where)
        return _signed(_as_int(fields.get(2, 0), where))
    raw_json = _as_bytes(fields.get(1, b""), where)  # FieldsV1, RawExtension
    if not raw_json:
        return None
    try:
        return parse_json(raw_json)  # bounded nesting, like every JSON body
    except ValueError as err:
        raise MalformedProtobuf(f"{where} does not hold JSON: {err}") from None


def format_time(seconds: int, nanos: int, micro: bool = False) -> str:
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    if micro:
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos // 1000:06d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_zero(field: Field, value: Any) -> bool:
    if field.kind in SCHEMA:
        return False  # a non-pointer struct is always there, even when empty
    if field.kind == "IntOrString":
        return value == 0
    return value in ("", 0, False)


# --- the wire format ---------------------------------------------------------------

def iter_fields(data: bytes) -> Iterator[tuple[int, int, WireValue]]:
    """Yield (field number, wire type, value) for each field of one message."""
    pos, end = 0, len(data)
    while pos < end:
        tag, pos = _read_varint(data, pos)
        number, wire_type = tag >> 3, tag & 7
        if number == 0:
            raise MalformedProtobuf("protobuf field number 0 is invalid")
        if wire_type == WIRE_VARINT:
            value, pos = _read_varint(data, pos)
            yield number, wire_type, value
        elif wire_type in (WIRE_FIXED64, WIRE_FIXED32):
            size = 8 if wire_type == WIRE_FIXED64 else 4
            if pos + size > end:
                raise MalformedProtobuf("protobuf data ends inside a fixed-size field")
            yield number, wire_type, int.from_bytes(data[pos:pos + size], "little")
            pos += size
        elif wire_type == WIRE_BYTES:
            length, pos = _read_varint(data, pos)
            if pos + length > end:
                raise MalformedProtobuf("protobuf data ends inside a length-delimited field")
            yield number, wire_type, data[pos:pos + length]
            pos += length
        else:
            raise MalformedProtobuf(f"protobuf wire type {wire_type} (field {number}) is not "
                                    "supported")


def encode_varint(value: int) -> bytes:
    """A varint; negative numbers as 10-byte two's complement, as Go writes int64."""
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def encode_length_delimited(number: int, payload: bytes) -> bytes:
    """Field `number` holding bytes, a string or an embedded message."""
    return encode_varint(number << 3 | WIRE_BYTES) + encode_varint(len(payload)) + payload


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise MalformedProtobuf("protobuf data ends inside a varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise MalformedProtobuf("protobuf varint is longer than 10 bytes")


def _iter_varints(data: bytes) -> Iterator[int]:
    pos = 0
    while pos < len(data):
        value, pos = _read_varint(data, pos)
        yield value


def _fields_by_number(data: bytes) -> dict[int, WireValue]:
    # For singular fields the last occurrence wins, as in every protobuf decoder.
    return {number: value for number, _, value in iter_fields(data)}


def _signed(value: int) -> int:
    # int32 and int64 are both sent as 64-bit two's complement varints.
    return value - (1 << 64) if value >= 1 << 63 else value


def _as_int(raw: WireValue, where: str) -> int:
    if not isinstance(raw, int):
        raise MalformedProtobuf(f"{where}: expected a varint, got length-delimited data")
    return raw


def _as_bytes(raw: WireValue, where: str) -> bytes:
    if not isinstance(raw, bytes):
        raise MalformedProtobuf(f"{where}: expected length-delimited data, got a number")
    return raw


def _as_text(raw: WireValue, where: str) -> str:
    try:
        return _as_bytes(raw, where).decode()
    except UnicodeDecodeError:
        raise MalformedProtobuf(f"{where}: string is not valid UTF-8") from None
