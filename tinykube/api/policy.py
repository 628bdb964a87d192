"""policy/v1: PodDisruptionBudget and the Eviction a client POSTs to pods/eviction.

A PodDisruptionBudget limits voluntary disruptions (evictions) of the pods its
selector matches: `minAvailable` or `maxUnavailable` (an int or a percentage). The
disruption controller writes its status; the API server's eviction subresource reads
`disruptionsAllowed` and decrements it, recording the pod in `disruptedPods`.

Kubernetes counterpart: staging/src/k8s.io/api/policy/v1/types.go
"""

from __future__ import annotations

from pydantic import Field

from tinykube.api.meta import Condition, DeleteOptions, IntOrString, KubeModel, KubeObject, LabelSelector

# The condition the disruption controller keeps on every budget, and its reasons.
DISRUPTION_ALLOWED_CONDITION = "DisruptionAllowed"
SYNC_FAILED_REASON = "SyncFailed"
SUFFICIENT_PODS_REASON = "SufficientPods"
INSUFFICIENT_PODS_REASON = "InsufficientPods"


class PodDisruptionBudgetSpec(KubeModel):
    """At most one of min_available and max_unavailable; a None selector matches nothing."""

    min_available: IntOrString | None = None
    selector: LabelSelector | None = None
    max_unavailable: IntOrString | None = None
    unhealthy_pod_eviction_policy: str | None = None


class PodDisruptionBudgetCondition(Condition):
    observed_generation: int | None = None


class PodDisruptionBudgetStatus(KubeModel):
    observed_generation: int | None = None
    disrupted_pods: dict[str, str] | None = None
    disruptions_allowed: int = 0
    current_healthy: int = 0
    desired_healthy: int = 0
    expected_pods: int = 0
    conditions: list[PodDisruptionBudgetCondition] | None = None


class PodDisruptionBudget(KubeObject):
    api_version: str = "policy/v1"
    kind: str = "PodDisruptionBudget"
    spec: PodDisruptionBudgetSpec = Field(default_factory=PodDisruptionBudgetSpec)
    status: PodDisruptionBudgetStatus | None = None


class Eviction(KubeObject):
    """metadata names the pod; delete_options are used for its deletion."""

    api_version: str = "policy/v1"
    kind: str = "Eviction"
    delete_options: DeleteOptions | None = None
