"""Validation of a custom resource against its CRD's structural schema.

`validate` runs the same four passes, in the same order, as the custom resource
strategy of kube-apiserver:

1. OpenAPI value validation (`openapi_validation.validate_value`);
2. embedded resources (`x-kubernetes-embedded-resource`) must name `apiVersion`
   and `kind`;
3. `x-kubernetes-list-type: set` and `map` lists must not repeat an item or a key
   (`spec.ports[1]: Duplicate value: map[string]interface {}{"port":80}`);
4. `x-kubernetes-validations` CEL rules (`rules.validate_rules`), skipped when an
   earlier pass found a wrong type or an unsupported enum value, since the rules
   would then see data they were not written for.

Kubernetes counterpart: staging/src/k8s.io/apiextensions-apiserver/pkg/registry/customresource/strategy.go
(Validate) and pkg/apiserver/schema/listtype/validation.go
"""

from __future__ import annotations

import json
from typing import Any

from apiserver.apiextensions.openapi_validation import (
    TYPE_INVALID,
    child_path,
    display,
    validate_value,
)
from apiserver.apiextensions.rules import has_rules, validate_rules
from tinykube.api.validation import NOT_SUPPORTED, FieldError, duplicate, invalid, required

BLOCKED_RULES_MESSAGE = ("some validation rules were not checked because the object was invalid; "
                         "correct the existing errors to complete validation")


def validate(obj: dict[str, Any], schema: dict[str, Any],
             old_obj: dict[str, Any] | None = None) -> list[FieldError]:
    """Every error of `obj` (a whole custom resource) against `schema`.

    `old_obj` is the stored object on update: transition rules (those using
    `oldSelf`) run only then, where an old value exists at the same place.
    """
    errs = validate_value(obj, schema, "")
    errs.extend(_validate_embedded(obj, schema, "", root=True))
    errs.extend(validate_list_types(obj, schema, ""))
    if not has_rules(schema):
        return errs
    if any(err.type in (TYPE_INVALID, NOT_SUPPORTED) for err in errs):
        errs.append(invalid("", "null", BLOCKED_RULES_MESSAGE))
    else:
        errs.extend(validate_rules(obj, schema, old_obj))
    return errs


def _validate_embedded(value: Any, schema: Any, path: str, *, root: bool = False) -> list[FieldError]:
    if not isinstance(schema, dict):
        return []
    errs: list[FieldError] = []
    if isinstance(value, dict):
        if schema.get("x-kubernetes-embedded-resource") is True and not root:
            errs.extend(_embedded_type_meta(value, path))
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        additional = schema.get("additionalProperties")
        for key, item in value.items():
            sub = properties.get(key, additional)
            errs.extend(_validate_embedded(item, sub, child_path(path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            errs.extend(_validate_embedded(item, schema.get("items"), f"{path}[{index}]"))
    return errs


def _embedded_type_meta(value: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for key in ("apiVersion", "kind"):
        field = child_path(path, key)
        if key not in value:
            errs.append(required(field, "must not be empty"))
        elif not isinstance(value[key], str):
            errs.append(invalid(field, value[key], "must be a string"))
        elif not value[key]:
            errs.append(invalid(field, "", "must not be empty"))
    return errs


def validate_list_types(value: Any, schema: Any, path: str) -> list[FieldError]:
    """Duplicates in `set` and `map` lists, anywhere in `value`."""
    if not isinstance(schema, dict):
        return []
    errs: list[FieldError] = []
    if isinstance(value, list):
        list_type = schema.get("x-kubernetes-list-type")
        if list_type == "set":
            errs.extend(_set_duplicates(value, path))
        elif list_type == "map":
            errs.extend(_map_duplicates(value, schema, path))
        for index, item in enumerate(value):
            errs.extend(validate_list_types(item, schema.get("items"), f"{path}[{index}]"))
    elif isinstance(value, dict):
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        additional = schema.get("additionalProperties")
        for key, item in value.items():
            errs.extend(validate_list_types(item, properties.get(key, additional),
                                            child_path(path, key)))
    return errs


def _canonical(value: Any) -> str:
    return json.dumps(display_tree(value), sort_keys=True)


def display_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: display_tree(item) for key, item in value.items()}
    if isinstance(value, list):
        return [display_tree(item) for item in value]
    return display(value)


def _set_duplicates(items: list[Any], path: str) -> list[FieldError]:
    seen: dict[str, bool] = {}
    errs: list[FieldError] = []
    for index, item in enumerate(items):
        key = _canonical(item)
        if key in seen and not seen[key]:
            seen[key] = True
            errs.append(_duplicate(f"{path}[{index}]", item))
        seen.setdefault(key, False)
    return errs


def _map_duplicates(items: list[Any], schema: dict[str, Any], path: str) -> list[FieldError]:
    key_names = [str(name) for name in schema.get("x-kubernetes-list-map-keys") or []]
    item_schema = schema.get("items") if isinstance(schema.get("items"), dict) else {}
    properties = item_schema.get("properties") if isinstance(item_schema.get("properties"), dict) else {}
    seen: dict[str, bool] = {}
    errs: list[FieldError] = []
    for index, item in enumerate(items):
        field = f"{path}[{index}]"
        if not isinstance(item, dict):
            errs.append(invalid(field, item, "must be an object for an array of list-type map"))
            continue
        if not item:
            errs.append(invalid(field, item, "must not be empty for an array of list-type map"))
            continue
        keys: dict[str, Any] = {}
        for name in key_names:
            if name in item:
                keys[name] = item[name]
            elif isinstance(properties.get(name), dict) and "default" in properties[name]:
                keys[name] = properties[name]["default"]
        canonical = _canonical(keys)
        if canonical in seen and not seen[canonical]:
            seen[canonical] = True
            errs.append(_duplicate(field, keys))
        seen.setdefault(canonical, False)
    return errs


def _duplicate(field: str, value: Any) -> FieldError:
    if isinstance(value, dict):
        # Go's %#v of a map[string]interface{}: sorted keys, `"k":v` pairs.
        entries = ", ".join(f"{json.dumps(key)}:{json.dumps(display_tree(item))}"
                            for key, item in sorted(value.items()))
        return FieldError(duplicate(field, "").type, field,
                          f"Duplicate value: map[string]interface {{}}{{{entries}}}")
    return duplicate(field, display_tree(value))
