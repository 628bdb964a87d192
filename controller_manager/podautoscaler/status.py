"""The HPA's status: conditions as upstream sets them, metric statuses, quantities.

Kubernetes counterpart: pkg/controller/podautoscaler/horizontal.go (setCondition,
setStatus, updateStatusIfNeeded), staging/src/k8s.io/apimachinery/pkg/api/resource
(NewMilliQuantity's canonical DecimalSI form)
"""

from __future__ import annotations

from tinykube.api.other import (
    HorizontalPodAutoscaler, HorizontalPodAutoscalerCondition, HorizontalPodAutoscalerStatus,
)

ABLE_TO_SCALE = "AbleToScale"
SCALING_ACTIVE = "ScalingActive"
SCALING_LIMITED = "ScalingLimited"

_DECIMAL_SUFFIXES = ("", "k", "M", "G", "T", "P", "E")


def milli_quantity(milli: int) -> str:
    """A milli-value in Kubernetes' canonical DecimalSI form: 250 → "250m", 2000 → "2", 3e9 → "3M"."""
    if milli % 1000:
        return f"{milli}m"
    value, index = milli // 1000, 0
    while value and value % 1000 == 0 and index < len(_DECIMAL_SUFFIXES) - 1:
        value, index = value // 1000, index + 1
    return f"{value}{_DECIMAL_SUFFIXES[index]}"


def status_of(hpa: HorizontalPodAutoscaler) -> HorizontalPodAutoscalerStatus:
    if hpa.status is None:
        hpa.status = HorizontalPodAutoscalerStatus(desired_replicas=0)
    return hpa.status


def set_condition(hpa: HorizontalPodAutoscaler, condition_type: str, status: str, reason: str, message: str,
                  now: str) -> None:
    """Add or update one condition; lastTransitionTime moves only when the status changes."""
    current = status_of(hpa)
    conditions = list(current.conditions or [])
    existing = next((c for c in conditions if c.type == condition_type), None)
    if existing is None:
        existing = HorizontalPodAutoscalerCondition(type=condition_type, status=status)
        conditions.append(existing)
        existing.last_transition_time = now
    elif existing.status != status:
        existing.last_transition_time = now
    existing.status, existing.reason, existing.message = status, reason, message
    current.conditions = conditions


def condition_of(hpa: HorizontalPodAutoscaler, condition_type: str) -> HorizontalPodAutoscalerCondition | None:
    return next((c for c in (hpa.status.conditions or []) if c.type == condition_type), None) \
        if hpa.status else None
