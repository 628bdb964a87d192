"""Describe any other kind: its metadata, then every other field as nested `Key:` lines.

Field names are turned into labels the way kubectl's generic describer does
(`observedGeneration` → `Observed Generation`); lists of objects print each item
as an indented block.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/describe/describe.go
(GenericDescriberFor, printUnstructuredContent, smartLabelFor)
"""

from __future__ import annotations

import re
from typing import Any

from tinykube.api.resources import ResourceInfo
from tinykube.cli.describe.format import PrefixWriter, format_time, write_object_meta
from tinykube.client import RESTClient

Obj = dict[str, Any]
_SKIPPED_TOP = {"metadata", "apiVersion", "kind"}
_SKIPPED_META = {"name", "namespace", "labels", "annotations", "managedFields"}


async def describe_generic(client: RESTClient, info: ResourceInfo, obj: Obj) -> PrefixWriter:
    w = PrefixWriter()
    write_object_meta(w, obj, namespaced=info.namespaced)
    w.write(0, f"API Version:\t{obj.get('apiVersion', info.api_version)}")
    w.write(0, f"Kind:\t{obj.get('kind', info.kind)}")
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _SKIPPED_META}
    if meta:
        w.write(0, "Metadata:")
        write_content(w, 1, meta)
    write_content(w, 0, {k: v for k, v in obj.items() if k not in _SKIPPED_TOP})
    return w


def write_content(w: PrefixWriter, level: int, content: Obj) -> None:
    for key in sorted(content):
        value = content[key]
        label = smart_label(key)
        if isinstance(value, dict):
            w.write(level, f"{label}:")
            write_content(w, level + 1, value)
        elif isinstance(value, list):
            w.write(level, f"{label}:")
            for item in value:
                if isinstance(item, dict):
                    write_content(w, level + 1, item)
                else:
                    w.write(level + 1, str(item))
        elif key.endswith("Timestamp") or key.endswith("Time"):
            w.write(level, f"{label}:\t{format_time(str(value)) if value else ''}")
        else:
            w.write(level, f"{label}:\t{_scalar(value)}")


def smart_label(key: str) -> str:
    """`observedGeneration` → `Observed Generation`; `podIP` → `Pod IP`."""
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+", key) or [key]
    return " ".join(word[0].upper() + word[1:] for word in words)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
