"""The three patch algorithms behind PATCH requests, as pure functions on JSON values.

The PATCH handler picks one by Content-Type:

- ``application/merge-patch+json`` -> :func:`json_merge_patch` (RFC 7386);
- ``application/json-patch+json`` -> :func:`json_patch` (RFC 6902);
- ``application/strategic-merge-patch+json`` -> :func:`strategic_merge_patch`, which
  needs the field schema (merge keys, patch strategies) and lives in ``patch_strategic``.

Invariants: the inputs are never mutated and the result shares no containers with them;
every malformed patch raises :class:`PatchError`, whose message is shown to the user.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Protocol

from apiserver.jsoncopy import deep_copy_json


class PatchError(Exception):
    """A patch that cannot be applied; the message is shown to the user (400/422 Status)."""


class PatchSchema(Protocol):
    """What strategic merge patch needs to know about one field (see ``apiserver.schema``).

    - ``type``: "object" | "array" | "map" | "string" | "integer" | ... | "any".
    - ``items``: element schema of an array, value schema of a map.
    - ``patch_strategy``: None, "merge", "replace", "retainKeys" or "merge,retainKeys"
      (``x-kubernetes-patch-strategy``).
    - ``patch_merge_key``: e.g. "name" (``x-kubernetes-patch-merge-key``).
    - ``fields``: camelCase JSON field name -> schema, for "object" only.
    """

    type: str
    items: PatchSchema | None
    patch_strategy: str | None
    patch_merge_key: str | None

    @property
    def fields(self) -> Mapping[str, PatchSchema]: ...


# --- RFC 7386 JSON merge patch ---------------------------------------------------------


def json_merge_patch(original: Any, patch: Any) -> Any:
    """Apply an RFC 7386 merge patch: objects merge recursively, ``null`` deletes a key,
    anything else (arrays included) replaces the target value whole."""
    return _merge_patch_into(deep_copy_json(original), patch)


def _merge_patch_into(target: Any, patch: Any) -> Any:
    # `target` is already our own copy, so it may be modified in place.
    if not isinstance(patch, dict):
        return deep_copy_json(patch)
    result = target if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch_into(result.get(key), value)
    return result


# --- RFC 6902 JSON patch ---------------------------------------------------------------

_BAD_ESCAPE = re.compile(r"~(?![01])")


# Kubernetes' JSONPatchMaxCopyBytes: what all "copy" operations of one patch may add, in
# bytes of JSON. Every other operation adds at most what the (bounded) body carries, but a
# copy of the document into itself doubles it, so copies alone could grow it without bound.
JSON_PATCH_MAX_COPY_BYTES = 3 * 1024 * 1024


def json_patch(original: Any, operations: Any, *,
               max_copy_bytes: int = JSON_PATCH_MAX_COPY_BYTES) -> Any:
    """Apply an RFC 6902 JSON patch: a list of add/remove/replace/move/copy/test operations,
    applied in order to a copy of ``original``. The whole patch fails if any operation fails,
    or once its copies together add more than ``max_copy_bytes``."""
    if not isinstance(operations, list):
        raise PatchError("json patch must be a JSON array of operations")
    document = deep_copy_json(original)
    copied_bytes = 0
    for number, operation in enumerate(operations):
        if not isinstance(operation, dict):
            raise PatchError(f"json patch operation {number} is not an object")
        if operation.get("op") == "copy" and isinstance(operation.get("from"), str):
            try:
                source = _get(document, _parse_pointer(operation["from"]))
            except PatchError:
                source = None  # reported by the operation itself below
            copied_bytes += len(json.dumps(source, separators=(",", ":")))
            if copied_bytes > max_copy_bytes:
                raise PatchError(f"Unable to complete the copy, the accumulated size increase of "
                                 f"copy is {copied_bytes}, exceeding the limit {max_copy_bytes}")
        try:
            document = _apply_operation(document, operation)
        except PatchError as err:
            raise PatchError(f"json patch operation {number} ({operation.get('op')}): {err}") from None
    return document


def _apply_operation(document: Any, operation: dict[str, Any]) -> Any:
    op = operation.get("op")
    path = _parse_pointer(_required(operation, "path"))
    if op == "add":
        return _add(document, path, deep_copy_json(_required(operation, "value")))
    if op == "remove":
        document, _ = _remove(document, path)
        return document
    if op == "replace":
        value = deep_copy_json(_required(operation, "value"))
        if not path:
            return value
        document, _ = _remove(document, path)
        return _add(document, path, value)
    if op == "move":
        source = _parse_pointer(_required(operation, "from"))
        if source == path:
            _get(document, source)  # must still exist
            return document
        if path[: len(source)] == source:
            raise PatchError("cannot move a value into one of its own children")
        document, value = _remove(document, source)
        return _add(document, path, value)
    if op == "copy":
        value = deep_copy_json(_get(document, _parse_pointer(_required(operation, "from"))))
        return _add(document, path, value)
    if op == "test":
        expected = _required(operation, "value")
        if not json_equal(_get(document, path), expected):
            raise PatchError(f"test failed: value at {operation['path']!r} is not {expected!r}")
        return document
    raise PatchError(f"unknown operation {op!r}")


def _required(operation: dict[str, Any], member: str) -> Any:
    if member not in operation:
        raise PatchError(f"missing member {member!r}")
    return operation[member]


def _parse_pointer(pointer: Any) -> list[str]:
    """Split an RFC 6901 JSON pointer into unescaped reference tokens ("" is the root)."""
    if not isinstance(pointer, str):
        raise PatchError(f"path {pointer!r} is not a string")
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f"path {pointer!r} does not start with '/'")
    tokens = []
    for raw in pointer[1:].split("/"):
        if _BAD_ESCAPE.search(raw):
            raise PatchError(f"path {pointer!r} has an invalid '~' escape")
        # Order matters: "~01" means "~1" literally, not "/".
        tokens.append(raw.replace("~1", "/").replace("~0", "~"))
    return tokens


def _array_index(token: str, array: list[Any], *, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(array)
    if not token.isdigit() or (len(token) > 1 and token[0] == "0") or not token.isascii():
        raise PatchError(f"{token!r} is not a valid array index")
    index = int(token)
    if index > len(array) or (index == len(array) and not allow_end):
        raise PatchError(f"array index {index} is out of range")
    return index


def _get(document: Any, path: list[str]) -> Any:
    current = document
    for token in path:
        if isinstance(current, dict):
            if token not in current:
                raise PatchError(f"path member {token!r} does not exist")
            current = current[token]
        elif isinstance(current, list):
            current = current[_array_index(token, current, allow_end=False)]
        else:
            raise PatchError(f"cannot descend into {token!r} of a scalar value")
    return current


def _add(document: Any, path: list[str], value: Any) -> Any:
    if not path:
        return value
    parent, token = _get(document, path[:-1]), path[-1]
    if isinstance(parent, dict):
        parent[token] = value
    elif isinstance(parent, list):
        parent.insert(_array_index(token, parent, allow_end=True), value)
    else:
        raise PatchError(f"cannot add {token!r} to a scalar value")
    return document


def _remove(document: Any, path: list[str]) -> tuple[Any, Any]:
    """Remove the value at ``path``; returns (new document, removed value)."""
    if not path:
        raise PatchError("cannot remove the whole document")
    parent, token = _get(document, path[:-1]), path[-1]
    if isinstance(parent, dict):
        if token not in parent:
            raise PatchError(f"path member {token!r} does not exist")
        return document, parent.pop(token)
    if isinstance(parent, list):
        return document, parent.pop(_array_index(token, parent, allow_end=False))
    raise PatchError(f"cannot remove {token!r} from a scalar value")


def json_equal(left: Any, right: Any) -> bool:
    """JSON value equality: 1 == 1.0, but true != 1 and "10" != 10 (unlike Python's ==)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(json_equal(a, b) for a, b in zip(left, right))
    numbers = (int, float)
    if isinstance(left, numbers) and isinstance(right, numbers):
        return left == right
    return type(left) is type(right) and left == right


# --- strategic merge patch -------------------------------------------------------------


def strategic_merge_patch(original: dict, patch: dict, schema: PatchSchema | None) -> dict:
    """Apply a Kubernetes strategic merge patch; see ``apiserver.patch_strategic``."""
    # Imported here, not at the top, because patch_strategic imports PatchError and
    # PatchSchema from this module.
    from apiserver.patch_strategic import apply_strategic_merge_patch

    return apply_strategic_merge_patch(original, patch, schema)
