"""Score plugins, one table each: raw scores per node, then normalized to [0, 100]."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.cycle_state import CycleState
from scheduler.plugins.balanced_allocation import BalancedAllocation
from scheduler.plugins.least_allocated import LeastAllocated
from scheduler.plugins.node_affinity import NodeAffinity
from scheduler.plugins.selector_spread import SelectorSpread
from scheduler.plugins.taint_toleration import TaintToleration
from scheduler.types import NodeInfo, PodInfo
from tests.unit.scheduler.builders import make_node, make_pod, node_info
from tinykube.api.core import Node, Pod

Obj = dict[str, Any]


def scores(plugin: Any, pod: Pod, nodes: list[NodeInfo]) -> dict[str, int]:
    info, state = PodInfo(pod), CycleState()
    result = {node.name: plugin.score(state, info, node) for node in nodes}
    plugin.normalize_scores(state, info, result)
    return result


@pytest.mark.parametrize(("pod", "node", "existing", "expected"), [
    # cpu (4000-1000)*100//4000 = 75, memory (8Gi-2Gi)*100//8Gi = 75 → 75
    (make_pod(cpu="1", memory="2Gi"), make_node(cpu="4", memory="8Gi"), [], 75),
    # cpu 100, memory 50 → 75
    (make_pod(cpu="0", memory="4Gi"), make_node(cpu="4", memory="8Gi"), [], 75),
    # 2 cpu already requested: cpu (4000-3000)*100//4000 = 25; memory explicitly 0 → 100; → 62
    (make_pod(cpu="1", memory="0"), make_node(cpu="4", memory="8Gi"), [make_pod("a", cpu="2", memory="0")], 62),
    # no requests: non-zero defaults 100m + 200Mi → cpu 97, memory 97
    (make_pod(), make_node(cpu="4", memory="8Gi"), [], 97),
    # over capacity: cpu scores 0; memory (8Gi-200Mi default)*100//8Gi = 97 → 48
    (make_pod(cpu="8"), make_node(cpu="4", memory="8Gi"), [], 48),
])
def test_least_allocated(pod: Pod, node: Node, existing: list[Pod], expected: int) -> None:
    assert scores(LeastAllocated(), pod, [node_info(node, *existing)]) == {"n1": expected}


@pytest.mark.parametrize(("pod", "node", "expected"), [
    (make_pod(cpu="2", memory="4Gi"), make_node(cpu="4", memory="8Gi"), 100),  # 50% and 50%
    (make_pod(cpu="4", memory="0"), make_node(cpu="4", memory="8Gi"), 50),  # 100% vs 0%: std 0.5
    (make_pod(cpu="1", memory="4Gi"), make_node(cpu="4", memory="8Gi"), 87),  # 25% vs 50%: std .125
    (make_pod(), make_node(), 0),  # requests nothing: not scored
])
def test_balanced_allocation(pod: Pod, node: Node, expected: int) -> None:
    assert scores(BalancedAllocation(), pod, [node_info(node)]) == {"n1": expected}


def preferred(*weighted: tuple[int, Obj]) -> Obj:
    return {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": w, "preference": {"matchExpressions": [e]}} for w, e in weighted]}}


SSD = {"key": "disk", "operator": "In", "values": ["ssd"]}
FAST = {"key": "net", "operator": "In", "values": ["fast"]}


@pytest.mark.parametrize(("affinity", "expected"), [
    (None, {"a": 0, "b": 0, "c": 0}),
    (preferred((10, SSD)), {"a": 100, "b": 0, "c": 100}),
    # raw a=10+30=40, b=30, c=10 → *100//40
    (preferred((10, SSD), (30, FAST)), {"a": 100, "b": 75, "c": 25}),
])
def test_node_affinity_score(affinity: Obj | None, expected: dict[str, int]) -> None:
    nodes = [node_info(make_node("a", labels={"disk": "ssd", "net": "fast"})),
             node_info(make_node("b", labels={"net": "fast"})), node_info(make_node("c", labels={"disk": "ssd"}))]
    assert scores(NodeAffinity(), make_pod(affinity=affinity), nodes) == expected


SPOT = {"key": "spot", "value": "yes", "effect": "PreferNoSchedule"}
OLD = {"key": "old", "effect": "PreferNoSchedule"}


@pytest.mark.parametrize(("tolerations", "expected"), [
    (None, {"clean": 100, "spot": 50, "spot-old": 0}),
    ([{"key": "spot", "operator": "Exists", "effect": "PreferNoSchedule"}], {"clean": 100, "spot": 100, "spot-old": 0}),
    ([{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}], {"clean": 100, "spot": 50, "spot-old": 0}),
    ([{"operator": "Exists"}], {"clean": 100, "spot": 100, "spot-old": 100}),
])
def test_taint_toleration_score(tolerations: list[Obj] | None, expected: dict[str, int]) -> None:
    nodes = [node_info(make_node("clean")), node_info(make_node("spot", taints=[SPOT])),
             node_info(make_node("spot-old", taints=[SPOT, OLD]))]
    assert scores(TaintToleration(), make_pod(tolerations=tolerations), nodes) == expected


@pytest.mark.parametrize(("owner", "expected"), [
    ("rs-1", {"a": 0, "b": 50, "c": 100}),  # siblings a=2, b=1, c=0 → (2-n)*100//2
    ("rs-2", {"a": 100, "b": 100, "c": 0}),  # one sibling on c
    (None, {"a": 100, "b": 100, "c": 100}),  # no controller: all equal
])
def test_selector_spread(owner: str | None, expected: dict[str, int]) -> None:
    nodes = [node_info(make_node("a"), make_pod("x1", owner_uid="rs-1"), make_pod("x2", owner_uid="rs-1")),
             node_info(make_node("b"), make_pod("x3", owner_uid="rs-1")),
             node_info(make_node("c"), make_pod("y1", owner_uid="rs-2"))]
    assert scores(SelectorSpread(), make_pod(owner_uid=owner), nodes) == expected
