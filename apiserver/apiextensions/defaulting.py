"""Defaulting: fill `default` values of a structural schema into a custom resource.

As upstream, defaults are applied top-down in one walk: a property that is absent
(or null while its schema is not `nullable`) gets a deep copy of its `default`, and
the walk then continues into the value, so defaults nested inside a defaulted
object apply too. List items and additionalProperties values that are null and not
nullable take their schema's default. After defaulting, null values of non-nullable
properties without a default are removed, as Kubernetes does on decode.

The API server runs this on every write and on every read from storage, so a
default added to a CRD later shows up in old objects.

Kubernetes counterpart: staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting/algorithm.go
and prunenulls.go
"""

from __future__ import annotations

import copy
from typing import Any


def apply_defaults(obj: dict[str, Any], schema: dict[str, Any]) -> None:
    """Default `obj` (a whole custom resource, or any value of `schema`) in place."""
    _default(obj, schema)
    _prune_nulls(obj, schema)


def _non_nullable_null(value: Any, schema: Any) -> bool:
    return value is None and isinstance(schema, dict) and schema.get("nullable") is not True


def _default(value: Any, schema: Any) -> None:
    if not isinstance(schema, dict):
        return
    if isinstance(value, dict):
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        for key, sub in properties.items():
            if not isinstance(sub, dict) or "default" not in sub:
                continue
            if key not in value or _non_nullable_null(value[key], sub):
                value[key] = copy.deepcopy(sub["default"])
        additional = schema.get("additionalProperties")
        for key in list(value):
            if key in properties:
                _default(value[key], properties[key])
            elif isinstance(additional, dict):
                if _non_nullable_null(value[key], additional) and "default" in additional:
                    value[key] = copy.deepcopy(additional["default"])
                _default(value[key], additional)
    elif isinstance(value, list):
        items = schema.get("items")
        for index, item in enumerate(value):
            if _non_nullable_null(item, items) and isinstance(items, dict) and "default" in items:
                value[index] = copy.deepcopy(items["default"])
            _default(value[index], items)


def _prune_nulls(value: Any, schema: Any) -> None:
    """Drop nulls the schema does not allow and cannot default (object properties only)."""
    if not isinstance(schema, dict):
        return
    if isinstance(value, dict):
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        additional = schema.get("additionalProperties")
        for key in list(value):
            sub = properties.get(key, additional if isinstance(additional, dict) else None)
            if sub is None:
                continue
            if _non_nullable_null(value[key], sub) and "default" not in sub:
                del value[key]
            else:
                _prune_nulls(value[key], sub)
    elif isinstance(value, list):
        for item in value:
            _prune_nulls(item, schema.get("items"))
