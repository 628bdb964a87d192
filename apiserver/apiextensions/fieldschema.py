"""A custom resource's openAPIV3Schema as the field tree the generic machinery reads.

Unknown-field detection and pruning (`fieldvalidation`) and server-side apply
(`fieldmanager`) walk a tree of nodes with `type`, `fields`, `items` and the list
tags; for built-in kinds that tree comes from the Python client's models
(`apiserver.schema`). For a custom resource it comes from the CRD: this module turns
one version's structural schema into the same shape.

- `x-kubernetes-preserve-unknown-fields` and `x-kubernetes-embedded-resource` make a
  node free-form ("any"): nothing under it is pruned and apply treats it as a leaf;
- an object with `properties` is an "object"; one with `additionalProperties` a
  "map"; an object with neither keeps nothing (upstream prunes it empty);
- `x-kubernetes-list-type`/`x-kubernetes-list-map-keys` become the list tags apply
  merges by.

Kubernetes counterpart: staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema
(structural.go, pruning), k8s.io/apimachinery/pkg/util/managedfields (typed schemas)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

_SCALARS = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}


@dataclass(frozen=True, eq=False)
class CustomFieldSchema:
    """One node; the attributes FieldSchema has that the walkers read."""

    type: str
    items: CustomFieldSchema | None = None
    field_map: Mapping[str, CustomFieldSchema] = field(default_factory=dict)
    list_type: str | None = None
    list_map_keys: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    description: str = ""
    default: Any = None
    model: str | None = None  # never a client model: omitempty leaves custom data alone
    patch_strategy: str | None = None
    patch_merge_key: str | None = None
    format: str | None = None

    @property
    def fields(self) -> Mapping[str, CustomFieldSchema]:
        return self.field_map


def field_schema(schema: dict[str, Any] | None) -> CustomFieldSchema:
    """The tree for a whole custom resource (None: no schema, everything is kept)."""
    if schema is None:
        return CustomFieldSchema("any")
    root = convert(schema)
    if root.type != "object":
        return root
    fields = {k: v for k, v in root.field_map.items() if k not in ("metadata", "apiVersion", "kind")}
    return CustomFieldSchema("object", field_map=MappingProxyType(fields),
                             required=root.required, description=root.description)


def convert(node: dict[str, Any]) -> CustomFieldSchema:
    description = str(node.get("description") or "")
    if node.get("x-kubernetes-int-or-string"):
        return CustomFieldSchema("int-or-string", description=description,
                                 default=node.get("default"))
    if node.get("x-kubernetes-preserve-unknown-fields") or \
            node.get("x-kubernetes-embedded-resource"):
        return CustomFieldSchema("any", description=description, default=node.get("default"))
    schema_type = node.get("type")
    if schema_type == "array":
        items = node.get("items")
        return CustomFieldSchema(
            "array", items=convert(items) if isinstance(items, dict) else CustomFieldSchema("any"),
            list_type=node.get("x-kubernetes-list-type"),
            list_map_keys=tuple(node.get("x-kubernetes-list-map-keys") or ()),
            description=description, default=node.get("default"))
    if schema_type == "object":
        additional = node.get("additionalProperties")
        if isinstance(additional, dict) and not node.get("properties"):
            return CustomFieldSchema("map", items=convert(additional), description=description,
                                     default=node.get("default"))
        if additional is True and not node.get("properties"):
            return CustomFieldSchema("map", items=CustomFieldSchema("any"),
                                     description=description, default=node.get("default"))
        properties = node.get("properties") or {}
        return CustomFieldSchema(
            "object", field_map=MappingProxyType(
                {name: convert(child) for name, child in properties.items()
                 if isinstance(child, dict)}),
            required=tuple(node.get("required") or ()), description=description,
            default=node.get("default"))
    return CustomFieldSchema(_SCALARS.get(str(schema_type), "any"), description=description,
                             default=node.get("default"), format=node.get("format"))
