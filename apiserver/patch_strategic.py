"""Strategic merge patch: JSON merge patch that knows which lists are keyed sets.

kubectl apply (client-side) sends ``application/strategic-merge-patch+json``. Where
JSON merge patch replaces every list whole, a strategic merge patch merges the items
of a list whose field says ``x-kubernetes-patch-strategy: merge`` by its
``x-kubernetes-patch-merge-key`` (containers by ``name``), and understands directives:

- ``{"$patch": "replace" | "delete"}`` in a map; ``{"$patch": "delete", <key>: v}`` and
  ``{"$patch": "replace"}`` as elements of a merged list;
- ``$retainKeys: [..]`` (keep only these keys in the map);
- ``$setElementOrder/<field>: [..]`` (the order of a merged list);
- ``$deleteFromPrimitiveList/<field>: [..]`` (remove values from a merged primitive list).

The schema (``apiserver.schema.FieldSchema``, or any ``PatchSchema``) supplies strategies
and merge keys; where it is None or says nothing, the subtree merges like JSON merge patch.
Invariants: inputs are never mutated; the result holds no ``$`` directive key.

Kubernetes counterpart: staging/src/k8s.io/apimachinery/pkg/util/strategicpatch/patch.go
"""

from __future__ import annotations

from typing import Any

from apiserver.jsoncopy import deep_copy_json
from apiserver.patch import PatchError, PatchSchema, json_equal

DIRECTIVE_MARKER = "$patch"
RETAIN_KEYS_DIRECTIVE = "$retainKeys"
SET_ELEMENT_ORDER_PREFIX = "$setElementOrder/"
DELETE_FROM_PRIMITIVE_LIST_PREFIX = "$deleteFromPrimitiveList/"


def apply_strategic_merge_patch(original: dict, patch: dict, schema: PatchSchema | None) -> dict:
    """Return ``original`` with the strategic merge ``patch`` applied (both JSON objects).

    A top-level ``{"$patch": "delete"}`` yields ``{}``, as upstream does.
    """
    if not isinstance(original, dict) or not isinstance(patch, dict):
        raise PatchError("strategic merge patch: the object and the patch must both be JSON objects")
    merged = _merge_map(deep_copy_json(original), patch, schema)
    return {} if merged is None else merged


# --- maps ------------------------------------------------------------------------------


def _merge_map(original: dict[str, Any], patch: dict[str, Any], schema: PatchSchema | None) -> dict[str, Any] | None:
    """Merge ``patch`` into ``original`` (our own copy, modified in place); None means
    the patch deleted this map (``$patch: delete``)."""
    if DIRECTIVE_MARKER in patch:
        directive = patch[DIRECTIVE_MARKER]
        if directive == "delete":
            return None
        if directive == "replace":
            rest = {k: v for k, v in patch.items() if k != DIRECTIVE_MARKER}
            return _merge_map({}, rest, schema)
        raise PatchError(f"unknown $patch directive {directive!r} in a map (want 'replace' or 'delete')")

    if RETAIN_KEYS_DIRECTIVE in patch:
        _apply_retain_keys(original, patch)

    orders: dict[str, list[Any]] = {}
    deletions: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key.startswith(SET_ELEMENT_ORDER_PREFIX):
            orders[_directive_field(key, SET_ELEMENT_ORDER_PREFIX)] = _require_list(key, value)
        elif key.startswith(DELETE_FROM_PRIMITIVE_LIST_PREFIX):
            deletions[_directive_field(key, DELETE_FROM_PRIMITIVE_LIST_PREFIX)] = _require_list(key, value)
        elif key.startswith("$") and key != RETAIN_KEYS_DIRECTIVE and not _declares_field(schema, key):
            raise PatchError(f"unknown strategic merge patch directive {key!r}")

    # Why remember the live lists: $setElementOrder places items the patch does not
    # mention by their position in the *live* list, not in the merged one.
    live_lists = {field: original.get(field) for field in orders}

    for key, value in patch.items():
        if _is_directive(key, schema):
            continue
        if value is None:
            original.pop(key, None)
            continue
        field_schema = field_schema_of(schema, key)
        merged = _merge_value(original.get(key), value, field_schema)
        if merged is None:
            original.pop(key, None)
        else:
            original[key] = merged

    for field, order in orders.items():
        if isinstance(original.get(field), list):
            merge_key = _merge_key(field_schema_of(schema, field))
            patch_list = patch.get(field)
            if isinstance(patch_list, list):
                _validate_patch_with_set_order_list(patch_list, order, merge_key, field)
            live = live_lists[field]
            original[field] = normalize_element_order(
                original[field], order, live if isinstance(live, list) else [], merge_key
            )

    for field, values in deletions.items():
        current = original.get(field)
        if isinstance(current, list):
            doomed = {_identity(d, None) for d in values}
            original[field] = [v for v in current if _identity(v, None) not in doomed]
    return original


def _apply_retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    """``$retainKeys``: drop every key of ``original`` not listed (e.g. switching a
    Deployment's strategy from RollingUpdate to Recreate drops ``rollingUpdate``)."""
    retain = patch[RETAIN_KEYS_DIRECTIVE]
    if not isinstance(retain, list) or not all(isinstance(k, str) for k in retain):
        raise PatchError("$retainKeys must be a list of field names")
    for key, value in patch.items():
        if value is not None and not key.startswith("$") and key not in retain:
            raise PatchError(f"$retainKeys does not list {key!r}, which the patch sets")
    for key in [k for k in original if k not in retain]:
        del original[key]


def _merge_value(current: Any, patch_value: Any, schema: PatchSchema | None) -> Any:
    """The new value of one field; None means "remove the field"."""
    strategies = _strategies(schema)
    if isinstance(patch_value, dict):
        if isinstance(current, dict) and "replace" not in strategies:
            return _merge_map(current, patch_value, schema)
        return _merge_map({}, patch_value, schema)
    if isinstance(patch_value, list):
        if "merge" in strategies:
            return merge_list(current if isinstance(current, list) else [], patch_value, schema)
        return _clean_list(patch_value, schema)
    return patch_value


def _clean_list(values: list[Any], schema: PatchSchema | None) -> list[Any]:
    """A list replaced whole: copy it, resolving any directives inside its objects."""
    items = schema.items if schema is not None else None
    cleaned = []
    for value in values:
        if isinstance(value, dict):
            if value == {DIRECTIVE_MARKER: "replace"}:
                continue  # "replace this list", which is what happens anyway
            if DIRECTIVE_MARKER in value:
                raise PatchError(f"$patch element {value!r} in a list that is not merged by key")
            value = _merge_map({}, value, items)
        elif isinstance(value, list):
            value = _clean_list(value, items)
        cleaned.append(value)
    return cleaned


# --- lists -----------------------------------------------------------------------------


def merge_list(original: list[Any], patch: list[Any], schema: PatchSchema | None) -> list[Any]:
    """Merge a list with strategy "merge": primitives form a union, objects merge by key.

    The result is ordered as upstream orders it: patch items in patch order, live-only
    items keeping their live positions relative to them (``normalize_element_order``).
    """
    if not original and not patch:
        return []
    if any(isinstance(v, list) for v in original + patch):
        raise PatchError("strategic merge patch does not support lists of lists")
    if not any(isinstance(v, dict) for v in original + patch):
        merged: list[Any] = []
        seen: set[Any] = set()
        for value in original + patch:
            identity = _identity(value, None)
            if identity not in seen:
                seen.add(identity)
                merged.append(value)
        return normalize_element_order(merged, patch, original, None)
    if not all(isinstance(v, dict) for v in original + patch):
        raise PatchError("list element types are not identical")

    merge_key = _merge_key(schema)
    if merge_key is None:
        raise PatchError("cannot merge a list of objects without a merge key")
    items = schema.items if schema is not None else None

    plain: list[dict[str, Any]] = []
    replace = False
    deleted: set[Any] = set()
    for element in patch:
        directive = element.get(DIRECTIVE_MARKER)
        if directive is None:
            plain.append(element)
        elif directive == "delete":
            if merge_key not in element:
                raise PatchError(f"$patch: delete element {element!r} has no merge key {merge_key!r}")
            deleted.add(_identity(element, merge_key))
        elif directive == "replace":
            replace = True  # keep going, so the other $patch elements are dropped too
        else:
            raise PatchError(f"unknown $patch directive {directive!r} in a list element")
    if deleted:
        original = [o for o in original if _identity(o, merge_key) not in deleted]
    if replace:
        # The elements other than the markers *are* the new list.
        original, plain = [_merge_map({}, e, items) or {} for e in plain], []

    merged = list(original)
    # Where each merge key sits in `merged` (the first item with it, as a scan would find).
    positions = _first_positions(merged, merge_key)
    for element in plain:
        if merge_key not in element:
            raise PatchError(f"list element {element!r} has no merge key {merge_key!r}")
        identity = _identity(element, merge_key)
        index = positions.get(identity)
        if index is None:
            positions[identity] = len(merged)
            merged.append(_merge_map({}, element, items) or {})
        else:
            merged[index] = _merge_map(merged[index], element, items) or {}
    return normalize_element_order(merged, plain, original, merge_key)


def normalize_element_order(
    merged: list[Any], order: list[Any], live: list[Any], merge_key: str | None
) -> list[Any]:
    """Order a merged list: items named in ``order`` (the patch list, or a
    ``$setElementOrder`` list) come in that order; the other items are sorted by their
    position in ``live`` and interleaved, each placed before the first ordered item that
    comes after it in ``live``. Items found in neither keep their relative order at the end.
    """
    order_at, live_at = _first_positions(order, merge_key), _first_positions(live, merge_key)

    def index(positions: dict[Any, int], item: Any) -> int:
        identity = _identity(item, merge_key)
        return -1 if identity is None else positions.get(identity, -1)

    in_order = [m for m in merged if index(order_at, m) >= 0]
    rest = [m for m in merged if index(order_at, m) < 0]
    in_order.sort(key=lambda m: index(order_at, m))
    rest.sort(key=lambda m: (index(live_at, m) < 0, index(live_at, m)))

    result: list[Any] = []
    i = j = 0
    while i < len(rest) or j < len(in_order):
        if j >= len(in_order):
            result.append(rest[i])
            i += 1
        elif i >= len(rest):
            result.append(in_order[j])
            j += 1
        else:
            left, right = index(live_at, rest[i]), index(live_at, in_order[j])
            if left >= 0 and right >= 0 and left < right:
                result.append(rest[i])
                i += 1
            else:
                result.append(in_order[j])
                j += 1
    return result


def _validate_patch_with_set_order_list(
    patch_list: list[Any], order: list[Any], merge_key: str | None, field: str
) -> None:
    """Every (non-directive) patch item must appear in $setElementOrder, in the same order."""
    if merge_key is not None and not all(isinstance(o, dict) and merge_key in o for o in order):
        raise PatchError(f"$setElementOrder/{field} items must be objects with the merge key {merge_key!r}")
    position = 0
    for item in patch_list:
        if isinstance(item, dict) and DIRECTIVE_MARKER in item:
            continue
        while position < len(order) and not _same_item(item, order[position], merge_key):
            position += 1
        if position == len(order):
            raise PatchError(f"the order of the patch list {field!r} does not match $setElementOrder/{field}")
        position += 1


# --- helpers ---------------------------------------------------------------------------


def field_schema_of(schema: PatchSchema | None, key: str) -> PatchSchema | None:
    """The schema of ``key`` inside a map or object; None for unknown / "any" subtrees."""
    if schema is None:
        return None
    if schema.type == "object":
        return schema.fields.get(key)
    if schema.type == "map":
        return schema.items
    return None


def _declares_field(schema: PatchSchema | None, key: str) -> bool:
    # A real field may start with "$" (JSONSchemaProps has "$ref" and "$schema").
    return schema is not None and schema.type == "object" and key in schema.fields


def _is_directive(key: str, schema: PatchSchema | None) -> bool:
    return key.startswith("$") and not _declares_field(schema, key)


def _directive_field(key: str, prefix: str) -> str:
    field = key[len(prefix):]
    if not field:
        raise PatchError(f"directive {key!r} names no field")
    return field


def _require_list(key: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise PatchError(f"{key} must be a list")
    return value


def _strategies(schema: PatchSchema | None) -> set[str]:
    if schema is None or not schema.patch_strategy:
        return set()
    return {s.strip() for s in schema.patch_strategy.split(",")}


def _merge_key(schema: PatchSchema | None) -> str | None:
    return schema.patch_merge_key if schema is not None and schema.patch_merge_key else None


def _same_key(item: Any, key_value: Any, merge_key: str) -> bool:
    return isinstance(item, dict) and merge_key in item and json_equal(item[merge_key], key_value)


def _same_item(left: Any, right: Any, merge_key: str | None) -> bool:
    """Identity inside a list: by merge key for objects, by value for primitives."""
    if merge_key is None or not isinstance(left, dict) or not isinstance(right, dict):
        return json_equal(left, right)
    return merge_key in left and _same_key(right, left[merge_key], merge_key)


def _identity(item: Any, merge_key: str | None) -> Any:
    """A hashable stand-in for `_same_item`: equal exactly when the items are the
    same list item (by merge key for objects, by value otherwise); None for an
    object without its merge key, which is never the same as anything. Lookups
    through it keep merging linear in the list's length."""
    if merge_key is not None and isinstance(item, dict):
        return ("key", _hashable(item[merge_key])) if merge_key in item else None
    return ("value", _hashable(item))


def _hashable(value: Any) -> Any:
    """JSON value -> hashable, with json_equal's equality: 1 and 1.0 are equal (as in
    Python), true and 1 are not."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", value)
    if isinstance(value, dict):
        return ("object", frozenset((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("array", tuple(_hashable(v) for v in value))
    return (type(value).__name__, value)


def _first_positions(values: list[Any], merge_key: str | None) -> dict[Any, int]:
    positions: dict[Any, int] = {}
    for i, value in enumerate(values):
        identity = _identity(value, merge_key)
        if identity is not None:
            positions.setdefault(identity, i)
    return positions
