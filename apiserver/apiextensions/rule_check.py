"""Checks of one schema node's `x-kubernetes-validations` when the CRD is written.

The static checks (a rule is given; `message` is non-empty and single-line;
`reason` is supported; `fieldPath` is a valid path to a declared field) always
run. The rules and message expressions are compiled only when the schema is
otherwise valid, as upstream does, and a rule that does not compile is refused:

    spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule:
    Invalid value: "self.foo(": compilation failed: ERROR: <input>:1:10: Syntax error: ...

(Kubernetes prints the whole ValidationRule struct as the value; tinykube prints
the rule text.) `oldSelf` is refused below lists that are not
`x-kubernetes-list-type: map` and below atomic maps, where no old value can be
found.

Kubernetes counterpart: staging/src/k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation/validation.go
(the XValidations part) and pkg/apiserver/schema/cel/compilation.go
"""

from __future__ import annotations

import re
from typing import Any

from apiserver.apiextensions.cel import (
    CelCompileError,
    CelProgram,
    CelResultTypeError,
    compile_rule,
)
from apiserver.apiextensions.rules import REASONS
from apiserver.apiextensions.structural_rules import as_dict
from tinykube.api.validation import FieldError, invalid, not_supported, required

_NEWLINES = re.compile(r"[\n\r]+")
_FIELD_PATH_RE = re.compile(r"^(\.[A-Za-z_][A-Za-z0-9_-]*|\['[^']*'\]|\[\d+\])+$")


def check_rules(node: dict[str, Any], path: str, uncorrelatable_path: str | None, *,
                compile_rules: bool) -> list[FieldError]:
    rules = node.get("x-kubernetes-validations")
    if not isinstance(rules, list) or not rules:
        return []
    errs: list[FieldError] = []
    for index, rule in enumerate(rules):
        errs.extend(_static(as_dict(rule), node, f"{path}.x-kubernetes-validations[{index}]"))
    if errs or not compile_rules:
        return errs
    for index, rule in enumerate(rules):
        errs.extend(_compile(as_dict(rule), node, f"{path}.x-kubernetes-validations[{index}]",
                             uncorrelatable_path))
    return errs


def _static(rule: dict[str, Any], node: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    text = str(rule.get("rule") or "")
    message = rule.get("message")
    if not text.strip():
        errs.append(required(f"{path}.rule", "rule is not specified"))
    elif isinstance(message, str) and message and not message.strip():
        errs.append(invalid(f"{path}.message", message, "message must be non-empty if specified"))
    elif isinstance(message, str) and _NEWLINES.search(message.strip()):
        errs.append(invalid(f"{path}.message", message, "message must not contain line breaks"))
    elif _NEWLINES.search(text.strip()) and not str(message or "").strip():
        errs.append(required(f"{path}.message", "message must be specified if rule contains line breaks"))
    expression = rule.get("messageExpression")
    if isinstance(expression, str) and expression and not expression.strip():
        errs.append(required(f"{path}.messageExpression", "messageExpression must be non-empty if specified"))
    reason = rule.get("reason")
    if reason is not None and reason not in REASONS:
        errs.append(not_supported(f"{path}.reason", reason, list(REASONS)))
    field_path = rule.get("fieldPath")
    if isinstance(field_path, str) and field_path:
        if not field_path.strip():
            errs.append(invalid(f"{path}.fieldPath", field_path, "fieldPath must be non-empty if specified"))
        elif _NEWLINES.search(field_path):
            errs.append(invalid(f"{path}.fieldPath", field_path, "fieldPath must not contain line breaks"))
        elif not _field_path_valid(node, field_path):
            errs.append(invalid(f"{path}.fieldPath", field_path, "fieldPath must be a valid path"))
    return errs


def _field_path_valid(node: dict[str, Any], field_path: str) -> bool:
    """A path like `.spec.replicas`, `.ports[0]` or `['a.b']` naming a declared field."""
    relative = field_path if field_path.startswith((".", "[")) else f".{field_path}"
    if not _FIELD_PATH_RE.match(relative):
        return False
    current: Any = node
    for match in re.finditer(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\['([^']*)'\]|\[(\d+)\]", relative):
        name, quoted, index = match.groups()
        if index is not None:
            current = as_dict(current).get("items")
        else:
            field = name if name is not None else quoted
            properties = as_dict(as_dict(current).get("properties"))
            additional = as_dict(current).get("additionalProperties")
            current = properties.get(field, additional if isinstance(additional, dict) else None)
        if not isinstance(current, dict):
            return False
    return True


def _compile(rule: dict[str, Any], node: dict[str, Any], path: str,
             uncorrelatable_path: str | None) -> list[FieldError]:
    errs: list[FieldError] = []
    text = str(rule.get("rule") or "")
    program: CelProgram | None = None
    try:
        program = compile_rule(text, node)
    except CelResultTypeError as err:
        errs.append(invalid(f"{path}.rule", text, str(err)))
    except CelCompileError as err:
        errs.append(invalid(f"{path}.rule", text, f"compilation failed: {err}"))
    if program is not None and program.uses_old_self and uncorrelatable_path is not None:
        errs.append(invalid(f"{path}.rule", text, "oldSelf cannot be used on the uncorrelatable "
                            f"portion of the schema within {uncorrelatable_path}"))
    expression = rule.get("messageExpression")
    if isinstance(expression, str) and expression.strip():
        try:
            compile_rule(expression, node, result="string")
        except CelResultTypeError as err:
            errs.append(invalid(f"{path}.messageExpression", expression, str(err)))
        except CelCompileError as err:
            errs.append(invalid(f"{path}.messageExpression", expression,
                                f"messageExpression compilation failed: {err}"))
    return errs
