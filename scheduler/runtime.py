"""The framework runtime: one profile's plugins, sorted into extension points, and
the loops that run them.

A profile lists plugins once, in order, with a score weight (upstream's
"multiPoint" configuration); the runtime asks each plugin which extension points
it implements (`isinstance` against the protocols in `scheduler.framework`) and
keeps one ordered list per point. A new plugin (e.g. VolumeBinding with PreFilter,
Filter, Reserve and PreBind) is added to the profile and nothing here changes.

- PreFilter: every plugin runs; the first non-success, non-skip status ends the
  cycle. Skip puts the plugin in `state.skip_filter_plugins`.
- Filter: the first failure for a node wins (so a tainted, full node is reported
  as tainted).
- Score: sum over plugins of weight * normalized score.
- Reserve: stops at the first failure; the caller then runs Unreserve, which
  calls every Reserve plugin's `unreserve` in reverse order.
- PreBind: stops at the first failure. Bind: the first plugin not returning Skip
  decides.

Kubernetes counterpart: pkg/scheduler/framework/runtime/framework.go
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scheduler.cycle_state import CycleState
from scheduler.framework import (
    SUCCESS,
    BindPlugin,
    Code,
    FilterPlugin,
    Plugin,
    PreBindPlugin,
    PreFilterPlugin,
    ReservePlugin,
    ScorePlugin,
    Status,
)
from scheduler.types import NodeInfo, PodInfo


@dataclass(frozen=True)
class PluginEntry:
    """One plugin of a profile; `weight` counts only if it is a ScorePlugin."""

    plugin: Plugin
    weight: int = 1


class Framework:
    """Runs one profile's plugins at each extension point.

    - Plugin order is the profile's order at every point (Unreserve: reversed).
    - Holds no per-pod data: that lives in the CycleState the caller passes.
    """

    def __init__(self, scheduler_name: str, entries: Sequence[PluginEntry]) -> None:
        self.scheduler_name = scheduler_name
        plugins = [entry.plugin for entry in entries]
        self.pre_filter_plugins = [p for p in plugins if isinstance(p, PreFilterPlugin)]
        self.filter_plugins = [p for p in plugins if isinstance(p, FilterPlugin)]
        self.score_plugins = [(e.plugin, e.weight) for e in entries if isinstance(e.plugin, ScorePlugin)]
        self.reserve_plugins = [p for p in plugins if isinstance(p, ReservePlugin)]
        self.pre_bind_plugins = [p for p in plugins if isinstance(p, PreBindPlugin)]
        self.bind_plugins = [p for p in plugins if isinstance(p, BindPlugin)]

    # --- scheduling cycle ----------------------------------------------------------

    def run_pre_filter_plugins(self, state: CycleState, pod: PodInfo) -> Status:
        for plugin in self.pre_filter_plugins:
            status = plugin.pre_filter(state, pod)
            if status.code is Code.SKIP:
                state.skip_filter_plugins.add(plugin.name)
            elif status.code is not Code.SUCCESS:
                return status
        return SUCCESS

    def run_filter_plugins(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        skipped = state.skip_filter_plugins
        for plugin in self.filter_plugins:
            if skipped and plugin.name in skipped:
                continue
            status = plugin.filter(state, pod, node)
            if status.code is not Code.SUCCESS:
                return status
        return SUCCESS

    def run_score_plugins(self, state: CycleState, pod: PodInfo,
                          nodes: Sequence[NodeInfo]) -> dict[str, int]:
        """total(node) = sum over score plugins of weight * normalized_score(node)."""
        totals = dict.fromkeys((n.name for n in nodes), 0)
        for plugin, weight in self.score_plugins:
            scores = {node.name: plugin.score(state, pod, node) for node in nodes}
            plugin.normalize_scores(state, pod, scores)
            for name, score in scores.items():
                totals[name] += score * weight
        return totals

    def run_reserve_plugins_reserve(self, state: CycleState, pod: PodInfo, node_name: str) -> Status:
        for plugin in self.reserve_plugins:
            status = plugin.reserve(state, pod, node_name)
            if status.code is not Code.SUCCESS:
                return status
        return SUCCESS

    def run_reserve_plugins_unreserve(self, state: CycleState, pod: PodInfo, node_name: str) -> None:
        for plugin in reversed(self.reserve_plugins):
            plugin.unreserve(state, pod, node_name)

    # --- binding cycle ---------------------------------------------------------------

    async def run_pre_bind_plugins(self, state: CycleState, pod: PodInfo, node_name: str) -> Status:
        for plugin in self.pre_bind_plugins:
            status = await plugin.pre_bind(state, pod, node_name)
            if status.code is not Code.SUCCESS:
                return status
        return SUCCESS

    async def run_bind_plugins(self, state: CycleState, pod: PodInfo, node_name: str) -> Status:
        for plugin in self.bind_plugins:
            status = await plugin.bind(state, pod, node_name)
            if status.code is not Code.SKIP:
                return status
        return Status(Code.ERROR, ("no bind plugin bound the pod",))
