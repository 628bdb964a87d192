"""Checks of a CRD version's `openAPIV3Schema` when the CRD is created or updated.

`check_schema` returns what kube-apiserver would report, in its order:

1. the structural invariants (`structural_rules`), sorted; if they hold,
2. the defaults: each must be pruned already (`must not have unknown fields`) and
   validate against its own schema, CEL rules included;
3. the OpenAPI checks of every node: supported keywords only (no `$ref`,
   `patternProperties`, `uniqueItems: true`...), `additionalProperties` not mixed
   with `properties`, valid `pattern`s, `x-kubernetes-list-type` / `map-type` /
   `list-map-keys` consistent (map keys required or defaulted scalars), defaults
   not under top-level `apiVersion`/`kind`/`metadata`, and the
   `x-kubernetes-validations` rules, compiled with `cel` (only when the schema is
   otherwise valid, as upstream) so an unsupported expression is refused now.

`path` is the schema's field path, e.g. `spec.versions[0].schema.openAPIV3Schema`.

Kubernetes counterpart: staging/src/k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation/validation.go
(validateCustomResourceDefinitionValidation, ValidateCustomResourceDefinitionOpenAPISchema) and
pkg/apiserver/schema/defaulting/validation.go
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Any

from apiserver.apiextensions.go_regex import GoRegexError, compile_go_regex
from apiserver.apiextensions.openapi_validation import validate_value
from apiserver.apiextensions.pruning import prune_value
from apiserver.apiextensions.rule_check import check_rules
from apiserver.apiextensions.rules import validate_rules
from apiserver.apiextensions.schema_validation import validate_list_types
from apiserver.apiextensions.structural_rules import as_dict, key, validate_structural
from tinykube.api.validation import FieldError, forbidden, invalid, not_supported, required

OPENAPI_V3_TYPES = ["array", "boolean", "integer", "number", "object", "string"]
META_FIELDS = ("apiVersion", "kind", "metadata")
_UNSUPPORTED = (
    ("id", "id is not supported"),
    ("additionalItems", "additionalItems is not supported"),
    ("patternProperties", "patternProperties is not supported"),
    ("definitions", "definitions is not supported"),
    ("dependencies", "dependencies is not supported"),
    ("$ref", "$ref is not supported"),
)


@dataclass(frozen=True)
class _Context:
    """What the walk knows about the place of a node (upstream's specStandardValidator)."""

    defaults_forbidden: str | None = None  # the reason, when defaults may not be set here
    inside_resource_meta: bool = False
    uncorrelatable_path: str | None = None  # where oldSelf stops being usable
    compile_rules: bool = True


def check_schema(schema: dict[str, Any],
                 path: str = "spec.validation.openAPIV3Schema") -> list[FieldError]:
    """Every reason to refuse `schema` as a CRD version's openAPIV3Schema."""
    if not isinstance(schema, dict):
        return [invalid(path, schema, "must be an object")]
    errs = validate_structural(schema, path)
    if not errs:
        errs = check_defaults(schema, path)
    context = _Context(compile_rules=not errs)
    errs.extend(_check_node(schema, path, context, root=True))
    return errs


def check_defaults(schema: dict[str, Any], path: str) -> list[FieldError]:
    """Each `default` is pruned already and valid against the schema of its node."""
    errs: list[FieldError] = []
    _walk_defaults(schema, path, errs)
    return errs


def _walk_defaults(node: Any, path: str, errs: list[FieldError]) -> None:
    if not isinstance(node, dict):
        return
    if node.get("default") is not None:
        errs.extend(_check_default(node["default"], node, f"{path}.default"))
    for name, sub in as_dict(node.get("properties")).items():
        _walk_defaults(sub, key(f"{path}.properties", name), errs)
    _walk_defaults(node.get("items"), f"{path}.items", errs)
    _walk_defaults(node.get("additionalProperties"), f"{path}.additionalProperties", errs)


def _check_default(default: Any, node: dict[str, Any], path: str) -> list[FieldError]:
    pruned = copy.deepcopy(default)
    prune_value(pruned, node, resource_root=node.get("x-kubernetes-embedded-resource") is True)
    if pruned != default:
        return [invalid(path, default, "must not have unknown fields")]
    errs = validate_value(default, node, "")
    errs.extend(validate_list_types(default, node, ""))
    if not errs:
        errs = validate_rules(default, node)
    return [_rebase(err, path) for err in errs]


def _rebase(err: FieldError, base: str) -> FieldError:
    if not err.field:
        return replace(err, field=base)
    separator = "" if err.field.startswith("[") else "."
    return replace(err, field=f"{base}{separator}{err.field}")


def _check_node(node: Any, path: str, context: _Context, *, root: bool = False) -> list[FieldError]:
    if not isinstance(node, dict):
        return []
    errs = _standard(node, path, context)
    properties = as_dict(node.get("properties"))
    if "additionalProperties" in node:
        additional = node["additionalProperties"]
        if properties and (additional is False or isinstance(additional, dict)):
            errs.append(forbidden(f"{path}.additionalProperties",
                                  "additionalProperties and properties are mutual exclusive"))
        sub_context = context
        if context.inside_resource_meta:
            sub_context = replace(context, defaults_forbidden="inside additionalProperties applying "
                                  "to object metadata")
        errs.extend(_check_node(additional, f"{path}.additionalProperties", sub_context))
    embedded = node.get("x-kubernetes-embedded-resource") is True
    for name, sub in properties.items():
        sub_context = context
        if node.get("x-kubernetes-map-type") == "atomic" and context.uncorrelatable_path is None:
            sub_context = replace(sub_context, uncorrelatable_path=path)
        if (root or embedded) and name in META_FIELDS:
            sub_context = replace(sub_context, inside_resource_meta=True)
            if root:
                sub_context = replace(sub_context, defaults_forbidden=f"in top-level {name}")
        errs.extend(_check_node(sub, key(f"{path}.properties", name), sub_context))
    nested = replace(context, compile_rules=False)
    errs.extend(_check_node(node.get("not"), f"{path}.not", nested))
    for junctor in ("allOf", "oneOf", "anyOf"):
        for index, sub in enumerate(node.get(junctor) or []):
            errs.extend(_check_node(sub, f"{path}.{junctor}[{index}]", nested))
    if "items" in node:
        items_context = context
        if node.get("x-kubernetes-list-type") != "map" and context.uncorrelatable_path is None:
            items_context = replace(context, uncorrelatable_path=path)
        errs.extend(_check_node(node["items"], f"{path}.items", items_context))
    errs.extend(_extensions(node, path))
    errs.extend(check_rules(node, path, context.uncorrelatable_path,
                            compile_rules=context.compile_rules and not errs))
    return errs


def _standard(node: dict[str, Any], path: str, context: _Context) -> list[FieldError]:
    errs: list[FieldError] = []
    node_type = node.get("type")
    if node_type not in (None, "") and node_type not in OPENAPI_V3_TYPES:
        errs.append(not_supported(f"{path}.type", node_type, OPENAPI_V3_TYPES))
    if "default" in node and context.defaults_forbidden is not None:
        errs.append(forbidden(f"{path}.default", f"must not be set {context.defaults_forbidden}"))
    for keyword, detail in _UNSUPPORTED:
        if node.get(keyword) not in (None, "", {}):
            errs.append(forbidden(f"{path}.{keyword}", detail))
    if node_type == "null":
        errs.append(forbidden(f"{path}.type", "type cannot be set to null, use nullable as an alternative"))
    if isinstance(node.get("items"), list):
        errs.append(forbidden(f"{path}.items", "items must be a schema object and not an array"))
    if context.inside_resource_meta and node.get("x-kubernetes-embedded-resource") is True:
        errs.append(forbidden(f"{path}.x-kubernetes-embedded-resource",
                              "must not be used inside of resource meta"))
    if node.get("uniqueItems") is True:
        errs.append(forbidden(f"{path}.uniqueItems", "uniqueItems cannot be set to true since the "
                              "runtime complexity becomes quadratic"))
    pattern = node.get("pattern")
    if isinstance(pattern, str) and pattern:
        try:
            compile_go_regex(pattern)
        except GoRegexError as err:
            errs.append(invalid(f"{path}.pattern", pattern,
                                f"must be a valid regular expression, but isn't: {err}"))
    return errs


def _extensions(node: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    node_type = str(node.get("type") or "")
    if node.get("x-kubernetes-preserve-unknown-fields") is False:
        errs.append(invalid(f"{path}.x-kubernetes-preserve-unknown-fields", False,
                            "must be true or undefined"))
    map_type = node.get("x-kubernetes-map-type")
    if map_type is not None:
        if node_type != "object":
            detail = "must be object if x-kubernetes-map-type is specified"
            errs.append(required(f"{path}.type", detail) if not node_type
                        else invalid(f"{path}.type", node_type, detail))
        if map_type not in ("atomic", "granular"):
            errs.append(not_supported(f"{path}.x-kubernetes-map-type", map_type, ["atomic", "granular"]))
    errs.extend(_list_type(node, path, node_type))
    return errs


def _list_type(node: dict[str, Any], path: str, node_type: str) -> list[FieldError]:
    errs: list[FieldError] = []
    list_type = node.get("x-kubernetes-list-type")
    keys = node.get("x-kubernetes-list-map-keys") or []
    items = node.get("items") if isinstance(node.get("items"), dict) else None
    if list_type is not None and node_type != "array":
        detail = "must be array if x-kubernetes-list-type is specified"
        errs.append(required(f"{path}.type", detail) if not node_type
                    else invalid(f"{path}.type", node_type, detail))
    elif list_type == "set" and items is not None:
        if items.get("type") == "array" and items.get("x-kubernetes-list-type") not in (None, "atomic"):
            errs.append(invalid(f"{path}.items.x-kubernetes-list-type", items["x-kubernetes-list-type"],
                                "must be atomic as item of a list with x-kubernetes-list-type=set"))
        if items.get("type") == "object" and items.get("x-kubernetes-map-type") != "atomic":
            errs.append(invalid(f"{path}.items.x-kubernetes-map-type", "null",
                                "must be atomic as item of a list with x-kubernetes-list-type=set"))
    if list_type is not None and list_type not in ("atomic", "set", "map"):
        errs.append(not_supported(f"{path}.x-kubernetes-list-type", list_type, ["atomic", "set", "map"]))
    if keys:
        detail = "must be map if x-kubernetes-list-map-keys is non-empty"
        if list_type is None:
            errs.append(required(f"{path}.x-kubernetes-list-type", detail))
        elif list_type != "map":
            errs.append(invalid(f"{path}.x-kubernetes-list-type", list_type, detail))
    if list_type == "map":
        errs.extend(_map_list(node, path, items, [str(name) for name in keys]))
    if list_type in ("set", "map") and items is not None and items.get("nullable") is True:
        errs.append(forbidden(f"{path}.items.nullable", f"cannot be nullable when x-kubernetes-list-type "
                              f"is {list_type}"))
    return errs


def _map_list(node: dict[str, Any], path: str, items: dict[str, Any] | None,
              keys: list[str]) -> list[FieldError]:
    errs: list[FieldError] = []
    if not keys:
        errs.append(required(f"{path}.x-kubernetes-list-map-keys",
                             "must not be empty if x-kubernetes-list-type is map"))
    if "items" not in node:
        errs.append(required(f"{path}.items", "must have a schema if x-kubernetes-list-type is map"))
    if items is None:
        return errs
    items_type = str(items.get("type") or "")
    if items_type != "object":
        errs.append(invalid(f"{path}.items.type", items_type,
                            "must be object if parent array's x-kubernetes-list-type is map"))
        return errs
    properties = as_dict(items.get("properties"))
    seen: set[str] = set()
    for name in keys:
        prop_path = key(f"{path}.items.properties", name)
        if name in properties:
            if as_dict(properties[name]).get("type") in ("array", "object"):
                errs.append(invalid(f"{prop_path}.type", items_type,
                                    "must be a scalar type if parent array's x-kubernetes-list-type is map"))
        else:
            errs.append(invalid(f"{path}.x-kubernetes-list-map-keys", keys,
                                "entries must all be names of item properties"))
        if name in seen:
            errs.append(invalid(f"{path}.x-kubernetes-list-map-keys", keys,
                                "must not contain duplicate entries"))
        seen.add(name)
    required_names = set(items.get("required") or [])
    for name in keys:
        prop = properties.get(name)
        if not isinstance(prop, dict):
            continue
        if name not in required_names and prop.get("default") is None:
            errs.append(required(f"{key(f'{path}.items.properties', name)}.default",
                                 "this property is in x-kubernetes-list-map-keys, so it must have a "
                                 "default or be a required property"))
        if prop.get("nullable") is True:
            errs.append(forbidden(f"{key(f'{path}.items.properties', name)}.nullable",
                                  "this property is in x-kubernetes-list-map-keys, so it cannot be nullable"))
    return errs
