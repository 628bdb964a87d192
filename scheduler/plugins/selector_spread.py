"""SelectorSpread: spread the pods of one controller (ReplicaSet, StatefulSet, ...)
across nodes, so losing a node loses as few replicas as possible.

    raw(node)   = pods on the node with the same controller owner uid as this pod
    score(node) = (max_raw - raw(node)) * 100 // max_raw     (100 for all when max_raw = 0)
A pod without a controller scores every node the same.

Upstream replaced SelectorSpread by PodTopologySpread's system default constraint
(topologyKey kubernetes.io/hostname, ScheduleAnyway); for a single zone the effect
is this plugin's: fewer siblings on a node is better. Siblings are found by the
controller's ownerReference, not by matching Service/ReplicaSet selectors, and
zones are not considered.

Kubernetes counterpart: pkg/scheduler/framework/plugins/selectorspread/selector_spread.go
(removed in 1.27), pkg/scheduler/framework/plugins/podtopologyspread/scoring.go
"""

from __future__ import annotations

from scheduler.cycle_state import CycleState
from scheduler.framework import MAX_NODE_SCORE
from scheduler.types import NodeInfo, PodInfo

NAME = "SelectorSpread"


class SelectorSpread:
    name = NAME

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        return node.pods_by_owner.get(pod.owner_uid, 0) if pod.owner_uid else 0

    def normalize_scores(self, state: CycleState, pod: PodInfo, scores: dict[str, int]) -> None:
        highest = max(scores.values(), default=0)
        for name, raw in scores.items():
            scores[name] = (highest - raw) * MAX_NODE_SCORE // highest if highest else MAX_NODE_SCORE
