"""CRD status conditions on the wire form (the API server works on dicts).

`set_condition` keeps lastTransitionTime when the status does not change, as
upstream's apiextensions helpers SetCRDCondition do.

Kubernetes counterpart: staging/src/k8s.io/apiextensions-apiserver/pkg/apihelpers/helpers.go
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def get_condition(obj: dict[str, Any], condition_type: str) -> dict[str, Any] | None:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == condition_type:
            return condition
    return None


def is_condition_true(obj: dict[str, Any], condition_type: str) -> bool:
    condition = get_condition(obj, condition_type)
    return condition is not None and condition.get("status") == "True"


def set_condition(obj: dict[str, Any], condition_type: str, status: str, reason: str,
                  message: str, now: str | None = None) -> None:
    """Set (or replace) one condition in obj's status, in place."""
    conditions = obj.setdefault("status", {}).setdefault("conditions", [])
    old = get_condition(obj, condition_type)
    transition = now or _now()
    if old is not None and old.get("status") == status and old.get("lastTransitionTime"):
        transition = old["lastTransitionTime"]
    new = {"type": condition_type, "status": status, "lastTransitionTime": transition,
           "reason": reason, "message": message}
    if old is None:
        conditions.append(new)
    else:
        conditions[conditions.index(old)] = new
