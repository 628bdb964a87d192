"""Filter plugins, one table each: (pod, node) → fits, or the reason kubectl shows."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.cycle_state import CycleState
from scheduler.framework import Code, PreFilterPlugin
from scheduler.plugins.node_affinity import NodeAffinity
from scheduler.plugins.node_name import NodeName
from scheduler.plugins.node_ports import NodePorts
from scheduler.plugins.node_resources_fit import NodeResourcesFit
from scheduler.plugins.node_unschedulable import NodeUnschedulable
from scheduler.plugins.taint_toleration import TaintToleration
from scheduler.types import PodInfo
from tests.unit.scheduler.builders import make_node, make_pod, node_info, pod_dict
from tinykube.api.core import Node, Pod

Obj = dict[str, Any]
FITS = None


def run_filter(plugin: Any, pod: Pod, node: Node, *existing: Pod) -> tuple[Code, tuple[str, ...]]:
    """PreFilter (when the plugin has one; Skip means its Filter passes), then Filter."""
    state, info = CycleState(), PodInfo(pod)
    if isinstance(plugin, PreFilterPlugin):
        status = plugin.pre_filter(state, info)
        if status.is_skip():
            return Code.SUCCESS, ()
        assert status.is_success()
    status = plugin.filter(state, info, node_info(node, *existing))
    return status.code, status.reasons


UNSCHEDULABLE_TOLERATION = {"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                            "effect": "NoSchedule"}


@pytest.mark.parametrize(("pod", "node", "reason"), [
    (make_pod(), make_node(), FITS),
    (make_pod(), make_node(unschedulable=True), "node(s) were unschedulable"),
    (make_pod(tolerations=[UNSCHEDULABLE_TOLERATION]), make_node(unschedulable=True), FITS),
])
def test_node_unschedulable(pod: Pod, node: Node, reason: str | None) -> None:
    code, reasons = run_filter(NodeUnschedulable(), pod, node)
    assert reasons == ((reason,) if reason else ())
    assert code is (Code.UNSCHEDULABLE_AND_UNRESOLVABLE if reason else Code.SUCCESS)


@pytest.mark.parametrize(("pod", "node", "reason"), [
    (make_pod(), make_node("n1"), FITS),
    (make_pod(node_name="n1"), make_node("n1"), FITS),
    (make_pod(node_name="n2"), make_node("n1"), "node(s) didn't match the requested node name"),
])
def test_node_name(pod: Pod, node: Node, reason: str | None) -> None:
    assert run_filter(NodeName(), pod, node)[1] == ((reason,) if reason else ())


def term(*expressions: Obj, fields: list[Obj] | None = None) -> Obj:
    return {"matchExpressions": list(expressions), **({"matchFields": fields} if fields else {})}


def required(*terms: Obj) -> Obj:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}


AFFINITY_MISMATCH = "node(s) didn't match Pod's node affinity/selector"
SSD = make_node(labels={"disk": "ssd", "gen": "5"})


@pytest.mark.parametrize(("pod", "reason"), [
    (make_pod(), FITS),
    (make_pod(node_selector={"disk": "ssd"}), FITS),
    (make_pod(node_selector={"disk": "hdd"}), AFFINITY_MISMATCH),
    (make_pod(node_selector={"zone": "a"}), AFFINITY_MISMATCH),
    (make_pod(affinity=required(term({"key": "disk", "operator": "In", "values": ["ssd", "nvme"]}))), FITS),
    (make_pod(affinity=required(term({"key": "disk", "operator": "NotIn", "values": ["ssd"]}))),
     AFFINITY_MISMATCH),
    (make_pod(affinity=required(term({"key": "zone", "operator": "NotIn", "values": ["a"]}))), FITS),
    (make_pod(affinity=required(term({"key": "disk", "operator": "Exists"}))), FITS),
    (make_pod(affinity=required(term({"key": "disk", "operator": "DoesNotExist"}))), AFFINITY_MISMATCH),
    (make_pod(affinity=required(term({"key": "gen", "operator": "Gt", "values": ["4"]}))), FITS),
    (make_pod(affinity=required(term({"key": "gen", "operator": "Lt", "values": ["4"]}))), AFFINITY_MISMATCH),
    (make_pod(affinity=required(term({"key": "disk", "operator": "Gt", "values": ["4"]}))), AFFINITY_MISMATCH),
    # terms are ORed, expressions inside a term ANDed
    (make_pod(affinity=required(term({"key": "disk", "operator": "In", "values": ["hdd"]}),
                                term({"key": "gen", "operator": "In", "values": ["5"]}))), FITS),
    (make_pod(affinity=required(term({"key": "disk", "operator": "In", "values": ["ssd"]},
                                     {"key": "gen", "operator": "In", "values": ["4"]}))), AFFINITY_MISMATCH),
    (make_pod(affinity=required(term())), AFFINITY_MISMATCH),  # an empty term matches nothing
    (make_pod(affinity=required(term(fields=[{"key": "metadata.name", "operator": "In", "values": ["n1"]}]))),
     FITS),
    (make_pod(affinity=required(term(fields=[{"key": "metadata.name", "operator": "In", "values": ["n9"]}]))),
     AFFINITY_MISMATCH),
    # nodeSelector and affinity must both match
    (make_pod(node_selector={"disk": "hdd"}, affinity=required(term({"key": "disk", "operator": "Exists"}))),
     AFFINITY_MISMATCH),
])
def test_node_affinity_filter(pod: Pod, reason: str | None) -> None:
    code, reasons = run_filter(NodeAffinity(), pod, SSD)
    assert reasons == ((reason,) if reason else ())
    assert code is (Code.UNSCHEDULABLE_AND_UNRESOLVABLE if reason else Code.SUCCESS)


GPU_NO_SCHEDULE = {"key": "gpu", "value": "true", "effect": "NoSchedule"}
MAINTENANCE_NO_EXECUTE = {"key": "maintenance", "effect": "NoExecute"}
PREFER = {"key": "spot", "value": "yes", "effect": "PreferNoSchedule"}


@pytest.mark.parametrize(("tolerations", "taints", "reason"), [
    (None, None, FITS),
    (None, [GPU_NO_SCHEDULE], "node(s) had untolerated taint {gpu: true}"),
    (None, [MAINTENANCE_NO_EXECUTE], "node(s) had untolerated taint {maintenance: }"),
    (None, [PREFER], FITS),  # PreferNoSchedule only lowers the score
    ([{"key": "gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}], [GPU_NO_SCHEDULE], FITS),
    ([{"key": "gpu", "value": "true"}], [GPU_NO_SCHEDULE], FITS),  # empty effect tolerates every effect
    ([{"key": "gpu", "value": "false", "effect": "NoSchedule"}], [GPU_NO_SCHEDULE],
     "node(s) had untolerated taint {gpu: true}"),
    ([{"key": "gpu", "operator": "Exists"}], [GPU_NO_SCHEDULE], FITS),
    ([{"operator": "Exists"}], [GPU_NO_SCHEDULE, MAINTENANCE_NO_EXECUTE], FITS),  # tolerates everything
    ([{"key": "gpu", "operator": "Exists", "effect": "NoExecute"}], [GPU_NO_SCHEDULE],
     "node(s) had untolerated taint {gpu: true}"),
    ([{"key": "gpu", "operator": "Exists"}], [GPU_NO_SCHEDULE, MAINTENANCE_NO_EXECUTE],
     "node(s) had untolerated taint {maintenance: }"),
])
def test_taint_toleration_filter(tolerations: list[Obj] | None, taints: list[Obj] | None,
                                 reason: str | None) -> None:
    code, reasons = run_filter(TaintToleration(), make_pod(tolerations=tolerations), make_node(taints=taints))
    assert reasons == ((reason,) if reason else ())
    assert code is (Code.UNSCHEDULABLE_AND_UNRESOLVABLE if reason else Code.SUCCESS)


@pytest.mark.parametrize(("pod", "node", "existing", "reasons"), [
    (make_pod(cpu="1"), make_node(cpu="2"), [], ()),
    (make_pod(cpu="3"), make_node(cpu="2"), [], ("Insufficient cpu",)),
    (make_pod(cpu="1"), make_node(cpu="2"), [make_pod("a", cpu="1500m")], ("Insufficient cpu",)),
    (make_pod(cpu="500m"), make_node(cpu="2"), [make_pod("a", cpu="1500m")], ()),
    (make_pod(memory="2Gi"), make_node(memory="1Gi"), [], ("Insufficient memory",)),
    (make_pod(cpu="4", memory="2Gi"), make_node(cpu="2", memory="1Gi"), [],
     ("Insufficient cpu", "Insufficient memory")),
    (make_pod(), make_node(cpu="1"), [make_pod("a", cpu="1")], ()),  # no requests: always fits cpu
    (make_pod(), make_node(pods="1"), [make_pod("a")], ("Too many pods",)),
])
def test_node_resources_fit(pod: Pod, node: Node, existing: list[Pod], reasons: tuple[str, ...]) -> None:
    code, got = run_filter(NodeResourcesFit(), pod, node, *existing)
    assert got == reasons
    assert code is (Code.UNSCHEDULABLE if reasons else Code.SUCCESS)


def with_port(name: str, port: int, host_ip: str | None = None, protocol: str | None = None) -> Pod:
    pod = pod_dict(name, host_port=port)
    container_port = pod["spec"]["containers"][0]["ports"][0]
    if host_ip:
        container_port["hostIP"] = host_ip
    if protocol:
        container_port["protocol"] = protocol
    return Pod.from_dict(pod)


PORT_REASON = ("node(s) didn't have free ports for the requested pod ports",)


@pytest.mark.parametrize(("pod", "existing", "reasons"), [
    (with_port("p", 8080), [], ()),
    (with_port("p", 8080), [with_port("a", 8080)], PORT_REASON),
    (with_port("p", 8080), [with_port("a", 8081)], ()),
    (with_port("p", 8080, protocol="UDP"), [with_port("a", 8080)], ()),
    (with_port("p", 8080, "10.0.0.1"), [with_port("a", 8080, "10.0.0.2")], ()),
    (with_port("p", 8080, "10.0.0.1"), [with_port("a", 8080)], PORT_REASON),  # 0.0.0.0 covers every IP
    (with_port("p", 8080), [with_port("a", 8080, "10.0.0.2")], PORT_REASON),
    (make_pod(), [with_port("a", 8080)], ()),
])
def test_node_ports(pod: Pod, existing: list[Pod], reasons: tuple[str, ...]) -> None:
    assert run_filter(NodePorts(), pod, make_node(), *existing)[1] == reasons
