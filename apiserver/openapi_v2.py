"""The OpenAPI v2 (Swagger 2.0) document at `/openapi/v2`, as JSON or protobuf.

kubectl still reads v2 for client-side validation of what v3 does not cover, a
`kind: List` manifest first of all: it asks for `/openapi/v2` in protobuf (gnostic's
`openapi.v2.Document`), looks up each item's schema by the
`x-kubernetes-group-version-kind` extension of the definitions, and refuses the
whole file when the document is missing.

The definitions are the v3 documents' schemas (`apiserver.openapi`), rewritten the
way Kubernetes writes v2: references point into `#/definitions/`, a reference with
a description is a `$ref` with siblings (v3 wraps it in `allOf`), and IntOrString
and Quantity are strings (v2 has no `oneOf`). `paths` is empty: kubectl finds
operations in the v3 documents (see docs/differences-from-kubernetes.md).

Custom resources (CRDs) are in the document too, from the same structural schemas
as their v3 documents: the built-in part is built once, the custom part again after
each CRD change.

The protobuf is written by hand with the field numbers of gnostic's
`openapiv2/OpenAPIv2.proto`; vendor extensions, defaults and enums are `Any`
messages holding YAML, as gnostic stores them.

Kubernetes counterpart: staging/src/k8s.io/kube-openapi/pkg/handler/handler.go,
github.com/google/gnostic-models/openapiv2/OpenAPIv2.proto
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from typing import Any

import yaml
from starlette.responses import Response

from apiserver.apiextensions.openapi import (custom_document, custom_group_versions,
                                             published_generation)
from apiserver.openapi import INFO_VERSION, SCHEMA_PREFIX, builtin_document
from apiserver.protobuf import encode_length_delimited, encode_varint
from tinykube.api.resources import INDEX

DEFINITIONS_PREFIX = "#/definitions/"
# What client-go asks for (the `@` form), and what is answered: `@` is not allowed
# in a Content-Type, and Go's mime parser refuses it.
PROTOBUF_ACCEPT = ("application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
                   "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
PROTOBUF_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


@functools.cache
def _builtin_definitions() -> dict[str, Any]:
    """The built-in group-versions' definitions (they never change while serving)."""
    definitions: dict[str, Any] = {}
    for group, version in INDEX.group_versions():
        document = builtin_document(group, version) or {}
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            definitions[name] = _to_v2(schema)
    return definitions


@functools.cache
def _builtin_definitions_protobuf() -> bytes:
    return _named_schemas(_builtin_definitions())


def _custom_definitions() -> dict[str, Any]:
    """The custom resources' definitions not already among the built-in ones (their
    documents repeat the built-in schemas they point at, such as ObjectMeta)."""
    builtin = _builtin_definitions()
    definitions: dict[str, Any] = {}
    for group, version in custom_group_versions():
        document = custom_document(group, version) or {}
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            if name not in builtin:
                definitions[name] = _to_v2(schema)
    return definitions


def swagger_document() -> dict[str, Any]:
    """The whole v2 document, every served group-version's definitions in one."""
    definitions = {**_builtin_definitions(), **_custom_definitions()}
    return {"swagger": "2.0", "info": {"title": "Kubernetes", "version": INFO_VERSION},
            "paths": {}, "definitions": dict(sorted(definitions.items()))}


# Encoded documents by format, with the CRD generation they were built at.
_encoded: dict[str, tuple[int, bytes]] = {}
_encoding = threading.Lock()


def _cached(kind: str, build: Any) -> bytes:
    with _encoding:
        generation = published_generation()
        if kind not in _encoded or _encoded[kind][0] != generation:
            _encoded[kind] = (generation, build())
        return _encoded[kind][1]


def swagger_json() -> bytes:
    return _cached("json", lambda: json.dumps(swagger_document(), separators=(",", ":")).encode())


def swagger_protobuf() -> bytes:
    return _cached("protobuf", _encode_protobuf)


def _encode_protobuf() -> bytes:
    info = _string(1, "Kubernetes") + _string(2, INFO_VERSION)
    definitions = _builtin_definitions_protobuf() + _named_schemas(_custom_definitions())
    return _string(1, "2.0") + _message(2, info) + _message(8, b"") + _message(9, definitions)


def _named_schemas(definitions: dict[str, Any]) -> bytes:
    """gnostic's `Definitions.additional_properties`: repeated NamedSchema."""
    return b"".join(_message(1, _string(1, name) + _message(2, _schema(schema)))
                    for name, schema in sorted(definitions.items()))


def _to_v2(schema: dict[str, Any]) -> dict[str, Any]:
    """One v3 schema as Kubernetes writes it in v2."""
    if "oneOf" in schema:  # IntOrString, Quantity
        out = {k: v for k, v in schema.items() if k != "oneOf"}
        out["type"] = "string"
        return out
    if "allOf" in schema and len(schema["allOf"]) == 1:
        rest = {k: v for k, v in schema.items() if k != "allOf"}
        return {**_to_v2(schema["allOf"][0]), **rest}
    out = {}
    for key, value in schema.items():
        if key == "$ref":
            value = DEFINITIONS_PREFIX + value.removeprefix(SCHEMA_PREFIX)
        elif key == "properties":
            value = {name: _to_v2(prop) for name, prop in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            value = _to_v2(value)
        out[key] = value
    return out


# --- gnostic's openapi.v2 messages, encoded by hand ----------------------------------

# Schema fields by number (OpenAPIv2.proto `message Schema`).
_SCHEMA_STRINGS = {"$ref": 1, "format": 2, "title": 3, "description": 4}
_SCHEMA_DEFAULT, _SCHEMA_REQUIRED, _SCHEMA_ENUM = 5, 19, 20
_SCHEMA_ADDITIONAL, _SCHEMA_TYPE, _SCHEMA_ITEMS = 21, 22, 23
_SCHEMA_PROPERTIES, _SCHEMA_EXTENSIONS = 25, 31


def _schema(schema: dict[str, Any]) -> bytes:
    out = b""
    for key, number in _SCHEMA_STRINGS.items():
        if schema.get(key):
            out += _string(number, schema[key])
    if "default" in schema:
        out += _message(_SCHEMA_DEFAULT, _any(schema["default"]))
    for name in schema.get("required", []):
        out += _string(_SCHEMA_REQUIRED, name)
    for value in schema.get("enum", []):
        out += _message(_SCHEMA_ENUM, _any(value))
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict):
        out += _message(_SCHEMA_ADDITIONAL, _message(1, _schema(additional)))
    elif isinstance(additional, bool):
        out += _message(_SCHEMA_ADDITIONAL, encode_varint(2 << 3) + encode_varint(int(additional)))
    if schema.get("type"):
        out += _message(_SCHEMA_TYPE, _string(1, schema["type"]))
    if isinstance(schema.get("items"), dict):
        out += _message(_SCHEMA_ITEMS, _message(1, _schema(schema["items"])))
    if schema.get("properties"):
        out += _message(_SCHEMA_PROPERTIES, b"".join(
            _message(1, _string(1, name) + _message(2, _schema(prop)))
            for name, prop in schema["properties"].items()))
    for name, value in schema.items():
        if name.startswith("x-"):
            out += _message(_SCHEMA_EXTENSIONS, _string(1, name) + _message(2, _any(value)))
    return out


def _any(value: Any) -> bytes:
    """gnostic's `Any`: field 2 holds the value as YAML."""
    return _string(2, yaml.safe_dump(value, default_flow_style=False))


def _message(number: int, payload: bytes) -> bytes:
    return encode_length_delimited(number, payload)


def _string(number: int, text: str) -> bytes:
    return _message(number, text.encode())


async def openapi_v2_response(accept: str) -> Response:
    """Protobuf when the client asks for it (kubectl does), else JSON. The first
    build takes seconds of pure Python: it runs in a thread, off the event loop."""
    if any(media_type in accept for media_type in PROTOBUF_ACCEPT):
        return Response(await asyncio.to_thread(swagger_protobuf), media_type=PROTOBUF_CONTENT_TYPE)
    return Response(await asyncio.to_thread(swagger_json), media_type="application/json")
