"""`x-kubernetes-validations`: CEL rules evaluated over a custom resource.

Each schema node may carry rules; a rule sees the node's value as `self` and, for
a transition rule, the stored object's value at the same place as `oldSelf`. The
walk follows kube-apiserver's: rules run on every non-null value, then the walk
descends into properties, additionalProperties and list items. Old values are
correlated through object keys and the keys of `x-kubernetes-list-type: map` lists
only, so transition rules below other lists do not run (as upstream).

A failed rule reports `<path>: Invalid value: "<schema type>": <message>`, where the
message is `messageExpression`'s result, else `message`, else
`failed rule: <rule>`; `reason` and `fieldPath` change the error type and path.
Rules are compiled once per schema node and cached.

Kubernetes counterpart: staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/validation.go
"""

from __future__ import annotations

import functools
import json
from typing import Any

from apiserver.apiextensions.cel import CelCompileError, CelEvalError, CelProgram, compile_rule
from apiserver.apiextensions.openapi_validation import child_path
from tinykube.api.validation import FieldError, duplicate, forbidden, invalid, required

REASONS = ("FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired")


def has_rules(schema: Any) -> bool:
    """Whether any node of `schema` carries `x-kubernetes-validations`."""
    if not isinstance(schema, dict):
        return False
    if schema.get("x-kubernetes-validations"):
        return True
    properties = schema.get("properties")
    children = list(properties.values()) if isinstance(properties, dict) else []
    children += [schema.get("items"), schema.get("additionalProperties")]
    return any(has_rules(child) for child in children)


def validate_rules(obj: Any, schema: dict[str, Any], old_obj: Any = None) -> list[FieldError]:
    """Errors of every CEL rule in `schema` over `obj` (`old_obj` on update)."""
    errs: list[FieldError] = []
    _walk(obj, schema, old_obj, old_obj is not None, "", errs)
    return errs


@functools.lru_cache(maxsize=1024)
def _compiled(source: str) -> CelProgram | None:
    try:
        return compile_rule(source)
    except CelCompileError:
        return None  # refused when the CRD was written; a stored CRD never has one


def _walk(value: Any, schema: Any, old: Any, has_old: bool, path: str, errs: list[FieldError]) -> None:
    if not isinstance(schema, dict) or value is None:
        return
    _run_rules(value, schema, old, has_old, path, errs)
    if isinstance(value, dict):
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        additional = schema.get("additionalProperties")
        for key, item in value.items():
            sub = properties.get(key, additional)
            old_item_known = has_old and isinstance(old, dict) and key in old
            _walk(item, sub, old.get(key) if old_item_known else None, old_item_known,
                  child_path(path, key), errs)
    elif isinstance(value, list):
        items = schema.get("items")
        old_by_key = _old_map_items(schema, old) if has_old else {}
        for index, item in enumerate(value):
            key = _map_key(schema, item)
            known = key is not None and key in old_by_key
            _walk(item, items, old_by_key.get(key) if known else None, known,
                  f"{path}[{index}]", errs)


def _map_key(schema: dict[str, Any], item: Any) -> str | None:
    if schema.get("x-kubernetes-list-type") != "map" or not isinstance(item, dict):
        return None
    names = schema.get("x-kubernetes-list-map-keys") or []
    return json.dumps([item.get(str(name)) for name in names])


def _old_map_items(schema: dict[str, Any], old: Any) -> dict[str, Any]:
    if not isinstance(old, list):
        return {}
    keyed = ((_map_key(schema, item), item) for item in old)
    return {key: item for key, item in keyed if key is not None}


def _run_rules(value: Any, schema: dict[str, Any], old: Any, has_old: bool, path: str,
               errs: list[FieldError]) -> None:
    type_name = str(schema.get("type") or "")
    for rule in schema.get("x-kubernetes-validations") or []:
        if not isinstance(rule, dict):
            continue
        program = _compiled(str(rule.get("rule") or ""))
        if program is None or (program.uses_old_self and not has_old):
            continue
        rule_text = str(rule.get("rule") or "").strip()
        try:
            result = program.evaluate(value, old)
        except CelEvalError as err:
            errs.append(invalid(path, type_name, f"{rule_text}: {err}"))
            continue
        if result is True:
            continue
        field = _with_field_path(path, str(rule.get("fieldPath") or ""))
        message = _message(rule, value, old, rule_text)
        errs.append(_error_for_reason(field, type_name, message, rule.get("reason")))


def _message(rule: dict[str, Any], value: Any, old: Any, rule_text: str) -> str:
    expression = rule.get("messageExpression")
    if isinstance(expression, str) and expression:
        program = _compiled(expression)
        if program is not None:
            try:
                result = program.evaluate(value, old)
            except CelEvalError:
                result = None
            if isinstance(result, str) and result.strip() and "\n" not in result:
                return result.strip()
    message = str(rule.get("message") or "").strip()
    return message or f"failed rule: {rule_text}"


def _with_field_path(path: str, field_path: str) -> str:
    if not field_path:
        return path
    relative = field_path.lstrip(".")
    if relative.startswith("["):
        return f"{path}{relative}"
    return child_path(path, relative)


def _error_for_reason(field: str, type_name: str, message: str, reason: Any) -> FieldError:
    if reason == "FieldValueForbidden":
        return forbidden(field, message)
    if reason == "FieldValueRequired":
        return required(field, message)
    if reason == "FieldValueDuplicate":
        return duplicate(field, type_name)
    return invalid(field, type_name, message)
