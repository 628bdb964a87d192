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

from dataclasses import dataclass

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
from tinykube.api.core import NodeSelectorRequirement, NodeSelectorTerm, PreferredSchedulingTerm

NAME = "NodeAffinity"
PRE_FILTER_STATE_KEY = "PreFilter" + NAME
REASON = "node(s) didn't match Pod's node affinity/selector"


def _as_int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def requirement_matches(requirement: NodeSelectorRequirement, values_by_key: dict[str, str]) -> bool:
    """One NodeSelectorRequirement (In, NotIn, Exists, DoesNotExist, Gt, Lt)."""
    key, operator, values = requirement.key, requirement.operator, requirement.values or []
    present, value = key in values_by_key, values_by_key.get(key)
    if operator == "In":
        return present and value in values
    if operator == "NotIn":
        return not present or value not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and len(values) == 1:
        have, want = _as_int(value), _as_int(values[0])
        if have is None or want is None:
            return False
        return have > want if operator == "Gt" else have < want
    return False


def term_matches(term: NodeSelectorTerm, node: NodeInfo) -> bool:
    expressions, fields = term.match_expressions or [], term.match_fields or []
    if not expressions and not fields:
        return False  # an empty term selects no node
    if not all(requirement_matches(r, node.labels) for r in expressions):
        return False
    node_fields = {"metadata.name": node.name}
    return all(requirement_matches(r, node_fields) for r in fields)


@dataclass(frozen=True)
class RequiredNodeAffinity:
    """What a node must match: every nodeSelector pair and (if any) one of the terms."""

    node_selector: dict[str, str]
    terms: list[NodeSelectorTerm]

    def match(self, node: NodeInfo) -> bool:
        labels = node.labels
        if any(labels.get(key) != value for key, value in self.node_selector.items()):
            return False
        return not self.terms or any(term_matches(term, node) for term in self.terms)


def _node_affinity(pod: PodInfo) -> NodeAffinitySpec | None:
    affinity = pod.spec.affinity
    return affinity.node_affinity if affinity else None


def required_node_affinity(pod: PodInfo) -> RequiredNodeAffinity | None:
    """None when the pod constrains nothing."""
    node_affinity = _node_affinity(pod)
    required = node_affinity.required_during_scheduling_ignored_during_execution if node_affinity else None
    terms = (required.node_selector_terms if required else None) or []
    selector = pod.spec.node_selector or {}
    return RequiredNodeAffinity(selector, terms) if selector or terms else None


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
        return SUCCESS if required.match(node) else unresolvable(NAME, REASON)

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        return sum(term.weight for term in preferred_terms(pod) if term_matches(term.preference, node))

    def normalize_scores(self, state: CycleState, pod: PodInfo, scores: dict[str, int]) -> None:
        default_normalize_score(scores)
