"""Drop what Go's `omitempty` drops: empty lists and maps, and nulls, of optional fields.

kube-apiserver decodes a body into Go structs and encodes them again, so an optional
field sent as `labels: {}`, `args: []` or `annotations: null` is simply absent from
what it stores and returns. Clients rely on it: `kubectl diff` on an unchanged object
compares the server's answer with the file, and `+ annotations: {}` would be a
difference. tinykube keeps JSON, so it removes those values explicitly, guided by the
kind's schema:

- an empty list (a Go slice) or empty map (a Go map) of a field that is not required;
- a null of a field that is not required (Go decodes null to the zero value);
- an empty *object* (a Go struct such as `resources: {}` or `securityContext: {}`)
  stays, as it does in Kubernetes: `omitempty` never omits a struct.

Zero scalars (`false`, `0`, `""`) are kept: the schema cannot tell a pointer field
(kept) from a plain one (omitted). Kinds without a schema (`any`) are left alone.

Kubernetes counterpart: encoding/json's omitempty on the types in
staging/src/k8s.io/api (what the API server's decode/encode round trip does)
"""

from __future__ import annotations

from typing import Any

from apiserver.schema import FieldSchema

# Optional fields declared without `omitempty` in Go: an empty value is kept.
KEPT_WHEN_EMPTY = frozenset({("V1Role", "rules"), ("V1ClusterRole", "rules")})


def drop_empty_optional(value: Any, schema: FieldSchema) -> None:
    """Remove, in place, the optional empty lists, empty maps and nulls under `value`."""
    if schema.type == "object" and schema.model is not None and isinstance(value, dict):
        fields = schema.fields
        for key in list(value):
            child, child_schema = value[key], fields.get(key)
            if child_schema is None:
                continue
            if (key not in schema.required and (schema.model, key) not in KEPT_WHEN_EMPTY
                    and _is_omitted(child, child_schema)):
                del value[key]
            else:
                drop_empty_optional(child, child_schema)
        return
    items = schema.items
    if items is None or items.type not in ("object", "array", "map"):
        return
    if schema.type == "array" and isinstance(value, list):
        for item in value:
            drop_empty_optional(item, items)
    elif schema.type == "map" and isinstance(value, dict):
        for item in value.values():
            drop_empty_optional(item, items)


def _is_omitted(value: Any, schema: FieldSchema) -> bool:
    if value is None:
        return True
    return schema.type in ("array", "map") and isinstance(value, (list, dict)) and not value
