"""NodeAffinity: spec.nodeSelector and spec.affinity.nodeAffinity.

PreFilter: gathers the pod's nodeSelector and required nodeSelectorTerms once into
the CycleState; a pod with neither returns Skip (its Filter does not run).

Filter: the node's labels must match every nodeSelector pair AND at least one of
the required nodeSelectorTerms (terms are ORed; inside a term, matchExpressions on
labels and matchFields on metadata.name are ANDed; an empty term matches nothing).

Score: the preferred terms the node matches, weighted.
    raw(node)   = sum of weight over preferredDuringScheduling terms matching the node
    score(node) = raw(node) * 100 // max_raw     (0 for all when no node matches any)

Kubernetes counterpart: pkg/scheduler/framework/plugins/nodeaffinity/node_affinity.go,
staging/src/k8s.io/component-helpers/scheduling/corev1/nodeaffinity/nodeaffinity.go
"""

from __future__ import annotations

from scheduler.cycle_state import CycleState
from scheduler.framework import (
    SUCCESS,
    Status,
    as_error,
    default_normalize_score,
    skip,
    unresolvable,
)
from scheduler.types import NodeInfo, PodInfo
from tinykube.api.core import NodeAffinity as NodeAffinitySpec
from tinykube.api.core import NodeSelectorTerm, PreferredSchedulingTerm
from tinykube.api.nodeaffinity import RequiredNodeAffinity, node_selector_term_matches

NAME = "NodeAffinity"
PRE_FILTER_STATE_KEY = "PreFilter" + NAME
REASON = "node(s) didn't match Pod's node affinity/selector"


def term_matches(term: NodeSelectorTerm, node: NodeInfo) -> bool:
    return node_selector_term_matches(term, node.labels, node.name)


def _node_affinity(pod: PodInfo) -> NodeAffinitySpec | None:
    affinity = pod.spec.affinity
    return affinity.node_affinity if affinity else None


def required_node_affinity(pod: PodInfo) -> RequiredNodeAffinity | None:
    """None when the pod constrains nothing."""
    required = RequiredNodeAffinity.from_pod_spec(pod.spec)
    return required if required.constrains else None


def preferred_terms(pod: PodInfo) -> list[PreferredSchedulingTerm]:
    node_affinity = _node_affinity(pod)
    return (node_affinity.preferred_during_scheduling_ignored_during_execution if node_affinity else None) or []


class NodeAffinity:
    name = NAME

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status:
        required = required_node_affinity(pod)
        if required is None:
            return skip(NAME)
        state.write(PRE_FILTER_STATE_KEY, required)
        return SUCCESS

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        required: RequiredNodeAffinity | None = state.read(PRE_FILTER_STATE_KEY)
        if required is None:
            return as_error(NAME, f"reading {PRE_FILTER_STATE_KEY!r} from cycleState: not found")
        return SUCCESS if required.matches(node.labels, node.name) else unresolvable(NAME, REASON)

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        return sum(term.weight for term in preferred_terms(pod) if term_matches(term.preference, node))

    def normalize_scores(self, state: CycleState, pod: PodInfo, scores: dict[str, int]) -> None:
        default_normalize_score(scores)
