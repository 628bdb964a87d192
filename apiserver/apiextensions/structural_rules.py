"""Is a CRD schema structural? The invariants of upstream's ValidateStructural.

A structural schema says, outside any `allOf`/`anyOf`/`oneOf`/`not`, the type of
every field and array item, so that pruning and defaulting know the shape of the
data. The rules checked here:

- every node has a `type`, unless it is `x-kubernetes-int-or-string` or
  `x-kubernetes-preserve-unknown-fields`; `type: array` has `items`; the root is
  an object without `additionalProperties`;
- embedded resources are objects with properties (or preserve unknown fields);
- `metadata` at the root may only restrict `name` and `generateName`;
- inside value validations (`allOf`...) nothing structural is declared again
  (no type, default, description, nullable, x-kubernetes-* extension, metadata),
  except the int-or-string pattern `anyOf: [{type: integer}, {type: string}]`, and
  every property or items named there also exists outside (completeness).

Errors are sorted by their text, as upstream sorts them.

Kubernetes counterpart: staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema/validation.go
and completeness.go
"""

from __future__ import annotations

from typing import Any

from tinykube.api.validation import FieldError, forbidden, invalid, required

ROOT, ITEM, FIELD = "root", "item", "field"
_INT_OR_STRING_ANY_OF = [{"type": "integer"}, {"type": "string"}]
_NESTED_FORBIDDEN = (
    ("type", "must be empty to be structural"),
    ("additionalProperties", "must be undefined to be structural"),
    ("default", "must be undefined to be structural"),
    ("title", "must be empty to be structural"),
    ("description", "must be empty to be structural"),
    ("externalDocs", "must be undefined to be structural"),
    ("x-kubernetes-preserve-unknown-fields", "must be false to be structural"),
    ("x-kubernetes-embedded-resource", "must be false to be structural"),
    ("x-kubernetes-int-or-string", "must be false to be structural"),
    ("x-kubernetes-list-map-keys", "must be empty to be structural"),
    ("x-kubernetes-list-type", "must be undefined to be structural"),
    ("x-kubernetes-map-type", "must be undefined to be structural"),
    ("x-kubernetes-validations", "must be empty to be structural"),
)


def key(path: str, name: str) -> str:
    return f"{path}[{name}]"


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def validate_structural(schema: dict[str, Any], path: str) -> list[FieldError]:
    errs = _invariants(schema, ROOT, path)
    errs.extend(_completeness(schema, schema, path, path))
    return sorted(errs, key=str)


def _invariants(node: Any, level: str, path: str) -> list[FieldError]:
    if not isinstance(node, dict):
        return []
    errs: list[FieldError] = []
    node_type = str(node.get("type") or "")
    if node_type == "array" and "items" not in node:
        errs.append(required(f"{path}.items", "must be specified"))
    if isinstance(node.get("items"), dict):
        errs.extend(_invariants(node["items"], ITEM, f"{path}.items"))
    properties = as_dict(node.get("properties"))
    for name, sub in properties.items():
        errs.extend(_invariants(sub, FIELD, key(f"{path}.properties", name)))
    if "additionalProperties" in node:
        if level == ROOT:
            errs.append(forbidden(f"{path}.additionalProperties", "must not be used at the root"))
        errs.extend(_invariants(node["additionalProperties"], FIELD, f"{path}.additionalProperties"))
    errs.extend(_extensions(node, path))
    errs.extend(_value_validation(node, path, skip_any_of=_is_int_or_string_any_of(node)))
    embedded = node.get("x-kubernetes-embedded-resource") is True
    int_or_string = node.get("x-kubernetes-int-or-string") is True
    preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
    if embedded and node_type != "object":
        detail = "must be object if x-kubernetes-embedded-resource is true"
        errs.append(required(f"{path}.type", detail) if not node_type
                    else invalid(f"{path}.type", node_type, detail))
    elif not node_type and not int_or_string and not preserve:
        detail = {ROOT: "must not be empty at the root",
                  ITEM: "must not be empty for specified array items",
                  FIELD: "must not be empty for specified object fields"}[level]
        errs.append(required(f"{path}.type", detail))
    if embedded and "additionalProperties" in node:
        errs.append(forbidden(f"{path}.additionalProperties",
                              "must not be used if x-kubernetes-embedded-resource is set"))
    if level == ROOT and node_type and node_type != "object":
        errs.append(invalid(f"{path}.type", node_type, "must be object at the root"))
    check_metadata = level == ROOT or embedded
    for name in ("kind", "apiVersion"):
        if name in properties and check_metadata:
            sub_type = str(as_dict(properties[name]).get("type") or "")
            if sub_type != "string":
                errs.append(invalid(f"{key(f'{path}.properties', name)}.type", sub_type, "must be string"))
    if "metadata" in properties:
        errs.extend(_metadata(as_dict(properties["metadata"]), check_metadata, level,
                              key(f"{path}.properties", "metadata")))
    if embedded and not preserve and not properties:
        errs.append(required(f"{path}.properties", "must not be empty if x-kubernetes-embedded-resource "
                             "is true without x-kubernetes-preserve-unknown-fields"))
    return errs


def _metadata(node: dict[str, Any], check_metadata: bool, level: str, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    node_type = str(node.get("type") or "")
    if check_metadata and node_type != "object":
        errs.append(invalid(f"{path}.type", node_type, "must be object"))
    if level == ROOT:
        rest = {name: value for name, value in node.items() if name not in ("type", "default")}
        names = set(as_dict(rest.get("properties")))
        if names and names <= {"name", "generateName"}:
            rest.pop("properties")
        if rest:
            errs.append(forbidden(path, "must not specify anything other than name and generateName, "
                                  "but metadata is implicitly specified"))
    return errs


def _extensions(node: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if node.get("x-kubernetes-int-or-string") is True:
        if node.get("x-kubernetes-preserve-unknown-fields") is True:
            errs.append(invalid(f"{path}.x-kubernetes-preserve-unknown-fields", True,
                                "must be false if x-kubernetes-int-or-string is true"))
        if node.get("x-kubernetes-embedded-resource") is True:
            errs.append(invalid(f"{path}.x-kubernetes-embedded-resource", True,
                                "must be false if x-kubernetes-int-or-string is true"))
    return errs


def _is_int_or_string_any_of(node: dict[str, Any]) -> bool:
    return node.get("anyOf") == _INT_OR_STRING_ANY_OF


def _value_validation(node: dict[str, Any], path: str, *, skip_any_of: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    if not skip_any_of:
        for index, sub in enumerate(node.get("anyOf") or []):
            errs.extend(_nested(sub, f"{path}.anyOf[{index}]"))
    all_of = node.get("allOf") or []
    for index, sub in enumerate(all_of):
        skip = index == 0 and isinstance(sub, dict) and _is_int_or_string_any_of(sub)
        errs.extend(_nested(sub, f"{path}.allOf[{index}]", skip_any_of=skip))
    for index, sub in enumerate(node.get("oneOf") or []):
        errs.extend(_nested(sub, f"{path}.oneOf[{index}]"))
    if isinstance(node.get("not"), dict):
        errs.extend(_nested(node["not"], f"{path}.not"))
    return errs


def _nested(node: Any, path: str, *, skip_any_of: bool = False) -> list[FieldError]:
    if not isinstance(node, dict):
        return []
    errs = _value_validation(node, path, skip_any_of=skip_any_of)
    if isinstance(node.get("items"), dict):
        errs.extend(_nested(node["items"], f"{path}.items"))
    for name, sub in as_dict(node.get("properties")).items():
        errs.extend(_nested(sub, key(f"{path}.properties", name)))
    for keyword, detail in _NESTED_FORBIDDEN:
        value = node.get(keyword)
        if (value is not None) if keyword == "default" else bool(value):
            errs.append(forbidden(f"{path}.{keyword}", detail))
    if node.get("nullable") is True:
        errs.append(forbidden(f"{path}.nullable", "must be false to be structural"))
    if "metadata" in as_dict(node.get("properties")):
        errs.append(forbidden(key(f"{path}.properties", "metadata"),
                              "must not be specified in a nested context"))
    return errs


def _completeness(validation: dict[str, Any], structural: Any, s_path: str, v_path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for junctor in ("allOf", "anyOf", "oneOf"):
        for index, sub in enumerate(validation.get(junctor) or []):
            errs.extend(_nested_completeness(sub, structural, s_path, f"{v_path}.{junctor}[{index}]"))
    if isinstance(validation.get("not"), dict):
        errs.extend(_nested_completeness(validation["not"], structural, s_path, f"{v_path}.not"))
    for name, sub in as_dict(validation.get("properties")).items():
        if isinstance(sub, dict):
            errs.extend(_completeness(sub, sub, key(f"{s_path}.properties", name),
                                      key(f"{v_path}.properties", name)))
    if isinstance(validation.get("items"), dict):
        errs.extend(_completeness(validation["items"], validation["items"], f"{s_path}.items",
                                  f"{v_path}.items"))
    if isinstance(validation.get("additionalProperties"), dict):
        sub = validation["additionalProperties"]
        errs.extend(_completeness(sub, sub, f"{s_path}.additionalProperties",
                                  f"{v_path}.additionalProperties"))
    return errs


def _nested_completeness(nested: Any, structural: Any, s_path: str, v_path: str) -> list[FieldError]:
    if not isinstance(nested, dict):
        return []
    if not isinstance(structural, dict):
        return [required(s_path, f"because it is defined in {v_path}")]
    errs: list[FieldError] = []
    for junctor in ("allOf", "anyOf", "oneOf"):
        for index, sub in enumerate(nested.get(junctor) or []):
            errs.extend(_nested_completeness(sub, structural, s_path, f"{v_path}.{junctor}[{index}]"))
    if isinstance(nested.get("not"), dict):
        errs.extend(_nested_completeness(nested["not"], structural, s_path, f"{v_path}.not"))
    if isinstance(nested.get("items"), dict):
        errs.extend(_nested_completeness(nested["items"], structural.get("items"),
                                         f"{s_path}.items", f"{v_path}.items"))
    structural_properties = as_dict(structural.get("properties"))
    for name, sub in as_dict(nested.get("properties")).items():
        s_child, v_child = key(f"{s_path}.properties", name), key(f"{v_path}.properties", name)
        if name not in structural_properties:
            errs.append(required(s_child, f"because it is defined in {v_child}"))
        else:
            errs.extend(_nested_completeness(sub, structural_properties[name], s_child, v_child))
    return errs
