"""The default plugin set ("profile"): which filters run, in which order, and the
weight of each score.

Filters run in upstream's order and stop at the first failure for a node, so a
node that is both tainted and full is reported as tainted, as in Kubernetes.
Weights are upstream's defaults: TaintToleration 3, NodeAffinity 2, spreading 2
(PodTopologySpread's weight), NodeResourcesFit 1, BalancedAllocation 1.

Kubernetes counterpart: pkg/scheduler/apis/config/v1/default_plugins.go
"""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.framework import FilterPlugin, WeightedScore
from scheduler.plugins.balanced_allocation import BalancedAllocation
from scheduler.plugins.least_allocated import LeastAllocated
from scheduler.plugins.node_affinity import NodeAffinity
from scheduler.plugins.node_name import NodeName
from scheduler.plugins.node_ports import NodePorts
from scheduler.plugins.node_resources_fit import NodeResourcesFit
from scheduler.plugins.node_unschedulable import NodeUnschedulable
from scheduler.plugins.selector_spread import SelectorSpread
from scheduler.plugins.taint_toleration import TaintToleration


@dataclass(frozen=True)
class Profile:
    scheduler_name: str
    filters: tuple[FilterPlugin, ...]
    scores: tuple[WeightedScore, ...]


def default_profile(scheduler_name: str = "default-scheduler") -> Profile:
    taints, affinity = TaintToleration(), NodeAffinity()
    return Profile(
        scheduler_name,
        filters=(NodeUnschedulable(), NodeName(), taints, affinity, NodePorts(), NodeResourcesFit()),
        scores=(WeightedScore(taints, 3), WeightedScore(affinity, 2), WeightedScore(SelectorSpread(), 2),
                WeightedScore(LeastAllocated(), 1), WeightedScore(BalancedAllocation(), 1)))
