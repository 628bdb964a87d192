"""Field paths, field sets and their managedFields encoding (FieldsV1).

A field path is a tuple of path elements, each written exactly as it appears as a key in
``fieldsV1``: ``"f:spec"`` (a named field or map key), ``'k:{"name":"nginx"}'`` (an item of
an associative list, identified by its key fields), ``'v:"a"'`` (an item of a set list).
A field set is a plain ``set`` of such tuples. In ``fieldsV1`` a path that is itself in the
set and also has children carries a ``".": {}`` marker; a member without children is ``{}``.

This module also turns ``metadata.managedFields`` entries into ``ManagedEntry`` values and
back (sorted the way the Kubernetes API server sorts them), and words ``ApplyConflict``
messages as the API server does. It knows nothing about schemas; ``apiserver.fieldmanager``
builds the sets.

Kubernetes counterpart: sigs.k8s.io/structured-merge-diff/v4/fieldpath (serialize.go, element.go)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

PathElement = str
Path = tuple[PathElement, ...]

# Upstream orders path elements: named fields, then keys, then values, then indexes.
_ELEMENT_RANK = {"f": 0, "k": 1, "v": 2, "i": 3}


def to_json(value: Any) -> str:
    """Compact JSON as Go writes it inside path elements (no spaces, UTF-8 kept)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def field_element(name: str) -> PathElement:
    return "f:" + name


def key_element(key_fields: dict[str, Any]) -> PathElement:
    """``k:{...}`` with the key fields sorted by name, as upstream sorts a key's fields."""
    return "k:" + to_json(dict(sorted(key_fields.items())))


def value_element(value: Any) -> PathElement:
    return "v:" + to_json(value)


def element_sort_key(element: PathElement) -> tuple[int, str]:
    return (_ELEMENT_RANK.get(element[:1], 9), element[2:])


def path_sort_key(path: Path) -> tuple[tuple[int, str], ...]:
    return tuple(element_sort_key(element) for element in path)


def format_element(element: PathElement) -> str:
    """One element as upstream's PathElement.String() prints it."""
    kind, body = element[:1], element[2:]
    if kind == "f":
        return "." + body
    if kind == "k":
        key_fields = json.loads(body)
        return "[" + ",".join(f"{name}={to_json(value)}" for name, value in key_fields.items()) + "]"
    if kind == "v":
        return "[=" + body + "]"
    if kind == "i":
        return "[" + body + "]"
    return "{{invalid path element}}"


def format_path(path: Path) -> str:
    """``.spec.template.spec.containers[name="nginx"].image``, as conflict messages print it."""
    return "".join(format_element(element) for element in path)


def fields_v1_to_paths(fields_v1: dict[str, Any]) -> set[Path]:
    """Decode a ``fieldsV1`` tree into the set of paths it holds; ValueError if malformed."""
    paths: set[Path] = set()

    def walk(node: dict[str, Any], prefix: Path) -> None:
        for element, child in node.items():
            if element == ".":
                if prefix:
                    paths.add(prefix)
                continue
            if not isinstance(child, dict) or element[:2] not in ("f:", "k:", "v:", "i:"):
                raise ValueError(f"invalid fieldsV1 element {element!r}")
            path = prefix + (element,)
            if child:
                walk(child, path)
            else:
                paths.add(path)

    if not isinstance(fields_v1, dict):
        raise ValueError("fieldsV1 must be an object")
    walk(fields_v1, ())
    return paths


def paths_to_fields_v1(paths: set[Path] | frozenset[Path]) -> dict[str, Any]:
    """Encode a path set as a ``fieldsV1`` tree (children sorted as upstream emits them)."""
    members: set[Path] = set(paths)
    trie: dict[str, Any] = {}
    for path in paths:
        node = trie
        for element in path:
            node = node.setdefault(element, {})

    def emit(node: dict[str, Any], prefix: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if prefix in members and node and prefix:
            out["."] = {}
        for element in sorted(node, key=element_sort_key):
            out[element] = emit(node[element], prefix + (element,))
        return out

    return emit(trie, ())


def remove_prefixed(paths: set[Path], removed: set[Path]) -> set[Path]:
    """``paths`` without every path that is, or lies below, a path in ``removed``."""
    if not removed:
        return set(paths)
    return {p for p in paths if not any(p[:i] in removed for i in range(1, len(p) + 1))}


OPERATION_APPLY = "Apply"
OPERATION_UPDATE = "Update"

# (manager, operation, subresource, apiVersion-or-"" for appliers): like upstream's
# BuildManagerIdentifier, an applier keeps one entry whatever apiVersion it applies at.
ManagerIdentity = tuple[str, str, str, str]


@dataclass
class ManagedEntry:
    """One ``metadata.managedFields`` item, with its fieldsV1 decoded into a path set."""

    manager: str
    operation: str
    api_version: str
    subresource: str = ""
    time: str | None = None
    paths: set[Path] = field(default_factory=set)

    @property
    def identity(self) -> ManagerIdentity:
        version = "" if self.operation == OPERATION_APPLY else self.api_version
        return (self.manager, self.operation, self.subresource, version)

    def describe(self) -> str:
        """The manager as conflict messages name it: '"kubectl" using apps/v1'."""
        text = json.dumps(self.manager)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        if self.operation == OPERATION_UPDATE:
            text += f" using {self.api_version}"
        return text


def decode_managed_fields(items: Any) -> dict[ManagerIdentity, ManagedEntry]:
    """Parse ``metadata.managedFields``; ValueError on anything malformed."""
    if items is None:
        return {}
    if not isinstance(items, list):
        raise ValueError("metadata.managedFields must be a list")
    entries: dict[ManagerIdentity, ManagedEntry] = {}
    for item in items:
        if not isinstance(item, dict) or item.get("operation") not in (OPERATION_APPLY, OPERATION_UPDATE):
            raise ValueError("managedFields entry needs operation Apply or Update")
        if item.get("fieldsType", "FieldsV1") != "FieldsV1":
            raise ValueError(f"unsupported fieldsType {item.get('fieldsType')!r}")
        entry = ManagedEntry(
            manager=str(item.get("manager", "")),
            operation=item["operation"],
            api_version=str(item.get("apiVersion", "")),
            subresource=str(item.get("subresource", "") or ""),
            time=item.get("time"),
            paths=fields_v1_to_paths(item.get("fieldsV1") or {}),
        )
        previous = entries.get(entry.identity)
        if previous is not None:
            entry.paths |= previous.paths
        entries[entry.identity] = entry
    return entries


def encode_managed_fields(entries: dict[ManagerIdentity, ManagedEntry]) -> list[dict[str, Any]]:
    """Entries with a non-empty set, ordered as upstream: Apply first, then by time, manager."""
    live = [e for e in entries.values() if e.paths]
    live.sort(key=lambda e: (e.operation, e.time or "", e.manager, e.api_version, e.subresource))
    out: list[dict[str, Any]] = []
    for entry in live:
        item: dict[str, Any] = {"manager": entry.manager, "operation": entry.operation, "apiVersion": entry.api_version}
        if entry.time is not None:
            item["time"] = entry.time
        item["fieldsType"] = "FieldsV1"
        item["fieldsV1"] = paths_to_fields_v1(entry.paths)
        if entry.subresource:
            item["subresource"] = entry.subresource
        out.append(item)
    return out


class ApplyConflict(Exception):
    """An apply would change fields other managers own.

    - ``conflicts``: (manager name, field path such as ".spec.replicas"), sorted.
    - ``causes``: Status causes (reason FieldManagerConflict) for the 409 response.
    """

    def __init__(self, found: list[tuple[ManagedEntry, Path]]) -> None:
        found = sorted(found, key=lambda c: (c[0].describe(), path_sort_key(c[1])))
        self.conflicts: list[tuple[str, str]] = [(e.manager, format_path(p)) for e, p in found]
        self.causes: list[dict[str, str]] = [
            {"reason": "FieldManagerConflict", "message": f"conflict with {e.describe()}", "field": format_path(p)}
            for e, p in found
        ]
        if len(found) == 1:
            entry, path = found[0]
            message = f"Apply failed with 1 conflict: conflict with {entry.describe()}: {format_path(path)}"
        else:
            by_manager: dict[str, list[str]] = {}
            for entry, path in found:
                by_manager.setdefault(entry.describe(), []).append(format_path(path))
            lines: list[str] = []
            for described, paths in by_manager.items():
                lines.append(f"conflicts with {described}:")
                lines.extend(f"- {p}" for p in paths)
            message = f"Apply failed with {len(found)} conflicts: " + "\n".join(lines)
        super().__init__(message)
