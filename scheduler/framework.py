"""The scheduling framework's interface: the extension points plugins implement and
the `Status` they return.

One pod goes through the points in this order (the framework runtime,
`scheduler.runtime.Framework`, calls them):

    scheduling cycle (one pod at a time, no awaits):
        PreFilter(pod)            once: compute per-pod data into CycleState, or reject
        Filter(pod, node)         per node: can the pod run there?
        Score(pod, node)          per feasible node: how good is it? then normalize_scores
        Reserve(pod, node)        the node is chosen: claim in-memory state for the pod
    binding cycle (a task, many in flight):
        PreBind(pod, node)        API work the binding needs first (e.g. bind volumes)
        Bind(pod, node)           the first Bind plugin not returning Skip binds the pod
    on any failure after Reserve: Unreserve(pod, node) of every Reserve plugin, in
    reverse order, then the pod is forgotten by the cache and requeued.

A plugin is a small object with a `name` that implements one or more of these
protocols. Plugins never raise for an expected outcome: "does not fit" is a Status
with reasons (they become the "0/3 nodes are available: ..." message); an API
failure is an ERROR status.

Kubernetes counterpart: pkg/scheduler/framework/interface.go
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol, runtime_checkable

from scheduler.cycle_state import CycleState
from scheduler.types import NodeInfo, PodInfo

MAX_NODE_SCORE = 100
MIN_NODE_SCORE = 0


class Code(IntEnum):
    SUCCESS = 0
    ERROR = 1
    UNSCHEDULABLE = 2  # might fit after preemption or a cluster change (e.g. Insufficient cpu)
    UNSCHEDULABLE_AND_UNRESOLVABLE = 3  # preemption cannot help (e.g. a taint, a selector)
    SKIP = 4  # PreFilter: skip my Filter for this pod; Bind: not mine to bind


@dataclass(frozen=True)
class Status:
    """The outcome of one plugin call. `reasons` are short, user-facing phrases."""

    code: Code = Code.SUCCESS
    reasons: tuple[str, ...] = ()
    plugin: str = ""

    def is_success(self) -> bool:
        return self.code is Code.SUCCESS

    def is_skip(self) -> bool:
        return self.code is Code.SKIP

    def is_rejected(self) -> bool:
        return self.code in (Code.UNSCHEDULABLE, Code.UNSCHEDULABLE_AND_UNRESOLVABLE)

    def message(self) -> str:
        return ", ".join(self.reasons)


SUCCESS = Status()


def unschedulable(plugin: str, *reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE, reasons, plugin)


def unresolvable(plugin: str, *reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, reasons, plugin)


def skip(plugin: str) -> Status:
    return Status(Code.SKIP, (), plugin)


def as_error(plugin: str, err: Exception | str) -> Status:
    return Status(Code.ERROR, (str(err),), plugin)


class Plugin(Protocol):
    name: str


@runtime_checkable
class PreFilterPlugin(Protocol):
    name: str

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status:
        """Once per cycle, before any Filter. Skip: this plugin's Filter is not run."""
        ...


@runtime_checkable
class FilterPlugin(Protocol):
    name: str

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status: ...


@runtime_checkable
class ScorePlugin(Protocol):
    name: str

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int: ...

    def normalize_scores(self, state: CycleState, pod: PodInfo, scores: dict[str, int]) -> None:
        """Rescale `scores` (node name → raw score) in place to [0, MAX_NODE_SCORE]."""
        ...


@runtime_checkable
class ReservePlugin(Protocol):
    """Reserve claims in-memory state for the chosen node; Unreserve gives it back
    and must be idempotent (it also runs for a Reserve that failed or never ran)."""

    name: str

    def reserve(self, state: CycleState, pod: PodInfo, node_name: str) -> Status: ...

    def unreserve(self, state: CycleState, pod: PodInfo, node_name: str) -> None: ...


@runtime_checkable
class PreBindPlugin(Protocol):
    name: str

    async def pre_bind(self, state: CycleState, pod: PodInfo, node_name: str) -> Status: ...


@runtime_checkable
class BindPlugin(Protocol):
    name: str

    async def bind(self, state: CycleState, pod: PodInfo, node_name: str) -> Status:
        """Bind the pod, or Skip to leave it to the next Bind plugin."""
        ...


def default_normalize_score(scores: dict[str, int], reverse: bool = False) -> None:
    """Scale so the highest raw score becomes 100: score * 100 // max (then 100 - that,
    when `reverse`: fewer is better). All zero: 0 each, or 100 each when reversed."""
    highest = max(scores.values(), default=0)
    for name, raw in scores.items():
        scaled = raw * MAX_NODE_SCORE // highest if highest else 0
        scores[name] = MAX_NODE_SCORE - scaled if reverse else scaled


class NoNormalize:
    """Mixin for score plugins whose raw score already lies in [0, 100]."""

    def normalize_scores(self, state: CycleState, pod: PodInfo, scores: dict[str, int]) -> None:
        return None
