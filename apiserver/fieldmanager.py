"""Server-side apply and managedFields tracking for the API server.

Every write records which manager set which fields (``metadata.managedFields``):
``update_managed_fields`` for create/update/patch (operation "Update"), ``apply_patch`` for
``application/apply-patch+yaml`` (operation "Apply"). An apply merges a partial config into
the live object, refuses to overwrite a field another manager owns with a different value
(``ApplyConflict``, unless forced), and removes the fields its manager stopped applying that
nobody else owns. A schema (``ApplySchema``) tells structs from maps, and atomic lists from
associative lists (merged by key) and sets. Inputs are never mutated. The set algebra
follows sigs.k8s.io/structured-merge-diff/v4/merge/update.go.

Kubernetes counterpart: staging/src/k8s.io/apimachinery/pkg/util/managedfields/internal/structuredmerge.go
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

from apiserver.fieldpath import (
    OPERATION_APPLY,
    OPERATION_UPDATE,
    ApplyConflict,
    ManagedEntry,
    ManagerIdentity,
    Path,
    decode_managed_fields,
    element_sort_key,
    encode_managed_fields,
    field_element,
    key_element,
    remove_prefixed,
    value_element,
)
from apiserver.jsoncopy import deep_copy_json

__all__ = ["ApplyConflict", "ApplySchema", "InvalidApply", "apply_patch", "update_managed_fields"]


class ApplySchema(Protocol):
    """What the field manager needs from a schema node (apiserver.schema.FieldSchema has it)."""

    type: str  # "object" | "array" | "map" | scalar types | "any"
    items: ApplySchema | None  # element schema of an array, value schema of a map
    patch_merge_key: str | None
    list_type: str | None  # "atomic" | "set" | "map"
    list_map_keys: tuple[str, ...]

    @property
    def fields(self) -> Mapping[str, ApplySchema]: ...


class InvalidApply(ValueError):
    """The applied configuration is malformed (answer 400 BadRequest)."""


@dataclass(frozen=True, eq=False)
class _Builtin:
    """A schema node defined here: ObjectMeta, and the deduced schema for untyped data."""

    type: str
    items: ApplySchema | None = None
    patch_merge_key: str | None = None
    list_type: str | None = None
    list_map_keys: tuple[str, ...] = ()
    field_map: Mapping[str, ApplySchema] = field(default_factory=dict)

    @property
    def fields(self) -> Mapping[str, ApplySchema]:
        return self.field_map


_STRING = _Builtin("string")
# Untyped data (an object schema without fields): dicts are tracked key by key, lists atomic.
_DEDUCED = _Builtin("map")
_BOOLEAN = _Builtin("boolean")
_OWNER_REFERENCE = _Builtin("object", field_map={
    "apiVersion": _STRING, "kind": _STRING, "name": _STRING, "uid": _STRING,
    "controller": _BOOLEAN, "blockOwnerDeletion": _BOOLEAN})
_OBJECT_META = _Builtin("object", field_map={
    "name": _STRING, "generateName": _STRING, "namespace": _STRING,
    "labels": _Builtin("map", items=_STRING),
    "annotations": _Builtin("map", items=_STRING),
    "finalizers": _Builtin("array", items=_STRING, list_type="set"),
    "ownerReferences": _Builtin("array", items=_OWNER_REFERENCE, patch_merge_key="uid",
                                list_type="map", list_map_keys=("uid",)),
})
# Key fields that Kubernetes defaults when omitted (upstream reads them from schema defaults).
_KEY_DEFAULTS: dict[str, Any] = {"protocol": "TCP"}

# Never tracked: written by the system, or identity rather than content.
_UNTRACKED_TOP = ("apiVersion", "kind")
_METADATA: Path = ("f:metadata",)
_UNTRACKED_META = ("name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                   "managedFields", "selfLink", "deletionTimestamp")


def _root_schema(schema: ApplySchema) -> ApplySchema:
    """The object's schema, with a usable ObjectMeta even if the given one lacks it."""
    fields: dict[str, ApplySchema] = dict(schema.fields) if schema.type == "object" else {}
    if not fields:
        fields = {"spec": _DEDUCED, "status": _DEDUCED, "data": _DEDUCED}
    meta = fields.get("metadata")
    if meta is None or meta.type != "object" or "labels" not in meta.fields:
        fields["metadata"] = _OBJECT_META
    return _Builtin("object", field_map=fields)


def _kind(schema: ApplySchema | None, value: Any) -> str:
    """How a value is tracked: "leaf", "struct", "map", "assoc" or "set". None = missing."""
    if schema is None:
        return "leaf"
    if schema.type in ("object", "map"):
        if value is not None and not isinstance(value, dict):
            return "leaf"
        return "struct" if schema.type == "object" and schema.fields else "map"
    if schema.type == "array":
        if value is not None and not isinstance(value, list):
            return "leaf"
        if schema.list_type == "map" or schema.patch_merge_key:
            return "assoc"
        return "set" if schema.list_type == "set" else "leaf"
    return "leaf"


def _child_schema(schema: ApplySchema | None, kind: str, name: str = "") -> ApplySchema | None:
    if schema is None:
        return None
    if kind == "struct":
        return schema.fields.get(name)
    return schema.items if schema.items is not None else _DEDUCED


def _item_element(schema: ApplySchema | None, kind: str, item: Any) -> str | None:
    if schema is None:
        return None
    if kind == "set":
        return None if isinstance(item, (dict, list)) else value_element(item)
    if not isinstance(item, dict):
        return None
    names = tuple(schema.list_map_keys) or ((schema.patch_merge_key,) if schema.patch_merge_key else ())
    item_schema = _child_schema(schema, kind)
    key: dict[str, Any] = {}
    for name in names:
        value = item.get(name)
        if value is None and item_schema is not None:
            value = getattr(item_schema.fields.get(name), "default", None)
        if value is None:
            value = _KEY_DEFAULTS.get(name)
        if value is not None:
            key[name] = value
    return key_element(key) if key else None


def _index_items(schema: ApplySchema | None, kind: str, items: list[Any]) -> list[tuple[str, Any]] | None:
    """(element, item) pairs; None if an item has no key or keys repeat (then: atomic)."""
    out: list[tuple[str, Any]] = []
    for item in items:
        element = _item_element(schema, kind, item)
        if element is None:
            return None
        out.append((element, item))
    return out if len({e for e, _ in out}) == len(out) else None


def _equal(a: Any, b: Any) -> bool:
    """Deep equality that, like JSON, tells true from 1."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    return bool(a == b)


def _tracked(obj: Mapping[str, Any], subresource: str) -> dict[str, Any]:
    """The part of an object whose fields have owners (status only for the status subresource)."""
    if subresource == "status":
        return {"status": obj["status"]} if "status" in obj else {}
    out = {k: v for k, v in obj.items() if k not in _UNTRACKED_TOP and k != "status"}
    meta = out.get("metadata")
    if isinstance(meta, dict):
        meta = {k: v for k, v in meta.items() if k not in _UNTRACKED_META}
        if meta:
            out["metadata"] = meta
        else:
            del out["metadata"]
    return out


def _field_set(value: Any, schema: ApplySchema | None, path: Path, out: set[Path]) -> None:
    """The paths an applied config specifies (upstream's TypedValue.ToFieldSet)."""
    kind = _kind(schema, value)
    if kind in ("assoc", "set") and (not value or _index_items(schema, kind, value) is None):
        kind = "leaf"
    if kind in ("struct", "map") and not value:
        kind = "leaf"
    if kind == "leaf":
        if path:
            out.add(path)
    elif kind in ("struct", "map"):
        for name, child in value.items():
            child_path = path + (field_element(name),)
            if kind == "map":  # map entries are owned themselves; struct fields only via leaves
                out.add(child_path)
            _field_set(child, _child_schema(schema, kind, name), child_path, out)
    else:
        item_schema = _child_schema(schema, kind)
        for element, item in _index_items(schema, kind, value) or []:
            out.add(path + (element,))
            if kind == "assoc":
                _field_set(item, item_schema, path + (element,), out)


@dataclass
class _Diff:
    added: set[Path] = field(default_factory=set)
    modified: set[Path] = field(default_factory=set)
    removed: set[Path] = field(default_factory=set)  # a removed path takes its whole subtree


def _compare(old: Any, new: Any, schema: ApplySchema | None, path: Path, diff: _Diff, *,
             old_present: bool = True, new_present: bool = True) -> None:
    kind = _kind(schema, new if new_present else old)
    if old_present and new_present and _kind(schema, old) != kind:
        diff.removed.add(path)  # the value changed shape: nothing below it survives
        kind = "leaf"
    old_items = new_items = None
    if kind in ("assoc", "set"):
        old_items = _index_items(schema, kind, old) if isinstance(old, list) else []
        new_items = _index_items(schema, kind, new) if isinstance(new, list) else []
        if old_items is None or new_items is None:
            kind = "leaf"
    if kind != "leaf" and not (old_present and old) and not (new_present and new):
        kind = "leaf"  # empty or null on both sides: keep the empty/null distinction as a leaf
    if kind == "leaf":
        if not old_present:
            diff.added.add(path)
        elif not new_present:
            diff.removed.add(path)
        elif not _equal(old, new):
            diff.modified.add(path)
        return
    if not new_present:
        diff.removed.add(path)
        return
    if not old_present and kind == "map":
        diff.added.add(path)
    if kind in ("struct", "map"):
        old_map: dict[str, Any] = old if old_present and isinstance(old, dict) else {}
        for name in list(old_map) + [k for k in new if k not in old_map]:
            _compare(old_map.get(name), new.get(name), _child_schema(schema, kind, name),
                     path + (field_element(name),), diff, old_present=name in old_map, new_present=name in new)
        return
    before, after = dict(old_items or []), dict(new_items or [])
    item_schema = _child_schema(schema, kind)
    for element in list(before) + [e for e in after if e not in before]:
        item_path = path + (element,)
        if element not in after:
            diff.removed.add(item_path)
        elif element not in before:
            diff.added.add(item_path)
        if kind == "assoc" and element in after:
            _compare(before.get(element), after[element], item_schema, item_path, diff,
                     old_present=element in before)


def _diff(old: dict[str, Any], new: dict[str, Any], root: ApplySchema) -> _Diff:
    diff = _Diff()
    for name in list(old) + [k for k in new if k not in old]:
        _compare(old.get(name), new.get(name), _child_schema(root, "struct", name), (field_element(name),), diff,
                 old_present=name in old, new_present=name in new)
    return diff


def _merge_into(target: dict[str, Any], applied: Mapping[str, Any], schema: ApplySchema | None, kind: str) -> None:
    """Merge an applied dict into ``target`` (a private copy) in place; null deletes."""
    for name, value in applied.items():
        if value is None:
            target.pop(name, None)
        else:
            target[name] = _merged(target.get(name), value, _child_schema(schema, kind, name))


def _merged(live: Any, applied: Any, schema: ApplySchema | None) -> Any:
    kind = _kind(schema, applied)
    if kind in ("struct", "map"):
        base = live if isinstance(live, dict) else {}
        _merge_into(base, applied, schema, kind)
        return base
    if kind in ("assoc", "set") and isinstance(live, list):
        live_items = _index_items(schema, kind, live)
        applied_items = _index_items(schema, kind, applied)
        if live_items is not None and applied_items is not None:
            return _merge_list(live_items, applied_items, schema, kind)
    return deep_copy_json(applied)


def _merge_list(live: list[tuple[str, Any]], applied: list[tuple[str, Any]], schema: ApplySchema | None,
                kind: str) -> list[Any]:
    """Merge keyed items: applied order wins; live-only items keep their place, applied items
    new to the list go just before the next item both sides share (upstream's order rule)."""
    live_by_key = dict(live)
    position = {element: i for i, (element, _) in enumerate(applied)}
    item_schema = _child_schema(schema, kind)
    out: list[Any] = []
    next_applied = 0

    def emit_applied(upto: int) -> None:
        nonlocal next_applied
        while next_applied <= upto:
            element, item = applied[next_applied]
            next_applied += 1
            if kind == "set" or element not in live_by_key:
                out.append(deep_copy_json(item))
            else:
                out.append(_merged(live_by_key[element], item, item_schema))

    for element, item in live:
        if element not in position:
            out.append(item)
        elif position[element] >= next_applied:
            emit_applied(position[element])
    emit_applied(len(applied) - 1)
    return out


def _ensure_named(paths: set[Path], root: ApplySchema) -> set[Path]:
    """``paths`` plus every struct field above them (upstream's EnsureNamedFieldsAreMembers):
    owning .spec.replicas counts as owning .spec, but owning a label does not own .labels."""
    out = set(paths)
    for path in paths:
        schema: ApplySchema | None = root
        for i, element in enumerate(path[:-1]):
            kind = _kind(schema, None)
            if element.startswith("f:"):
                if kind == "struct":
                    out.add(path[: i + 1])
                schema = _child_schema(schema, kind, element[2:])
            else:
                schema = _child_schema(schema, kind)
    return out


def _remove_path(obj: dict[str, Any], path: Path, root: ApplySchema, keep: set[Path]) -> None:
    """Delete the value at ``path``; then drop containers it left empty unless owned."""
    chain: list[tuple[Any, Any]] = []  # (container, key or index) from the root down
    node: Any = obj
    schema: ApplySchema | None = root
    for element in path:
        kind = _kind(schema, node)
        if element.startswith("f:") and isinstance(node, dict) and element[2:] in node:
            chain.append((node, element[2:]))
            schema = _child_schema(schema, kind, element[2:])
            node = node[element[2:]]
        elif kind in ("assoc", "set") and isinstance(node, list):
            index = next((i for i, item in enumerate(node) if _item_element(schema, kind, item) == element), None)
            if index is None:
                return
            chain.append((node, index))
            schema = _child_schema(schema, kind)
            node = node[index]
        else:
            return
    for depth in range(len(chain) - 1, -1, -1):
        container, key = chain[depth]
        if depth < len(chain) - 1 and (container[key] or path[: depth + 1] in keep):
            break
        del container[key]


def _set_managed_fields(obj: dict[str, Any], entries: dict[ManagerIdentity, ManagedEntry]) -> None:
    meta = obj.setdefault("metadata", {})
    encoded = encode_managed_fields(entries)
    if encoded:
        meta["managedFields"] = encoded
    else:
        meta.pop("managedFields", None)


def _decode_or_empty(obj: Mapping[str, Any] | None) -> dict[ManagerIdentity, ManagedEntry]:
    try:
        return decode_managed_fields(((obj or {}).get("metadata") or {}).get("managedFields"))
    except ValueError:
        return {}  # unreadable history is reset, as upstream does


def _base_entries(old: Mapping[str, Any] | None, new: Mapping[str, Any],
                  subresource: str) -> dict[ManagerIdentity, ManagedEntry]:
    """Whose ownership an update starts from: the client's managedFields if it sent some
    (``[]`` resets them), else the stored ones. Subresources can never rewrite them."""
    if not subresource:
        sent = (new.get("metadata") or {}).get("managedFields")
        if isinstance(sent, list) and (sent == [] or sent == [{}]):
            return {}
        if sent:
            try:
                entries = decode_managed_fields(sent)
                if entries:
                    return entries
            except ValueError:
                pass
    return _decode_or_empty(old)


def _created_fields_v1(tracked: dict[str, Any], root: ApplySchema) -> dict[str, Any]:
    """`paths_to_fields_v1(_diff({}, tracked, root).added)` built in one walk: what a
    create owns. Every path is added, so each value is a member except structs and
    lists of items (their fields and items are), exactly as `_compare` decides."""

    def node(value: Any, schema: ApplySchema | None) -> tuple[dict[str, Any], bool]:
        kind = _kind(schema, value)
        items = None
        if kind in ("assoc", "set"):
            items = _index_items(schema, kind, value) if isinstance(value, list) else []
            if items is None:
                kind = "leaf"
        if kind == "leaf" or not value:
            return {}, True
        children: dict[str, tuple[dict[str, Any], bool]] = {}
        if kind in ("struct", "map"):
            for name, child in value.items():
                children[field_element(name)] = node(child, _child_schema(schema, kind, name))
        else:
            item_schema = _child_schema(schema, kind)
            for element, item in items or []:
                children[element] = (node(item, item_schema)[0] if kind == "assoc" else {}, True)
        return emit(children), kind == "map"

    def emit(children: dict[str, tuple[dict[str, Any], bool]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for element in sorted(children, key=element_sort_key):
            child, member = children[element]
            out[element] = {".": {}, **child} if member and child else child
        return out

    return emit({field_element(name): node(value, _child_schema(root, "struct", name))
                 for name, value in tracked.items()})


def update_managed_fields(old: dict[str, Any] | None, new: dict[str, Any], *, manager: str, api_version: str,
                          schema: ApplySchema, now: str, subresource: str = "") -> dict[str, Any]:
    """Return a copy of ``new`` whose managedFields credit ``manager`` (operation Update) with
    every field this create/update/patch set or changed, taking them from other managers."""
    root = _root_schema(schema)
    result = deep_copy_json(new)
    entries = _base_entries(old, new, subresource)
    if old is None and not entries:  # a plain create: the manager owns everything, alone
        tracked = _tracked(new, subresource)
        if tracked:
            result.setdefault("metadata", {})["managedFields"] = [{
                "manager": manager, "operation": OPERATION_UPDATE, "apiVersion": api_version,
                "time": now, "fieldsType": "FieldsV1", "fieldsV1": _created_fields_v1(tracked, root),
                **({"subresource": subresource} if subresource else {})}]
        else:
            result.setdefault("metadata", {}).pop("managedFields", None)
        return result
    diff = _diff(_tracked(old or {}, subresource), _tracked(new, subresource), root)
    changed = diff.added | diff.modified
    for entry in entries.values():
        entry.paths = remove_prefixed(entry.paths, diff.removed) - changed
    if changed:
        identity: ManagerIdentity = (manager, OPERATION_UPDATE, subresource, api_version)
        entry = entries.get(identity) or ManagedEntry(manager, OPERATION_UPDATE, api_version, subresource)
        entry.paths |= changed
        entry.time = now
        entries[identity] = entry
    _set_managed_fields(result, entries)
    return result


def apply_patch(live: dict[str, Any] | None, applied: dict[str, Any], *, manager: str, api_version: str,
                schema: ApplySchema, force: bool, now: str) -> dict[str, Any]:
    """Server-side apply: merge ``applied`` into ``live`` (None = create) and return the new
    object. The applied fields become exactly ``manager``'s Apply entry. Raises ApplyConflict
    (unless ``force``) and InvalidApply."""
    if not isinstance(applied, dict):
        raise InvalidApply("applied configuration must be an object")
    applied_meta = applied.get("metadata")
    if applied_meta is not None and not isinstance(applied_meta, dict):
        raise InvalidApply("metadata must be an object")
    if (applied_meta or {}).get("managedFields") is not None:
        raise InvalidApply("metadata.managedFields must be nil")
    root = _root_schema(schema)
    before = live if live is not None else {}
    entries = _decode_or_empty(before)
    identity: ManagerIdentity = (manager, OPERATION_APPLY, "", "")
    previous = entries.pop(identity, None)
    applied_set: set[Path] = set()
    _field_set(_tracked(applied, ""), root, (), applied_set)

    merged = deep_copy_json(dict(before))
    _merge_into(merged, applied, root, "struct")
    # Prune: what this manager applied last time, no longer applies, and nobody else owns.
    owned = set(applied_set).union(*(e.paths for e in entries.values()))
    # metadata also holds untracked fields (name, uid...): it is never removed as a whole.
    owned_named = _ensure_named(owned, root) | {_METADATA}
    stale = _ensure_named(previous.paths, root) - owned_named if previous else set()
    for path in sorted(stale, key=len):
        _remove_path(merged, path, root, owned_named)

    diff = _diff(_tracked(before, ""), _tracked(merged, ""), root)
    changed = diff.added | diff.modified
    # A null in the config deletes the field: that too overrides another manager's value.
    contested = changed | (diff.removed & applied_set)
    conflicts = [(entry, path) for entry in entries.values() for path in entry.paths & contested]
    if conflicts and not force:
        raise ApplyConflict(conflicts)
    for entry in entries.values():
        entry.paths = remove_prefixed(entry.paths, diff.removed) - changed

    unchanged = previous is not None and previous.paths == applied_set and not changed and not diff.removed
    entries[identity] = ManagedEntry(manager, OPERATION_APPLY, api_version, "",
                                     previous.time if unchanged and previous else now, applied_set)
    _set_managed_fields(merged, entries)
    return merged
