"""Pruning: custom resources keep only the fields their structural schema declares.

Kubernetes drops unknown fields of a custom resource when it decodes a request and
when it reads from storage, unless the schema says
`x-kubernetes-preserve-unknown-fields: true` at that level. At the root (and in
objects marked `x-kubernetes-embedded-resource`) `apiVersion`, `kind` and `metadata`
are always kept. A value whose JSON type differs from the schema's is left alone:
validation reports it.

`prune` edits the object in place and returns the dropped paths
(`spec.foo`, `spec.items[0].bar`), which the API server turns into
`unknown field "spec.foo"` for `fieldValidation=Strict`/`Warn`.

Kubernetes counterpart: staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning/algorithm.go
"""

from __future__ import annotations

from typing import Any

_RESOURCE_FIELDS = ("apiVersion", "kind", "metadata")


def prune(obj: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Drop from `obj` (a whole custom resource) the fields `schema` does not declare."""
    pruned: list[str] = []
    _prune(obj, schema, "", pruned, resource_root=True)
    return pruned


def prune_value(value: Any, schema: dict[str, Any], *, resource_root: bool = False) -> list[str]:
    """Prune any value of `schema` in place (a default, a list item...); paths are relative."""
    pruned: list[str] = []
    _prune(value, schema, "", pruned, resource_root=resource_root)
    return pruned


def _prune(value: Any, schema: Any, path: str, pruned: list[str], *, resource_root: bool) -> None:
    if not isinstance(schema, dict):
        return
    if isinstance(value, list):
        items = schema.get("items")
        for index, item in enumerate(value):
            _prune(item, items, f"{path}[{index}]", pruned,
                   resource_root=_embedded(items))
        return
    if not isinstance(value, dict):
        return
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    additional = schema.get("additionalProperties")
    preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
    for key in list(value):
        child_path = f"{path}.{key}" if path else key
        if resource_root and key in _RESOURCE_FIELDS and key not in properties:
            continue
        if key in properties:
            sub = properties[key]
            _prune(value[key], sub, child_path, pruned, resource_root=_embedded(sub))
        elif isinstance(additional, dict):
            _prune(value[key], additional, child_path, pruned,
                   resource_root=_embedded(additional))
        elif additional is True or preserve:
            continue
        else:
            del value[key]
            pruned.append(child_path)


def _embedded(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("x-kubernetes-embedded-resource") is True
