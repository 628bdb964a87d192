"""Defaults and validation of a Job spec, shared by Jobs and CronJob jobTemplates.

Messages are kube-apiserver's (`spec.completions: Invalid value: -1: must be greater
than or equal to 0`). Job fields tinykube does not implement (per-index backoff,
success policies, pod replacement policy, managedBy) are refused with a 422 rather
than stored and ignored.

Kubernetes counterpart: pkg/apis/batch/v1/defaults.go (SetDefaults_Job),
pkg/apis/batch/validation/validation.go (validateJobSpec, validatePodFailurePolicy,
ValidateJobSpecUpdate)
"""

from __future__ import annotations

from typing import Any

from apiserver.strategies.podspec import default_pod_spec, validate_pod_spec
from tinykube.api.selectors import SelectorError, label_selector_from_dict
from tinykube.api.validation import (
    FieldError,
    duplicate,
    forbidden,
    invalid,
    is_qualified_name,
    not_supported,
    required,
)

COMPLETION_MODES = ["NonIndexed", "Indexed"]
JOB_RESTART_POLICIES = ["OnFailure", "Never"]
POD_FAILURE_POLICY_ACTIONS = ["Count", "FailIndex", "FailJob", "Ignore"]
ON_EXIT_CODES_OPERATORS = ["In", "NotIn"]
CONDITION_STATUSES = ["False", "True", "Unknown"]
MAX_PARALLELISM_FOR_INDEXED_JOB = 100000
MAX_COMPLETIONS_FOR_INDEXED_JOB = 100000
MAX_POD_FAILURE_POLICY_RULES = 20
MAX_EXIT_CODE_VALUES = 255
UNSUPPORTED_FIELDS = ("backoffLimitPerIndex", "maxFailedIndexes", "successPolicy",
                      "podReplacementPolicy", "managedBy")
IMMUTABLE_FIELDS = ("selector", "template", "completionMode", "podFailurePolicy")


def default_job_spec(spec: dict[str, Any]) -> None:
    """SetDefaults_Job (minus the fields tinykube refuses)."""
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("manualSelector", False)
    for rule in (spec.get("podFailurePolicy") or {}).get("rules") or []:
        for pattern in (rule.get("onPodConditions") or []) if isinstance(rule, dict) else []:
            if isinstance(pattern, dict):
                pattern.setdefault("status", "True")
    template_spec = (spec.get("template") or {}).get("spec")
    if isinstance(template_spec, dict):
        default_pod_spec(template_spec)


def _non_negative(spec: dict[str, Any], key: str, path: str) -> list[FieldError]:
    value = spec.get(key)
    if isinstance(value, int) and value < 0:
        return [invalid(f"{path}.{key}", value, "must be greater than or equal to 0")]
    return []


def validate_job_spec(spec: Any, path: str, selector_required: bool = True) -> list[FieldError]:
    if not isinstance(spec, dict):
        return [required(path)]
    errs: list[FieldError] = []
    for key in UNSUPPORTED_FIELDS:
        if spec.get(key) is not None:
            errs.append(forbidden(f"{path}.{key}", "not supported by tinykube"))
    for key in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit",
                "ttlSecondsAfterFinished"):
        errs += _non_negative(spec, key, path)
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    errs += _validate_selector(spec, labels, path, selector_required)
    errs += _validate_completion_mode(spec, path)
    template_spec = template.get("spec")
    if not template:
        errs.append(required(f"{path}.template"))
    else:
        errs += validate_pod_spec(template_spec, f"{path}.template.spec")
    policy = (template_spec or {}).get("restartPolicy") if isinstance(template_spec, dict) else None
    if policy not in JOB_RESTART_POLICIES:
        errs.append(not_supported(f"{path}.template.spec.restartPolicy", policy,
                                  JOB_RESTART_POLICIES))
    elif spec.get("podFailurePolicy") is not None and policy != "Never":
        errs.append(invalid(f"{path}.template.spec.restartPolicy", policy,
                            'only "Never" is supported when podFailurePolicy is specified'))
    if spec.get("podFailurePolicy") is not None:
        errs += _validate_pod_failure_policy(spec["podFailurePolicy"], template_spec or {},
                                             f"{path}.podFailurePolicy")
    return errs


def _validate_selector(spec: dict[str, Any], labels: dict[str, str], path: str,
                       selector_required: bool) -> list[FieldError]:
    selector = spec.get("selector")
    if selector is None:
        return [required(f"{path}.selector")] if selector_required else []
    if not selector_required:
        # A jobTemplate's selector is always generated when its Job is created.
        errs = [invalid(f"{path}.selector", selector, "`selector` will be auto-generated")]
        if spec.get("manualSelector"):
            errs.append(not_supported(f"{path}.manualSelector", True, ["nil", "false"]))
        return errs
    try:
        parsed = label_selector_from_dict(selector)
    except SelectorError as err:
        return [invalid(f"{path}.selector", selector, str(err))]
    if not parsed.matches(labels):
        return [invalid(f"{path}.template.metadata.labels", labels,
                        "`selector` does not match template `labels`")]
    return []


def _validate_completion_mode(spec: dict[str, Any], path: str) -> list[FieldError]:
    mode = spec.get("completionMode")
    if mode is None:
        return []
    if mode not in COMPLETION_MODES:
        return [not_supported(f"{path}.completionMode", mode, COMPLETION_MODES)]
    if mode != "Indexed":
        return []
    errs: list[FieldError] = []
    completions, parallelism = spec.get("completions"), spec.get("parallelism")
    if completions is None:
        errs.append(required(f"{path}.completions", "when completion mode is Indexed"))
    elif isinstance(completions, int) and completions > MAX_COMPLETIONS_FOR_INDEXED_JOB:
        errs.append(invalid(f"{path}.completions", completions,
                            f"must be less than or equal to {MAX_COMPLETIONS_FOR_INDEXED_JOB} "
                            "when completion mode is Indexed"))
    if isinstance(parallelism, int) and parallelism > MAX_PARALLELISM_FOR_INDEXED_JOB:
        errs.append(invalid(f"{path}.parallelism", parallelism,
                            f"must be less than or equal to {MAX_PARALLELISM_FOR_INDEXED_JOB} "
                            "when completion mode is Indexed"))
    return errs


def _validate_pod_failure_policy(policy: Any, pod_spec: dict[str, Any],
                                 path: str) -> list[FieldError]:
    rules = (policy or {}).get("rules") or [] if isinstance(policy, dict) else []
    if len(rules) > MAX_POD_FAILURE_POLICY_RULES:
        return [FieldError("FieldValueTooMany", f"{path}.rules",
                           f"Too many: {len(rules)}: must have at most "
                           f"{MAX_POD_FAILURE_POLICY_RULES} items")]
    names = {str(c.get("name")) for group in ("initContainers", "containers")
             for c in pod_spec.get(group) or [] if isinstance(c, dict)}
    errs: list[FieldError] = []
    for i, rule in enumerate(rules):
        errs += _validate_rule(rule if isinstance(rule, dict) else {}, names, f"{path}.rules[{i}]")
    return errs


def _validate_rule(rule: dict[str, Any], names: set[str], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    action = rule.get("action")
    if not action:
        errs.append(required(f"{path}.action", "valid values: "
                             + ", ".join(f'"{a}"' for a in POD_FAILURE_POLICY_ACTIONS)))
    elif action not in POD_FAILURE_POLICY_ACTIONS:
        errs.append(not_supported(f"{path}.action", action, POD_FAILURE_POLICY_ACTIONS))
    elif action == "FailIndex":
        errs.append(invalid(f"{path}.action", action, "requires the backoffLimitPerIndex to be set"))
    on_exit_codes, on_conditions = rule.get("onExitCodes"), rule.get("onPodConditions")
    if on_exit_codes is not None and on_conditions is not None:
        errs.append(FieldError("FieldValueInvalid", path, "Invalid value: specifying both "
                               "OnExitCodes and OnPodConditions is not supported"))
    elif on_exit_codes is None and on_conditions is None:
        errs.append(FieldError("FieldValueInvalid", path, "Invalid value: specifying one of "
                               "OnExitCodes and OnPodConditions is required"))
    if isinstance(on_exit_codes, dict):
        errs += _validate_on_exit_codes(on_exit_codes, names, f"{path}.onExitCodes")
    for j, pattern in enumerate(on_conditions or []):
        pattern_path = f"{path}.onPodConditions[{j}]"
        status = pattern.get("status") if isinstance(pattern, dict) else None
        if status not in CONDITION_STATUSES:
            errs.append(not_supported(f"{pattern_path}.status", status, CONDITION_STATUSES))
        condition_type = pattern.get("type") if isinstance(pattern, dict) else None
        if not condition_type:
            errs.append(required(f"{pattern_path}.type"))
        else:
            errs += [invalid(f"{pattern_path}.type", condition_type, m)
                     for m in is_qualified_name(str(condition_type))]
    return errs


def _validate_on_exit_codes(requirement: dict[str, Any], names: set[str],
                            path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    container_name = requirement.get("containerName")
    if container_name is not None and container_name not in names:
        errs.append(invalid(f"{path}.containerName", container_name, "must be one of the "
                            "container or initContainer names in the pod template"))
    operator = requirement.get("operator")
    if operator not in ON_EXIT_CODES_OPERATORS:
        errs.append(not_supported(f"{path}.operator", operator, ON_EXIT_CODES_OPERATORS))
    values = requirement.get("values") or []
    if not values:
        errs.append(invalid(f"{path}.values", values, "at least one value is required"))
    elif len(values) > MAX_EXIT_CODE_VALUES:
        errs.append(FieldError("FieldValueTooMany", f"{path}.values",
                               f"Too many: {len(values)}: must have at most "
                               f"{MAX_EXIT_CODE_VALUES} items"))
    seen: set[int] = set()
    previous: int | None = None
    for i, value in enumerate(values):
        if operator == "In" and value == 0:
            errs.append(invalid(f"{path}.values[{i}]", value, "must not be 0 for the In operator"))
        if value in seen:
            errs.append(duplicate(f"{path}.values[{i}]", value))
        if previous is not None and value < previous:
            errs.append(invalid(f"{path}.values[{i}]", value, "must be ordered"))
        seen.add(value)
        previous = value
    return errs


def validate_job_spec_update(new: dict[str, Any], old: dict[str, Any],
                             path: str) -> list[FieldError]:
    """ValidateJobSpecUpdate: what a Job may not change once created. Completions may
    change only for an Indexed Job that keeps completions == parallelism (elastic)."""
    errs = [invalid(f"{path}.{key}", new.get(key), "field is immutable")
            for key in IMMUTABLE_FIELDS if new.get(key) != old.get(key)]
    if new.get("completions") != old.get("completions"):
        elastic = (new.get("completionMode") == "Indexed"
                   and new.get("completions") == new.get("parallelism"))
        if not elastic:
            errs.append(invalid(f"{path}.completions", new.get("completions"),
                                "field is immutable"))
    return errs
