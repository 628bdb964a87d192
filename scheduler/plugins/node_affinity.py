"""NodeAffinity: spec.nodeSelector and spec.affinity.nodeAffinity.

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

from typing import Any

from scheduler.framework import SUCCESS, CycleState, Status, default_normalize_score, unresolvable
from scheduler.types import NodeInfo, PodInfo

NAME = "NodeAffinity"
REASON = "node(s) didn't match Pod's node affinity/selector"


def _as_int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def requirement_matches(requirement: dict[str, Any], values_by_key: dict[str, str]) -> bool:
    """One NodeSelectorRequirement (In, NotIn, Exists, DoesNotExist, Gt, Lt)."""
    key, operator = requirement.get("key", ""), requirement.get("operator", "")
    values = requirement.get("values") or []
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


def term_matches(term: dict[str, Any], node: NodeInfo) -> bool:
    expressions = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not expressions and not fields:
        return False  # an empty term selects no node
    if not all(requirement_matches(r, node.labels) for r in expressions):
        return False
    node_fields = {"metadata.name": node.name}
    return all(requirement_matches(r, node_fields) for r in fields)


def node_matches_pod(pod: PodInfo, node: NodeInfo) -> bool:
    labels = node.labels
    for key, value in pod.node_selector.items():
        if labels.get(key) != value:
            return False
    if pod.required_node_affinity:
        return any(term_matches(term, node) for term in pod.required_node_affinity)
    return True


class NodeAffinity:
    name = NAME

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        if not pod.node_selector and not pod.required_node_affinity:
            return SUCCESS
        return SUCCESS if node_matches_pod(pod, node) else unresolvable(NAME, REASON)

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        return sum(int(term.get("weight") or 0) for term in pod.preferred_node_affinity
                   if term_matches(term.get("preference") or {}, node))

    def normalize_scores(self, state: CycleState, pod: PodInfo, scores: dict[str, int]) -> None:
        default_normalize_score(scores)
