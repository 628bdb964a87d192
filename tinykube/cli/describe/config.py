"""Describe ConfigMaps (values shown) and Secrets (values hidden, sizes shown).

A Secret's describe must never print its data: only the key and the decoded
length in bytes, as kubectl does.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/describe/describe.go (ConfigMapDescriber,
SecretDescriber)
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from tinykube.api.resources import ResourceInfo
from tinykube.cli.describe.format import PrefixWriter, write_object_meta
from tinykube.client import RESTClient

Obj = dict[str, Any]


def _section(w: PrefixWriter, title: str) -> None:
    w.write(0, "")
    w.write(0, title)
    w.write(0, "====")


async def describe_config_map(client: RESTClient, info: ResourceInfo, cm: Obj) -> PrefixWriter:
    w = PrefixWriter()
    write_object_meta(w, cm)
    _section(w, "Data")
    for key, value in sorted((cm.get("data") or {}).items()):
        w.write(0, f"{key}:")
        w.write(0, "----")
        w.write(0, str(value))
        w.write(0, "")
    _section(w, "BinaryData")
    for key, value in sorted((cm.get("binaryData") or {}).items()):
        w.write(0, f"{key}: {_decoded_size(value)} bytes")
    w.write(0, "")
    return w


async def describe_secret(client: RESTClient, info: ResourceInfo, secret: Obj) -> PrefixWriter:
    w = PrefixWriter()
    write_object_meta(w, secret)
    w.write(0, "")
    w.write(0, f"Type:\t{secret.get('type', 'Opaque')}")
    _section(w, "Data")
    sizes = {key: _decoded_size(value) for key, value in (secret.get("data") or {}).items()}
    for key, value in (secret.get("stringData") or {}).items():
        sizes[key] = len(str(value).encode())
    for key, size in sorted(sizes.items()):
        w.write(0, f"{key}:\t{size} bytes")
    return w


def _decoded_size(value: Any) -> int:
    try:
        return len(base64.b64decode(str(value), validate=True))
    except (binascii.Error, ValueError):
        return len(str(value))
