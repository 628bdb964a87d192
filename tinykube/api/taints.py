"""Taints and tolerations: does a pod's toleration match a node's taint?

The rule itself is `Toleration.tolerates_taint` (tinykube.api.core), which the
scheduler (TaintToleration, NodeUnschedulable) calls on its typed objects. This
wrapper serves callers that still hold wire dicts (the node lifecycle controller's
NoExecute eviction), so both agree on the answer.

Kubernetes counterpart: staging/src/k8s.io/api/core/v1/toleration.go (ToleratesTaint)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tinykube.api.core import Taint, Toleration


def tolerates_taint(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """`Toleration.tolerates_taint` on wire dicts."""
    return Toleration.model_validate(toleration).tolerates_taint(Taint.model_validate(taint))
