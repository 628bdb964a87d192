"""Taints and tolerations: does a pod's toleration match a node's taint?

Shared by the scheduler (TaintToleration filter) and the node lifecycle
controller (NoExecute eviction), which must agree on the answer.

Kubernetes counterpart: staging/src/k8s.io/api/core/v1/toleration.go (ToleratesTaint)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def tolerates_taint(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """Effect (empty = any effect), then key (empty key with Exists = any taint), then
    operator: Exists matches any value, Equal (the default) needs the same value."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return key != "" and (toleration.get("value") or "") == (taint.get("value") or "")
    return False
