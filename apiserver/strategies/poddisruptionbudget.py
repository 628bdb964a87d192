"""PodDisruptionBudget: spec validation; status belongs to the disruption controller
and to the eviction subresource (both write it through `status`).

Kubernetes counterpart: pkg/registry/policy/poddisruptionbudget/strategy.go,
pkg/apis/policy/validation/validation.go (ValidatePodDisruptionBudgetSpec)
"""

from __future__ import annotations

import re
from typing import Any

from apiserver.strategy import Obj, Strategy
from tinykube.api.validation import FieldError, invalid, not_supported

_PERCENT = re.compile(r"^[0-9]+%$")
UNHEALTHY_POD_EVICTION_POLICIES = ["AlwaysAllow", "IfHealthyBudget"]


def validate_int_or_percent(value: Any, field: str) -> list[FieldError]:
    """A non-negative int, or a percentage between 0% and 100%."""
    if value is None:
        return []
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return [invalid(field, value, "must be an integer or percentage (e.g '5%')")]
    if isinstance(value, int):
        return [invalid(field, value, "must be greater than or equal to 0")] if value < 0 else []
    if not _PERCENT.match(value):
        return [invalid(field, value, "a valid percent string must be a numeric string followed "
                                      "by an ending '%' (e.g. '1%',  or '93%', regex used for "
                                      "validation is '[0-9]+%')")]
    if int(value[:-1]) > 100:
        return [invalid(field, value, "must not be greater than 100%")]
    return []


def validate_pdb_spec(spec: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        errs.append(invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set"))
    errs += validate_int_or_percent(spec.get("minAvailable"), "spec.minAvailable")
    errs += validate_int_or_percent(spec.get("maxUnavailable"), "spec.maxUnavailable")
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in UNHEALTHY_POD_EVICTION_POLICIES:
        errs.append(not_supported("spec.unhealthyPodEvictionPolicy", policy,
                                  UNHEALTHY_POD_EVICTION_POLICIES))
    return errs


class PodDisruptionBudgetStrategy(Strategy):
    def validate(self, obj: Obj) -> list[FieldError]:
        return super().validate(obj) + validate_pdb_spec(obj.get("spec") or {})

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return super().validate_update(new, old) + validate_pdb_spec(new.get("spec") or {})
