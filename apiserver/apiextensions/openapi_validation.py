"""OpenAPI value validation of a custom resource, worded as kube-apiserver words it.

This is the part of custom resource validation that Kubernetes delegates to
kube-openapi's validator: types, `required`, `enum`, string, number, array and
object limits, `format`, `allOf`/`anyOf`/`oneOf`/`not`, `additionalProperties`.
The validator's messages name the field with the words "in body"
(`spec.size in body should be less than or equal to 10`) and apiextensions turns
each into a field error, so a user sees for example

    spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"

Checks run in kube-openapi's order (type, composition, string, format, number,
array, enum, object); a value of the wrong JSON type gets only the checks that
apply to the type it has. Properties are visited in schema order (Go visits them
in map order).

Kubernetes counterpart: k8s.io/kube-openapi/pkg/validation/validate/schema.go and
staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/validation/validation.go
"""

from __future__ import annotations

import json
from typing import Any

from apiserver.apiextensions.formats import check_format
from apiserver.apiextensions.go_regex import GoRegexError, compile_go_regex
from tinykube.api.validation import (
    FieldError,
    invalid,
    not_supported,
    required,
    too_long,
    too_many,
)

TYPE_INVALID = "FieldValueTypeInvalid"


def child_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def json_type(value: Any) -> str:
    """The JSON schema type of a decoded JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def go_number(value: Any) -> str:
    """A number as Go's %v prints a float64 (10.0 -> "10", 1e21 -> "1e+21")."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def display(value: Any) -> Any:
    """A decoded JSON value as the Go decoder would hold it: 11.0 becomes int 11."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


def type_invalid(path: str, type_name: str, actual: str) -> FieldError:
    return FieldError(TYPE_INVALID, path, f'Invalid value: "{actual}": {path} in body must be '
                      f'of type {type_name}: "{actual}"')


def schema_types(schema: dict[str, Any]) -> list[str]:
    if schema.get("x-kubernetes-int-or-string") is True:
        return ["integer", "string"]
    declared = schema.get("type")
    return [declared] if isinstance(declared, str) and declared else []


def validate_value(value: Any, schema: Any, path: str) -> list[FieldError]:
    """Errors of `value` against one schema node and everything below it."""
    if not isinstance(schema, dict):
        return []
    errs: list[FieldError] = []
    types = schema_types(schema)
    actual = json_type(value)
    if value is None:
        if types and schema.get("nullable") is not True:
            errs.append(type_invalid(path, ",".join(types), "null"))
        errs.extend(_check_enum(value, schema, path))
        return errs
    if types and not _type_matches(value, actual, types):
        errs.append(type_invalid(path, ",".join(types), actual))
    errs.extend(_check_composition(value, schema, path))
    if isinstance(value, str):
        errs.extend(_check_string(value, schema, path))
    elif actual in ("integer", "number"):
        errs.extend(_check_number(value, schema, path))
    elif isinstance(value, list):
        errs.extend(_check_array(value, schema, path))
    errs.extend(_check_enum(value, schema, path))
    if isinstance(value, dict):
        errs.extend(_check_object(value, schema, path))
    return errs


def _type_matches(value: Any, actual: str, types: list[str]) -> bool:
    if actual in types:
        return True
    if actual == "integer" and "number" in types:
        return True
    return actual == "number" and "integer" in types and float(value).is_integer()


def _check_composition(value: Any, schema: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    any_of = [sub for sub in schema.get("anyOf") or [] if isinstance(sub, dict)]
    if any_of:
        results = [validate_value(value, sub, path) for sub in any_of]
        if all(results):
            errs.append(invalid("", "", f"{path} must validate at least one schema (anyOf)"))
            errs.extend(min(results, key=len))
    one_of = [sub for sub in schema.get("oneOf") or [] if isinstance(sub, dict)]
    if one_of:
        results = [validate_value(value, sub, path) for sub in one_of]
        valid = sum(1 for result in results if not result)
        if valid != 1:
            found = "Found none valid" if valid == 0 else f"Found {valid} valid alternatives"
            errs.append(invalid("", "", f"{path} must validate one and only one schema (oneOf). "
                                f"{found}"))
            if valid == 0:
                errs.extend(min(results, key=len))
    all_of = [sub for sub in schema.get("allOf") or [] if isinstance(sub, dict)]
    if all_of:
        results = [validate_value(value, sub, path) for sub in all_of]
        for result in results:
            errs.extend(result)
        failed = sum(1 for result in results if result)
        if failed:
            none = ". None validated" if failed == len(results) else ""
            errs.append(invalid("", "", f"{path} must validate all the schemas (allOf){none}"))
    if isinstance(schema.get("not"), dict) and not validate_value(value, schema["not"], path):
        errs.append(invalid("", "", f"{path} must not validate the schema (not)"))
    return errs


def _check_string(value: str, schema: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    max_length = schema.get("maxLength")
    if isinstance(max_length, int) and len(value) > max_length:
        if max_length == 1:
            errs.append(FieldError(too_long(path, 1).type, path,
                                   "Too long: may not be more than 1 byte"))
        else:
            errs.append(too_long(path, max_length))
    min_length = schema.get("minLength")
    if isinstance(min_length, int) and len(value) < min_length:
        errs.append(invalid(path, value, f"{path} in body should be at least {min_length} chars long"))
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and pattern:
        try:
            matched = compile_go_regex(pattern).search(value) is not None
        except GoRegexError:
            matched = True  # refused when the CRD was written; never fail a CR for it
        if not matched:
            errs.append(invalid(path, value, f"{path} in body should match '{pattern}'"))
    format_name = schema.get("format")
    if isinstance(format_name, str) and format_name and not check_format(format_name, value):
        errs.append(FieldError(TYPE_INVALID, path, f'Invalid value: {json.dumps(value)}: {path} in '
                               f'body must be of type {format_name}: {json.dumps(value)}'))
    return errs


def _check_number(value: float, schema: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    shown = display(value)
    factor = schema.get("multipleOf")
    if isinstance(factor, (int, float)) and factor > 0:
        quotient = value / factor
        if not (float(quotient).is_integer() or
                (isinstance(value, int) and isinstance(factor, int) and value % factor == 0)):
            errs.append(invalid(path, shown,
                                f"{path} in body should be a multiple of {go_number(factor)}"))
    maximum = schema.get("maximum")
    if isinstance(maximum, (int, float)) and not isinstance(maximum, bool):
        exclusive = schema.get("exclusiveMaximum") is True
        if value > maximum or (exclusive and value == maximum):
            bound = "less than" if exclusive else "less than or equal to"
            errs.append(invalid(path, shown, f"{path} in body should be {bound} {go_number(maximum)}"))
    minimum = schema.get("minimum")
    if isinstance(minimum, (int, float)) and not isinstance(minimum, bool):
        exclusive = schema.get("exclusiveMinimum") is True
        if value < minimum or (exclusive and value == minimum):
            bound = "greater than" if exclusive else "greater than or equal to"
            errs.append(invalid(path, shown, f"{path} in body should be {bound} {go_number(minimum)}"))
    return errs


def _check_array(value: list[Any], schema: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    items = schema.get("items")
    if isinstance(items, dict):
        for index, item in enumerate(value):
            errs.extend(validate_value(item, items, f"{path}[{index}]"))
    min_items = schema.get("minItems")
    if isinstance(min_items, int) and len(value) < min_items:
        errs.append(invalid(path, len(value), f"{path} in body should have at least {min_items} items"))
    max_items = schema.get("maxItems")
    if isinstance(max_items, int) and len(value) > max_items:
        errs.append(too_many(path, len(value), max_items))
    if schema.get("uniqueItems") is True:
        seen = [json.dumps(item, sort_keys=True) for item in value]
        if len(set(seen)) != len(seen):
            errs.append(invalid(path, "", f"{path} in body shouldn't contain duplicates"))
    return errs


def _check_enum(value: Any, schema: dict[str, Any], path: str) -> list[FieldError]:
    enum = schema.get("enum")
    if not isinstance(enum, list) or not enum:
        return []
    if any(_enum_equal(value, allowed) for allowed in enum):
        return []
    supported = [allowed if isinstance(allowed, str) else json.dumps(allowed) for allowed in enum]
    return [not_supported(path, display(value), supported)]


def _enum_equal(value: Any, allowed: Any) -> bool:
    if isinstance(value, bool) or isinstance(allowed, bool):
        return value is allowed
    numbers = json_type(value) in ("integer", "number") and json_type(allowed) in ("integer", "number")
    return (numbers or json_type(value) == json_type(allowed)) and bool(value == allowed)


def _check_object(value: dict[str, Any], schema: dict[str, Any], path: str) -> list[FieldError]:
    count = len(value)
    min_properties = schema.get("minProperties")
    if isinstance(min_properties, int) and count < min_properties:
        return [invalid(path, count, f"{path} in body should have at least {min_properties} properties")]
    max_properties = schema.get("maxProperties")
    if isinstance(max_properties, int) and count > max_properties:
        return [too_many(path, count, max_properties)]
    errs: list[FieldError] = []
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    additional = schema.get("additionalProperties")
    if additional is False:
        for key in value:
            if key not in properties:
                errs.append(invalid(child_path(path, key), key,
                                    f"{path}.{key} in body is a forbidden property"))
    elif isinstance(additional, dict):
        for key, item in value.items():
            if key not in properties:
                errs.extend(validate_value(item, additional, child_path(path, key)))
    for key, sub in properties.items():
        if key in value:
            errs.extend(validate_value(value[key], sub, child_path(path, key)))
    for key in schema.get("required") or []:
        if key not in value:
            errs.append(required(child_path(path, str(key))))
    return errs
