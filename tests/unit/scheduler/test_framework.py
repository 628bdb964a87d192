"""The framework's extension points: PreFilter → CycleState → Filter, Skip, Reserve and
Unreserve around a failing PreBind, Bind plugin order, and DefaultBinder's Binding."""

from __future__ import annotations

from scheduler.cycle_state import CycleState
from scheduler.framework import SUCCESS, Code, Status, as_error, skip, unschedulable
from scheduler.plugins.default_binder import DefaultBinder
from scheduler.plugins.node_resources_fit import NodeResourcesFit
from scheduler.runtime import Framework, PluginEntry
from scheduler.types import NodeInfo, PodInfo
from tests.unit.scheduler.builders import make_node, make_pod, node_info
from tests.unit.scheduler.test_schedule_one import bindings, new_scheduler, run_cycles
from tinykube.client.errors import Conflict
from tinykube.testing.fake_client import FakeClient


class ZoneFromPreFilter:
    """PreFilter reads the pod's label once; Filter compares it with each node's."""

    name = "ZoneFromPreFilter"

    def __init__(self) -> None:
        self.pre_filter_calls = 0

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status:
        self.pre_filter_calls += 1
        zone = (pod.pod.metadata.labels or {}).get("zone")
        if zone is None:
            return skip(self.name)
        state.write("PreFilter" + self.name, zone)
        return SUCCESS

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        if node.labels.get("zone") == state.read("PreFilter" + self.name):
            return SUCCESS
        return unschedulable(self.name, "node(s) in another zone")


class RecordingReserve:
    """Reserve claims the node in a shared ledger; Unreserve gives it back."""

    name = "RecordingReserve"

    def __init__(self, fail: bool = False) -> None:
        self.ledger: dict[str, str] = {}
        self.calls: list[str] = []
        self.fail = fail

    def reserve(self, state: CycleState, pod: PodInfo, node_name: str) -> Status:
        self.calls.append(f"reserve {pod.key} {node_name}")
        if self.fail:
            return as_error(self.name, "out of tickets")
        self.ledger[pod.key] = node_name
        state.write("Reserve" + self.name, node_name)
        return SUCCESS

    def unreserve(self, state: CycleState, pod: PodInfo, node_name: str) -> None:
        self.calls.append(f"unreserve {pod.key} {node_name}")
        self.ledger.pop(pod.key, None)


class FailingPreBind:
    name = "FailingPreBind"

    def __init__(self) -> None:
        self.seen_reservation: list[str | None] = []

    async def pre_bind(self, state: CycleState, pod: PodInfo, node_name: str) -> Status:
        self.seen_reservation.append(state.read("ReserveRecordingReserve"))
        return as_error(self.name, "volume not ready")


class SkippingBinder:
    name = "SkippingBinder"

    async def bind(self, state: CycleState, pod: PodInfo, node_name: str) -> Status:
        return skip(self.name)


def labelled_pod(zone: str | None = None) -> PodInfo:
    pod = make_pod("web", cpu="1")
    if zone is not None:
        pod = pod.model_copy(update={"metadata": pod.metadata.model_copy(update={"labels": {"zone": zone}})})
    return PodInfo(pod)


def test_pre_filter_writes_cycle_state_that_filter_reads_for_every_node() -> None:
    plugin = ZoneFromPreFilter()
    fwk = Framework("default-scheduler", [PluginEntry(plugin)])
    state, pod = CycleState(), labelled_pod("a")
    assert fwk.run_pre_filter_plugins(state, pod).is_success()
    nodes = [node_info(make_node("n1", labels={"zone": "a"})), node_info(make_node("n2", labels={"zone": "b"}))]
    results = {n.name: fwk.run_filter_plugins(state, pod, n).code for n in nodes}
    assert results == {"n1": Code.SUCCESS, "n2": Code.UNSCHEDULABLE}
    assert plugin.pre_filter_calls == 1


def test_node_resources_fit_filters_on_the_requests_its_pre_filter_stored() -> None:
    plugin, state, pod = NodeResourcesFit(), CycleState(), PodInfo(make_pod(cpu="3"))
    assert plugin.filter(state, pod, node_info(make_node(cpu="4"))).code is Code.ERROR  # no PreFilter ran
    plugin.pre_filter(state, pod)
    assert state.read("PreFilterNodeResourcesFit").milli_cpu == 3000
    assert plugin.filter(state, pod, node_info(make_node(cpu="2"))).reasons == ("Insufficient cpu",)


def test_a_pre_filter_skip_skips_that_plugins_filter() -> None:
    fwk = Framework("default-scheduler", [PluginEntry(ZoneFromPreFilter())])
    state, pod = CycleState(), labelled_pod(None)
    assert fwk.run_pre_filter_plugins(state, pod).is_success()
    assert state.skip_filter_plugins == {"ZoneFromPreFilter"}
    assert fwk.run_filter_plugins(state, pod, node_info(make_node(labels={"zone": "b"}))).is_success()


async def test_a_pre_filter_rejection_rejects_every_node_with_its_reason() -> None:
    class NoGo:
        name = "NoGo"

        def pre_filter(self, state: CycleState, pod: PodInfo) -> Status:
            return unschedulable(self.name, "pod has unbound immediate PersistentVolumeClaims")

    sched, client, recorder = new_scheduler(make_node("n1"), make_node("n2"), plugins=[PluginEntry(NoGo())])
    sched.on_pod_add(make_pod("web"))
    await run_cycles(sched, 1)
    assert bindings(client) == {}
    assert recorder.events[0][3].startswith(
        "0/2 nodes are available: 2 pod has unbound immediate PersistentVolumeClaims.")


async def test_a_failing_pre_bind_runs_unreserve_forgets_the_pod_and_requeues_it() -> None:
    reserve, pre_bind = RecordingReserve(), FailingPreBind()
    sched, client, recorder = new_scheduler(make_node("n1", cpu="2"), plugins=[
        PluginEntry(NodeResourcesFit()), PluginEntry(reserve), PluginEntry(pre_bind)])
    sched.on_pod_add(make_pod("web", cpu="1"))
    await run_cycles(sched, 1)
    assert reserve.calls == ["reserve ns/web n1", "unreserve ns/web n1"]
    assert reserve.ledger == {}
    assert pre_bind.seen_reservation == ["n1"]  # Reserve's CycleState reaches PreBind
    assert bindings(client) == {}  # Bind never ran
    assert sched.cache.get_node_info("n1").requested.milli_cpu == 0  # type: ignore[union-attr]
    assert not sched.cache.is_assumed("uid-web")
    assert sched.queue.pending_pods()["backoff"] == ["ns/web"]
    assert recorder.events == [("web", "Warning", "FailedScheduling",
                                "running PreBind plugin 'FailingPreBind': volume not ready")]


async def test_a_failing_reserve_unreserves_and_never_binds() -> None:
    reserve = RecordingReserve(fail=True)
    sched, client, _ = new_scheduler(make_node("n1"), plugins=[PluginEntry(reserve)])
    sched.on_pod_add(make_pod("web"))
    await run_cycles(sched, 1)
    assert reserve.calls == ["reserve ns/web n1", "unreserve ns/web n1"]
    assert not sched.cache.is_assumed("uid-web")
    assert sched.queue.pending_pods()["backoff"] == ["ns/web"]
    assert bindings(client) == {}


async def test_the_first_bind_plugin_not_skipping_binds() -> None:
    client = FakeClient()
    fwk = Framework("default-scheduler", [PluginEntry(SkippingBinder()), PluginEntry(DefaultBinder(client))])
    status = await fwk.run_bind_plugins(CycleState(), PodInfo(make_pod("web", node_name="n1")), "n1")
    assert status.is_success()
    assert bindings(client) == {"ns/web": "n1"}
    only_skipping = Framework("default-scheduler", [PluginEntry(SkippingBinder())])
    assert (await only_skipping.run_bind_plugins(CycleState(), PodInfo(make_pod()), "n1")).code is Code.ERROR


async def test_default_binder_posts_a_binding_with_the_pods_uid() -> None:
    client = FakeClient()
    status = await DefaultBinder(client).bind(CycleState(), PodInfo(make_pod("web", uid="u-123")), "n7")
    assert status.is_success()
    [action] = client.actions
    assert (action.verb, action.resource, action.subresource, action.namespace, action.name) == \
        ("create", "pods", "binding", "ns", "web")
    assert action.body == {"apiVersion": "v1", "kind": "Binding",
                           "metadata": {"name": "web", "namespace": "ns", "uid": "u-123"},
                           "target": {"apiVersion": "v1", "kind": "Node", "name": "n7"}}


async def test_default_binder_turns_an_api_error_into_an_error_status() -> None:
    client = FakeClient()
    client.fail[("create_binding", "pods")] = Conflict(409, "Conflict", "pod is already assigned")
    status = await DefaultBinder(client).bind(CycleState(), PodInfo(make_pod("web")), "n1")
    assert (status.code, status.plugin) == (Code.ERROR, "DefaultBinder")
