"""One pod's placement decision: filter every node, score the survivors, pick the best.

    PreFilter once                                            (may reject every node)
    feasible = [n for n in nodes if every filter passes]      (first failure wins)
    total(n) = sum over score plugins of weight * normalized_score(n)
    host     = argmax total, ties broken at random

When no node is feasible the result is a `FitError`, whose message is exactly
what `kubectl describe pod` shows under FailedScheduling: the number of nodes
per reason, sorted, then what preemption would achieve. This scheduler does not
preempt; the preemption sentence says what upstream's DefaultPreemption reports
when no lower-priority victims exist ("Preemption is not helpful for scheduling"
for nodes a filter rejected as unresolvable, "No preemption victims found for
incoming pod" for the others).

Pure computation on the cache and the CycleState: no I/O and no awaits, so the cache cannot change
under a decision.

Kubernetes counterpart: pkg/scheduler/schedule_one.go (schedulePod, findNodesThatFitPod,
prioritizeNodes, selectHost), pkg/scheduler/framework/types.go (FitError.Error)
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from scheduler.cycle_state import CycleState
from scheduler.framework import Code, Status
from scheduler.runtime import Framework
from scheduler.types import NodeInfo, PodInfo

NO_NODE_AVAILABLE_MSG = "0/{} nodes are available"
NO_NODES_REGISTERED_MSG = "no nodes available to schedule pods"
PREEMPTION_NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_PREEMPTION_VICTIMS = "No preemption victims found for incoming pod"


@dataclass
class ScheduleResult:
    suggested_host: str
    evaluated_nodes: int
    feasible_nodes: int


class SchedulingError(Exception):
    """A plugin failed (an ERROR status, not a "does not fit"): retried with backoff."""


@dataclass
class FitError(Exception):
    """No node fits; `node_to_status` says why, per node."""

    pod: PodInfo
    num_all_nodes: int
    node_to_status: dict[str, Status] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message()

    def message(self) -> str:
        if self.num_all_nodes == 0:
            return NO_NODES_REGISTERED_MSG
        header = NO_NODE_AVAILABLE_MSG.format(self.num_all_nodes)
        reasons: Counter[str] = Counter()
        for status in self.node_to_status.values():
            reasons.update(status.reasons)
        histogram = sorted(f"{count} {reason}" for reason, count in reasons.items())
        text = f"{header}: {', '.join(histogram)}." if histogram else f"{header}:"
        return f"{text} preemption: {self.preemption_message()}"

    def preemption_message(self) -> str:
        outcome: Counter[str] = Counter(
            PREEMPTION_NOT_HELPFUL if status.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
            else NO_PREEMPTION_VICTIMS for status in self.node_to_status.values())
        histogram = sorted(f"{count} {reason}" for reason, count in outcome.items())
        return f"{NO_NODE_AVAILABLE_MSG.format(self.num_all_nodes)}: {', '.join(histogram)}."


def find_nodes_that_fit(fwk: Framework, state: CycleState, pod: PodInfo,
                        nodes: Sequence[NodeInfo]) -> tuple[list[NodeInfo], dict[str, Status]]:
    """PreFilter once, then Filter every node. A PreFilter rejection rejects every
    node with its status; a PreFilter error raises SchedulingError."""
    status = fwk.run_pre_filter_plugins(state, pod)
    if status.is_rejected():
        return [], {node.name: status for node in nodes}
    if not status.is_success():
        raise SchedulingError(f"running PreFilter plugin {status.plugin!r}: {status.message()}")
    feasible: list[NodeInfo] = []
    rejected: dict[str, Status] = {}
    for node in nodes:
        status = fwk.run_filter_plugins(state, pod, node)
        if status.code is Code.SUCCESS:
            feasible.append(node)
        elif status.is_rejected():
            rejected[node.name] = status
        else:
            raise SchedulingError(f"running Filter plugin {status.plugin!r}: {status.message()}")
    return feasible, rejected


def select_host(totals: dict[str, int], rng: Callable[[], float] = random.random) -> str:
    """The highest total; among equal totals each is picked with equal probability
    (reservoir sampling of size one, as upstream)."""
    best, best_score, ties = "", -1, 0
    for name, score in totals.items():
        if score > best_score:
            best, best_score, ties = name, score, 1
        elif score == best_score:
            ties += 1
            if rng() * ties < 1:
                best = name
    return best


def schedule_pod(fwk: Framework, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo],
                 rng: Callable[[], float] = random.random) -> ScheduleResult:
    """The node for `pod`, or raise FitError (no node fits) or SchedulingError."""
    if not nodes:
        raise FitError(pod, 0)
    feasible, rejected = find_nodes_that_fit(fwk, state, pod, nodes)
    if not feasible:
        raise FitError(pod, len(nodes), rejected)
    if len(feasible) == 1:
        return ScheduleResult(feasible[0].name, len(nodes), 1)
    totals = fwk.run_score_plugins(state, pod, feasible)
    return ScheduleResult(select_host(totals, rng), len(nodes), len(feasible))
