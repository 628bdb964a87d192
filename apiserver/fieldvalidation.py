"""Decoding checks behind the `fieldValidation` query parameter.

The real API server decodes a request body into Go structs. Fields the struct does
not have are dropped (`Ignore`), reported as warnings (`Warn`) or rejected
(`Strict`, what kubectl sends); a value of the wrong JSON type never decodes. This
module answers the same questions for JSON trees against a `FieldSchema`:

- `find_unknown_fields`: fields that are not in the schema, one problem each, with
  the message `unknown field "<path>"`. The handler joins them as the real server
  does: `strict decoding error: unknown field "spec.foo", unknown field "spec.bar"`.
- `find_type_errors`: values of the wrong type (`replicas: "3"`), and integers that do
  not fit their field's int32/int64 (an `overflow` problem, worded as Go's decoder
  words it). null is always fine.
- `prune_unknown_fields`: a deep copy without the unknown fields, plus the problems.

Subtrees typed "any" (RawExtension, FieldsV1) and maps whose values are "any" are
free-form and never descended. `apiVersion`, `kind` and `metadata` are always known
at the top level.

The REST handlers decide what each fieldValidation level does with the problems
(staging/src/k8s.io/apiserver/pkg/endpoints/handlers/rest.go).

Kubernetes counterpart: staging/src/k8s.io/apimachinery/pkg/runtime/serializer/json/json.go
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from apiserver.integer_formats import integer_range
from apiserver.jsoncopy import deep_copy_json
from apiserver.schema import FieldSchema, schema_for_model

# Every object carries these at its top level, whatever its schema says.
ALWAYS_KNOWN_TOP_LEVEL = ("apiVersion", "kind", "metadata")


@dataclass(frozen=True)
class FieldProblem:
    """One field that failed a decoding check; `path` is like `spec.containers[0].name`."""

    path: str
    message: str
    overflow: bool = False  # a number too large for the field's Go integer type


def find_unknown_fields(obj: Any, schema: FieldSchema) -> list[FieldProblem]:
    """Fields of `obj` that `schema` does not know, in document order."""
    problems: list[FieldProblem] = []
    _walk_unknown(obj, schema, "", problems, prune=False)
    return problems


def prune_unknown_fields(obj: Any, schema: FieldSchema) -> tuple[Any, list[FieldProblem]]:
    """A deep copy of `obj` without unknown fields, and the fields it dropped."""
    problems: list[FieldProblem] = []
    pruned = _walk_unknown(obj, schema, "", problems, prune=True)
    return pruned, problems


def find_type_errors(obj: Any, schema: FieldSchema) -> list[FieldProblem]:
    """Values whose JSON type the schema does not accept; unknown fields are skipped."""
    problems: list[FieldProblem] = []
    _walk_types(obj, schema, "", problems)
    return problems


def unknown_field_message(path: str) -> str:
    return f'unknown field "{path}"'


# --- Unknown fields ------------------------------------------------------------------


def _walk_unknown(
    value: Any, schema: FieldSchema, path: str, problems: list[FieldProblem], *, prune: bool,
) -> Any:
    """Report unknown fields under `value`; return the pruned copy when `prune` is set.

    Values of the wrong type are left alone here: `find_type_errors` reports them.
    """
    if schema.type == "object" and isinstance(value, dict):
        fields = schema.fields
        kept: dict[str, Any] = {}
        for key, child in value.items():
            child_schema = fields.get(key)
            if child_schema is None and path == "" and key in ALWAYS_KNOWN_TOP_LEVEL:
                child_schema = _top_level_schema(key)
            child_path = _key_path(path, key)
            if child_schema is None:
                problems.append(FieldProblem(child_path, unknown_field_message(child_path)))
                continue
            kept[key] = _walk_unknown(child, child_schema, child_path, problems, prune=prune)
        return kept if prune else value
    if schema.type == "array" and schema.items is not None and isinstance(value, list):
        items = [
            _walk_unknown(item, schema.items, f"{path}[{index}]", problems, prune=prune)
            for index, item in enumerate(value)
        ]
        return items if prune else value
    if schema.type == "map" and _descends(schema.items) and isinstance(value, dict):
        assert schema.items is not None
        entries = {
            key: _walk_unknown(child, schema.items, _key_path(path, key), problems, prune=prune)
            for key, child in value.items()
        }
        return entries if prune else value
    # Scalars, free-form subtrees and mismatched types: kept as they are.
    return deep_copy_json(value) if prune else value


def _descends(items: FieldSchema | None) -> bool:
    """Whether map values have structure worth walking (objects, arrays, maps)."""
    return items is not None and items.type in ("object", "array", "map")


def _top_level_schema(key: str) -> FieldSchema:
    if key == "metadata":
        return schema_for_model("V1ObjectMeta")
    return FieldSchema("string")


def _key_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --- Types ---------------------------------------------------------------------------


def _walk_types(value: Any, schema: FieldSchema, path: str, problems: list[FieldProblem],
                owner: str = "") -> None:
    """`owner` is the model of the nearest enclosing object (Go's struct in messages)."""
    if value is None or schema.type == "any":
        return
    if not _accepts(schema.type, value):
        where = path or "body"
        problems.append(FieldProblem(
            path, f'{where} in body must be of type {_expected_name(schema.type)}: "{_json_type(value)}"',
        ))
        return
    if schema.type in ("integer", "int-or-string") and _is_int(value):
        _check_range(value, schema.format, path, owner, problems)
    elif schema.type == "object":
        fields = schema.fields
        for key, child in value.items():
            child_schema = fields.get(key)
            if child_schema is None and path == "" and key in ALWAYS_KNOWN_TOP_LEVEL:
                child_schema = _top_level_schema(key)
            if child_schema is not None:
                _walk_types(child, child_schema, _key_path(path, key), problems,
                            schema.model or owner)
    elif schema.type == "array" and schema.items is not None:
        for index, item in enumerate(value):
            _walk_types(item, schema.items, f"{path}[{index}]", problems, owner)
    elif schema.type == "map" and schema.items is not None:
        for key, child in value.items():
            _walk_types(child, schema.items, _key_path(path, key), problems, owner)


# The API version a client model name starts with: V1, V1beta1, CoreV1, AppsV1 ...
_MODEL_VERSION_PREFIX = re.compile(r"^[A-Za-z]*?V\d+(?:alpha\d+|beta\d+)?(?=[A-Z])")
_INDEX = re.compile(r"\[\d+\]")


def _check_range(value: float, fmt: str | None, path: str, owner: str,
                 problems: list[FieldProblem]) -> None:
    """Go's decoder refuses a number its int32/int64 field cannot hold.

    Its message names the Go struct holding the field and the JSON path without
    list indexes: `json: cannot unmarshal number 9223372036854775808 into Go struct
    field DeploymentSpec.spec.replicas of type int32`. (IntOrString holds an int32.)
    """
    low, high = integer_range(fmt)
    if low <= value <= high:
        return
    number = str(value) if isinstance(value, int) else repr(value)
    go_type = fmt or "int32"
    struct = _MODEL_VERSION_PREFIX.sub("", owner)
    problems.append(FieldProblem(
        path, f"json: cannot unmarshal number {number} into Go struct field "
              f"{struct}.{_INDEX.sub('', path)} of type {go_type}", overflow=True))


def _is_int(value: Any) -> bool:
    """An integer, or a float without a fractional part (JSON has one number type)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _accepts(schema_type: str, value: Any) -> bool:
    if schema_type in ("object", "map"):
        return isinstance(value, dict)
    if schema_type == "array":
        return isinstance(value, list)
    if schema_type in ("string", "date-time"):
        return isinstance(value, str)
    if schema_type == "integer":
        return _is_int(value)
    if schema_type == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if schema_type == "boolean":
        return isinstance(value, bool)
    if schema_type == "int-or-string":
        return isinstance(value, str) or _is_int(value)
    if schema_type == "quantity":
        return isinstance(value, (str, int, float)) and not isinstance(value, bool)
    return True  # "any"


def _expected_name(schema_type: str) -> str:
    """How the OpenAPI validator names a schema type in its messages."""
    return {
        "map": "object",
        "date-time": "string",
        "int-or-string": "integer,string",
        "quantity": "string,number",
    }.get(schema_type, schema_type)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
