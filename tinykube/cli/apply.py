"""Client-side apply: kubectl's three-way strategic merge patch.

`kubectl apply` remembers what it applied last in the annotation
`kubectl.kubernetes.io/last-applied-configuration`. On the next apply it compares
three documents:

- original: the last-applied annotation (what the file said last time),
- modified: the file now (with the new annotation inside it),
- current: the live object (with server defaults and other writers' fields).

The patch is "current → modified, additions and changes only" merged with
"original → modified, deletions only": a field that left the file becomes `null`,
a list element that left the file becomes `{"<mergeKey>": v, "$patch": "delete"}`,
and fields other writers set are left alone. Lists are merged element by element
when the schema says so (`x-kubernetes-patch-strategy: merge` with
`x-kubernetes-patch-merge-key`), with a `$setElementOrder/<field>` list recording
the file's order; structs marked `retainKeys` get a `$retainKeys` list. The merge
metadata comes from the server's OpenAPI v3 document (`PatchSchema`). An empty
patch means `unchanged`; kubectl decides it the same way, so the annotation must
be byte-identical to kubectl's (`last_applied_configuration`): Go's JSON encoding
with sorted keys, `metadata.annotations` present (possibly empty) without the
annotation itself, and a trailing newline.

Kubernetes counterpart: staging/src/k8s.io/apimachinery/pkg/util/strategicpatch/patch.go
(CreateThreeWayMergePatch), staging/src/k8s.io/kubectl/pkg/util/apply.go,
staging/src/k8s.io/kubectl/pkg/cmd/apply/patcher.go
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"
RETAIN_KEYS = "$retainKeys"
SET_ELEMENT_ORDER = "$setElementOrder"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"
PATCH_DIRECTIVE = "$patch"

Obj = dict[str, Any]


# --- schema ---------------------------------------------------------------------------

@dataclass
class PatchSchema:
    """Patch strategies and merge keys, walked from an OpenAPI v3 schema.

    - An unknown field has no metadata (plain replace), as in kube-openapi's
      PatchMetaFromOpenAPIV3; a schema of `None` knows nothing.
    - `$ref` and single-element `allOf` wrappers are followed.
    """

    schemas: dict[str, Obj] = field(default_factory=dict)
    schema: Obj | None = None

    @classmethod
    def for_kind(cls, document: Obj, group: str, version: str, kind: str) -> PatchSchema | None:
        schemas = (document.get("components") or {}).get("schemas") or {}
        for schema in schemas.values():
            for gvk in schema.get("x-kubernetes-group-version-kind") or []:
                if (gvk.get("group", ""), gvk.get("version"), gvk.get("kind")) == (group, version, kind):
                    return cls(schemas, schema)
        return None

    def resolve(self, schema: Obj | None) -> Obj | None:
        for _ in range(10):
            if not schema:
                return schema
            if "$ref" in schema:
                schema = self.schemas.get(schema["$ref"].rsplit("/", 1)[-1])
            elif len(schema.get("allOf") or []) == 1 and "properties" not in schema:
                schema = schema["allOf"][0]
            else:
                return schema
        return schema

    def _property(self, key: str) -> tuple[Obj | None, list[str], str]:
        schema = self.resolve(self.schema)
        if not schema:
            return None, [], ""
        prop = (schema.get("properties") or {}).get(key)
        if prop is None:
            additional = schema.get("additionalProperties")
            return (additional if isinstance(additional, dict) else None), [], ""
        strategy = str(prop.get("x-kubernetes-patch-strategy") or "")
        return prop, [s for s in strategy.split(",") if s], str(prop.get("x-kubernetes-patch-merge-key") or "")

    def lookup_struct(self, key: str) -> tuple[PatchSchema, list[str], str]:
        prop, strategies, merge_key = self._property(key)
        return PatchSchema(self.schemas, self.resolve(prop)), strategies, merge_key

    def lookup_slice(self, key: str) -> tuple[PatchSchema, list[str], str]:
        prop, strategies, merge_key = self._property(key)
        resolved = self.resolve(prop)
        items = resolved.get("items") if resolved else None
        return PatchSchema(self.schemas, self.resolve(items)), strategies, merge_key


def split_strategies(strategies: list[str]) -> tuple[bool, str]:
    """(retainKeys?, the other strategy) — `merge,retainKeys` is both."""
    retain = "retainKeys" in strategies
    others = [s for s in strategies if s != "retainKeys"]
    return retain, others[0] if others else ""


# --- helpers ------------------------------------------------------------------------------

def go_json(value: Any) -> str:
    """Go's encoding/json output: compact, sorted keys, <>& and U+2028/9 escaped."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _same(a: Any, b: Any) -> bool:
    """reflect.DeepEqual on decoded JSON: 1, 1.0 and True are all different."""
    return type(a) is type(b) and go_json(a) == go_json(b)


def _key_string(value: Any) -> str:
    """fmt.Sprintf("%v") of a merge-key value, the sort key kubectl uses."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "<nil>" if value is None else str(value)


@dataclass
class DiffOptions:
    ignore_deletions: bool = False
    ignore_changes_and_additions: bool = False
    set_element_order: bool = True
    build_retain_keys: bool = False


# --- diff -------------------------------------------------------------------------------

def diff_maps(original: Obj, modified: Obj, schema: PatchSchema, options: DiffOptions) -> Obj:
    patch: Obj = {}
    retain_keys: list[str] = []
    for key, modified_value in modified.items():
        if options.build_retain_keys and modified_value is not None:
            retain_keys.append(key)
        if key not in original:
            if not options.ignore_changes_and_additions:
                patch[key] = modified_value
            continue
        original_value = original[key]
        if type(original_value) is not type(modified_value):
            if not options.ignore_changes_and_additions:
                patch[key] = modified_value
            continue
        if isinstance(original_value, dict):
            _diff_map_field(key, original_value, modified_value, patch, schema, options)
        elif isinstance(original_value, list):
            _diff_slice_field(key, original_value, modified_value, patch, schema, options)
        elif not options.ignore_changes_and_additions and not _same(original_value, modified_value):
            patch[key] = modified_value
    if not options.ignore_deletions:
        for key in original:
            if key not in modified:
                patch[key] = None
    additional = any(v is not None and k not in modified for k, v in original.items())
    if retain_keys and (patch or additional):
        patch[RETAIN_KEYS] = sorted(retain_keys)
    return patch


def _diff_map_field(key: str, original: Obj, modified: Obj, patch: Obj, schema: PatchSchema,
                    options: DiffOptions) -> None:
    subschema, strategies, _ = schema.lookup_struct(key)
    retain, strategy = split_strategies(strategies)
    if strategy == "replace":
        if not options.ignore_changes_and_additions:
            patch[key] = modified
        return
    sub_options = DiffOptions(options.ignore_deletions, options.ignore_changes_and_additions,
                              options.set_element_order, retain)
    value = diff_maps(original, modified, subschema, sub_options)
    if value:
        patch[key] = value


def _diff_slice_field(key: str, original: list[Any], modified: list[Any], patch: Obj,
                      schema: PatchSchema, options: DiffOptions) -> None:
    subschema, strategies, merge_key = schema.lookup_slice(key)
    _, strategy = split_strategies(strategies)
    if strategy != "merge":
        if not options.ignore_changes_and_additions and not _same(original, modified):
            patch[key] = modified
        return
    sub_options = DiffOptions(options.ignore_deletions, options.ignore_changes_and_additions,
                              options.set_element_order, False)
    patch_list, delete_list, order = diff_lists(original, modified, subschema, merge_key, sub_options)
    if patch_list:
        patch[key] = patch_list
    if delete_list:
        patch[f"{DELETE_FROM_PRIMITIVE_LIST}/{key}"] = delete_list
    if order:
        patch[f"{SET_ELEMENT_ORDER}/{key}"] = order


def _is_map_list(original: list[Any], modified: list[Any]) -> bool:
    return any(isinstance(v, dict) for v in [*original, *modified])


def diff_lists(original: list[Any], modified: list[Any], schema: PatchSchema, merge_key: str,
               options: DiffOptions) -> tuple[list[Any], list[Any], list[Any]]:
    """(patch list, $deleteFromPrimitiveList list, $setElementOrder list)."""
    if _is_map_list(original, modified):
        patch_list, deletions = _diff_lists_of_maps(original, modified, schema, merge_key, options)
        patch_list = _order_like(patch_list, modified, merge_key)
        order_same = ([_key_string(o.get(merge_key)) for o in original]
                      == [_key_string(m.get(merge_key)) for m in modified])
        patch_list = patch_list + deletions
        order: list[Any] = []
        if options.set_element_order and (
                (not options.ignore_changes_and_additions and (not order_same or patch_list))
                or (not options.ignore_deletions and patch_list)):
            order = [{merge_key: m.get(merge_key)} for m in modified]
        return patch_list, [], order
    additions, deletions = _diff_lists_of_scalars(original, modified, options)
    additions = _order_like(additions, modified, "")
    order = []
    if options.set_element_order and ((not options.ignore_deletions and deletions) or (
            not options.ignore_changes_and_additions and not _same(original, modified))):
        order = list(modified)
    return additions, deletions, order


def _diff_lists_of_maps(original: list[Obj], modified: list[Obj], schema: PatchSchema,
                        merge_key: str, options: DiffOptions) -> tuple[list[Obj], list[Obj]]:
    patch: list[Obj] = []
    deletions: list[Obj] = []
    by_key = {_key_string(o.get(merge_key)): o for o in original}
    modified_keys = {_key_string(m.get(merge_key)) for m in modified}
    for element in sorted(modified, key=lambda m: _key_string(m.get(merge_key))):
        key = _key_string(element.get(merge_key))
        if key in by_key:
            value = diff_maps(by_key[key], element, schema, options)
            if value:
                value[merge_key] = element.get(merge_key)
                patch.append(value)
        elif not options.ignore_changes_and_additions:
            patch.append(element)
    if not options.ignore_deletions:
        for element in sorted(original, key=lambda o: _key_string(o.get(merge_key))):
            if _key_string(element.get(merge_key)) not in modified_keys:
                deletions.append({merge_key: element.get(merge_key), PATCH_DIRECTIVE: "delete"})
    return patch, deletions


def _diff_lists_of_scalars(original: list[Any], modified: list[Any],
                           options: DiffOptions) -> tuple[list[Any], list[Any]]:
    originals = {_key_string(v) for v in original}
    modifieds = {_key_string(v) for v in modified}
    additions = [] if options.ignore_changes_and_additions else [
        v for v in sorted(modified, key=_key_string) if _key_string(v) not in originals]
    deletions: list[Any] = []
    if not options.ignore_deletions:
        for value in sorted(original, key=_key_string):
            if _key_string(value) not in modifieds and value not in deletions:
                deletions.append(value)
    return additions, deletions


def _order_like(items: list[Any], order: list[Any], merge_key: str) -> list[Any]:
    keys = [_key_string(o.get(merge_key) if merge_key else o) for o in order]

    def position(item: Any) -> int:
        key = _key_string(item.get(merge_key) if merge_key and isinstance(item, dict) else item)
        return keys.index(key) if key in keys else len(keys)

    return sorted(items, key=position)


# --- merging the two halves --------------------------------------------------------------

def merge_patches(original: Obj, patch: Obj, schema: PatchSchema) -> Obj:
    """Apply the additive `patch` onto the deletions patch (mergeMap without parallel lists)."""
    result = dict(original)
    for key, value in patch.items():
        if key not in result or value is None:
            result[key] = value
            continue
        current = result[key]
        if type(current) is not type(value) or key.startswith(("$", )):
            result[key] = value if not key.startswith(DELETE_FROM_PRIMITIVE_LIST) else (
                current + [v for v in value if v not in current])
            continue
        if isinstance(value, dict):
            subschema, strategies, _ = schema.lookup_struct(key)
            result[key] = value if split_strategies(strategies)[1] == "replace" else \
                merge_patches(current, value, subschema)
        elif isinstance(value, list):
            subschema, strategies, merge_key = schema.lookup_slice(key)
            if split_strategies(strategies)[1] != "merge":
                result[key] = value
            elif merge_key and _is_map_list(current, value):
                # The additive patch's elements first, in its order (the server checks
                # it against $setElementOrder), then the deletion directives.
                by_key = {_key_string(m.get(merge_key)): m for m in current}
                merged = []
                for element in value:
                    match = by_key.pop(_key_string(element.get(merge_key)), None)
                    merged.append(element if match is None else merge_patches(match, element, subschema))
                result[key] = merged + list(by_key.values())
            else:
                result[key] = value + [v for v in current if v not in value]
        else:
            result[key] = value
    return result


def create_three_way_merge_patch(original: Obj | None, modified: Obj, current: Obj,
                                 schema: PatchSchema) -> Obj:
    """The strategic merge patch that takes `current` to `modified`, deleting what
    `original` had and `modified` dropped. `{}` means nothing to do."""
    delta = diff_maps(current, modified, schema, DiffOptions(ignore_deletions=True))
    deletions = diff_maps(original or {}, modified, schema,
                          DiffOptions(ignore_changes_and_additions=True))
    return merge_patches(deletions, delta, schema)


def create_three_way_json_merge_patch(original: Obj | None, modified: Obj, current: Obj) -> Obj:
    """RFC 7386 three-way patch for kinds without a schema: lists are replaced whole."""
    return merge_patches(
        diff_maps(original or {}, modified, PatchSchema(), DiffOptions(
            ignore_changes_and_additions=True, set_element_order=False)),
        diff_maps(current, modified, PatchSchema(), DiffOptions(
            ignore_deletions=True, set_element_order=False)),
        PatchSchema())


# --- the annotation -------------------------------------------------------------------------

def last_applied_configuration(obj: Obj) -> str:
    """The annotation value kubectl writes for `obj`: the object as Go JSON, with
    `metadata.annotations` minus this annotation (an empty map if none), plus "\\n"."""
    clean = copy.deepcopy(obj)
    metadata = clean.setdefault("metadata", {})
    annotations = dict(metadata.get("annotations") or {})
    annotations.pop(LAST_APPLIED_ANNOTATION, None)
    metadata["annotations"] = annotations
    return go_json(clean) + "\n"


def modified_configuration(obj: Obj) -> Obj:
    """`obj` with its last-applied annotation set: what apply sends or diffs against."""
    annotated = copy.deepcopy(obj)
    metadata = annotated.setdefault("metadata", {})
    annotations = dict(metadata.get("annotations") or {})
    annotations[LAST_APPLIED_ANNOTATION] = last_applied_configuration(obj)
    metadata["annotations"] = annotations
    return annotated


def original_configuration(current: Obj) -> Obj | None:
    """The last-applied document stored on a live object, or None."""
    text = ((current.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED_ANNOTATION)
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
