"""The scheduling framework: the seams plugins plug into and the status they return.

A plugin is a small object with a `name` and one job:
- a **filter** answers "can this pod run on this node?" with a `Status`;
- a **score** answers "how good is this node?" with an integer in [0, 100], and may
  `normalize_scores` across all feasible nodes once every node has been scored.

Plugins never raise for an expected outcome: "does not fit" is a Status with
reasons (they become the "0/3 nodes are available: ..." message). `CycleState` is a
scratch dict shared by the plugins during one pod's scheduling cycle.

Kubernetes counterpart: pkg/scheduler/framework/interface.go, .../framework/cycle_state.go
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Protocol, runtime_checkable

from scheduler.types import NodeInfo, PodInfo

MAX_NODE_SCORE = 100
MIN_NODE_SCORE = 0


class Code(IntEnum):
    SUCCESS = 0
    ERROR = 1
    UNSCHEDULABLE = 2  # might fit after preemption or a cluster change (e.g. Insufficient cpu)
    UNSCHEDULABLE_AND_UNRESOLVABLE = 3  # preemption cannot help (e.g. a taint, a selector)
    SKIP = 4


@dataclass(frozen=True)
class Status:
    """The outcome of one plugin call. `reasons` are short, user-facing phrases."""

    code: Code = Code.SUCCESS
    reasons: tuple[str, ...] = ()
    plugin: str = ""

    def is_success(self) -> bool:
        return self.code is Code.SUCCESS

    def is_rejected(self) -> bool:
        return self.code in (Code.UNSCHEDULABLE, Code.UNSCHEDULABLE_AND_UNRESOLVABLE)

    def message(self) -> str:
        return ", ".join(self.reasons)


SUCCESS = Status()


def unschedulable(plugin: str, *reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE, reasons, plugin)


def unresolvable(plugin: str, *reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, reasons, plugin)


@dataclass
class CycleState:
    """Per-cycle scratch space, keyed by plugin name. Discarded after the cycle."""

    data: dict[str, Any] = field(default_factory=dict)

    def read(self, key: str) -> Any:
        return self.data.get(key)

    def write(self, key: str, value: Any) -> None:
        self.data[key] = value


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


@dataclass(frozen=True)
class WeightedScore:
    plugin: ScorePlugin
    weight: int
