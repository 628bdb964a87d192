"""Structural schemas for CustomResourceDefinitions: the public face of the library.

A CRD version carries an `openAPIV3Schema` (a JSON dict, camelCase as on the wire).
The API server uses it at two moments:

- when the CRD is written: `check_schema` refuses schemas that are not structural
  (every node typed, no `$ref`, metadata restricted, valid list types, defaults that
  validate, CEL rules that compile), with Kubernetes' field paths and messages;
- when a custom resource is written or read: `prune` drops unknown fields,
  `apply_defaults` fills defaults, `validate` checks the result (OpenAPI keywords and
  CEL rules), `list_map_keys` tells server-side apply how to merge lists.

`openapi_v3_schema` gives the form published in /openapi/v3 and /openapi/v2 (and
read by `kubectl explain`). Everything here is pure: dicts in, dicts or FieldErrors out.

Kubernetes counterpart: staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema
"""

from __future__ import annotations

from typing import Any

from apiserver.apiextensions.defaulting import apply_defaults
from apiserver.apiextensions.pruning import prune
from apiserver.apiextensions.schema_check import check_schema
from apiserver.apiextensions.schema_validation import validate

__all__ = [
    "apply_defaults",
    "check_schema",
    "list_map_keys",
    "openapi_v3_schema",
    "prune",
    "validate",
]

# Keywords kept in the published schema; x-kubernetes-* extensions are kept as well.
_PUBLISHED_KEYWORDS = frozenset({
    "type", "format", "description", "title", "default", "example", "enum", "nullable",
    "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "multipleOf",
    "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems",
    "maxProperties", "minProperties", "required", "items", "properties",
    "additionalProperties", "allOf", "anyOf", "oneOf", "not", "externalDocs",
})


def openapi_v3_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema as published in OpenAPI v3 documents (a new dict).

    As upstream's builder does: `x-kubernetes-int-or-string` nodes become
    `anyOf: [{type: integer}, {type: string}]`, `x-kubernetes-embedded-resource`
    nodes keep their declared fields, and value validations are kept so that clients
    see the same constraints the server enforces.
    """
    return _published(schema)


def _published(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _published(sub) for name, sub in value.items()}
        elif key in ("items", "not") or (key == "additionalProperties" and isinstance(value, dict)):
            out[key] = _published(value)
        elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
            out[key] = [_published(sub) for sub in value]
        elif key in _PUBLISHED_KEYWORDS or key.startswith("x-kubernetes-"):
            out[key] = value
    if node.get("x-kubernetes-int-or-string") is True and "anyOf" not in out:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    return out


def list_map_keys(schema: dict[str, Any], path: list[str]) -> tuple[str, list[str]] | None:
    """The `x-kubernetes-list-type` and map keys of the array at `path`, or None.

    `path` names object fields from the root (`["spec", "ports"]`); a list item is
    crossed with the element "[]" (`["spec", "ports", "[]", "names"]`). Arrays without
    a list type are "atomic" as upstream treats them; None when the path does not
    reach an array.
    """
    node: Any = schema
    for element in path:
        node = _child_schema(node, element)
        if node is None:
            return None
    if not isinstance(node, dict) or node.get("type") != "array":
        return None
    list_type = str(node.get("x-kubernetes-list-type") or "atomic")
    keys = [str(key) for key in node.get("x-kubernetes-list-map-keys") or []]
    return list_type, keys


def _child_schema(node: Any, element: str) -> dict[str, Any] | None:
    if not isinstance(node, dict):
        return None
    if element == "[]":
        items = node.get("items")
        return items if isinstance(items, dict) else None
    properties = node.get("properties")
    if isinstance(properties, dict) and isinstance(properties.get(element), dict):
        return properties[element]
    additional = node.get("additionalProperties")
    return additional if isinstance(additional, dict) else None
