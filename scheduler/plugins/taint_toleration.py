"""TaintToleration: taints repel pods that do not tolerate them.

Filter: a NoSchedule or NoExecute taint the pod does not tolerate rules the node
out; the reason names the first such taint, as upstream does
("node(s) had untolerated taint {key: value}").

Score: nodes with fewer untolerated PreferNoSchedule taints are better.
    raw(node)   = number of PreferNoSchedule taints the pod does not tolerate
    score(node) = 100 - raw(node) * 100 // max_raw      (100 for all when max_raw = 0)
Only the pod's tolerations whose effect is empty or PreferNoSchedule count here.

Kubernetes counterpart: pkg/scheduler/framework/plugins/tainttoleration/taint_toleration.go,
staging/src/k8s.io/api/core/v1/toleration.go (ToleratesTaint)
"""

from __future__ import annotations

from scheduler.cycle_state import CycleState
from scheduler.framework import SUCCESS, Status, default_normalize_score, unresolvable
from scheduler.types import NodeInfo, PodInfo
from tinykube.api.nodeaffinity import find_matching_untolerated_taint

NAME = "TaintToleration"


class TaintToleration:
    name = NAME

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        if not node.taints:
            return SUCCESS
        taint = find_matching_untolerated_taint(node.taints, pod.tolerations, ("NoSchedule", "NoExecute"))
        if taint is None:
            return SUCCESS
        return unresolvable(NAME, f"node(s) had untolerated taint {{{taint.key}: {taint.value or ''}}}")

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        if not node.taints:
            return 0
        tolerations = [t for t in pod.tolerations if (t.effect or "PreferNoSchedule") == "PreferNoSchedule"]
        return sum(1 for taint in node.taints if taint.effect == "PreferNoSchedule"
                   and not any(t.tolerates_taint(taint) for t in tolerations))

    def normalize_scores(self, state: CycleState, pod: PodInfo, scores: dict[str, int]) -> None:
        default_normalize_score(scores, reverse=True)
