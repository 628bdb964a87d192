"""VolumeBinding: Filter by the pod's claims, Reserve static volumes, PreBind binds and waits."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.unit.scheduler.builders import make_node, node_info, pod_dict

from scheduler.cycle_state import CycleState
from scheduler.framework import Code
from scheduler.plugins.volume_binding import MapStore, VolumeBinding
from scheduler.types import PodInfo
from tinykube.api.core import Pod
from tinykube.api.other import PersistentVolume, PersistentVolumeClaim, StorageClass
from tinykube.testing.fake_client import FakeClient

Obj = dict[str, Any]


def claim(name: str, *, class_name: str = "standard", volume: str | None = None, uid: str | None = None) -> \
        PersistentVolumeClaim:
    spec: Obj = {"storageClassName": class_name, "accessModes": ["ReadWriteOnce"],
                 "resources": {"requests": {"storage": "1Gi"}}}
    if volume:
        spec["volumeName"] = volume
    return PersistentVolumeClaim.from_dict({"metadata": {"name": name, "namespace": "ns", "uid": uid or f"uid-{name}",
                                                         "resourceVersion": "1"}, "spec": spec})


def volume(name: str, node: str | None = None, *, class_name: str = "standard") -> PersistentVolume:
    spec: Obj = {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": class_name,
                 "local": {"path": "/mnt"}}
    if node:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
    return PersistentVolume.from_dict({"metadata": {"name": name, "resourceVersion": "1"}, "spec": spec})


def storage_class(name: str = "standard", *, mode: str = "WaitForFirstConsumer",
                  provisioner: str = "tinykube.io/local-path") -> StorageClass:
    return StorageClass.from_dict({"metadata": {"name": name}, "provisioner": provisioner, "volumeBindingMode": mode})


def pod_with_claims(*names: str) -> PodInfo:
    data = pod_dict("db")
    data["spec"]["volumes"] = [{"name": n, "persistentVolumeClaim": {"claimName": n}} for n in names]
    return PodInfo(Pod.from_dict(data))


def plugin(claims: list[PersistentVolumeClaim], volumes: list[PersistentVolume] = (),  # type: ignore[assignment]
           classes: list[StorageClass] = (), client: FakeClient | None = None,  # type: ignore[assignment]
           timeout: float = 5.0) -> VolumeBinding:
    return VolumeBinding(client or FakeClient(), MapStore({f"ns/{c.metadata.name}": c for c in claims}),  # type: ignore[arg-type]
                         MapStore({v.metadata.name or "": v for v in volumes}),
                         MapStore({c.metadata.name or "": c for c in classes}), bind_timeout_seconds=timeout)


def filter_nodes(p: VolumeBinding, pod: PodInfo, *nodes: str) -> tuple[CycleState, dict[str, tuple[Code, str]]]:
    state = CycleState()
    status = p.pre_filter(state, pod)
    assert status.code is Code.SUCCESS, status
    results = {}
    for name in nodes:
        result = p.filter(state, pod, node_info(make_node(name)))
        results[name] = (result.code, result.message())
    return state, results


def test_pod_without_claims_is_skipped() -> None:
    assert plugin([]).pre_filter(CycleState(), PodInfo(Pod.from_dict(pod_dict("web")))).code is Code.SKIP


def test_missing_claim_and_unbound_immediate_claim_reject_the_pod() -> None:
    status = plugin([]).pre_filter(CycleState(), pod_with_claims("data"))
    assert (status.code, status.message()) == (Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
                                               'persistentvolumeclaim "data" not found')
    status = plugin([claim("data", class_name="fast")], classes=[storage_class("fast", mode="Immediate")]) \
        .pre_filter(CycleState(), pod_with_claims("data"))
    assert status.message() == "pod has unbound immediate PersistentVolumeClaims"


def test_bound_volume_pins_the_pod_to_its_node() -> None:
    p = plugin([claim("data", volume="pv-1")], [volume("pv-1", "n2")])
    _, results = filter_nodes(p, pod_with_claims("data"), "n1", "n2")
    assert results == {"n1": (Code.UNSCHEDULABLE_AND_UNRESOLVABLE, "node(s) had volume node affinity conflict"),
                       "n2": (Code.SUCCESS, "")}


def test_delayed_claim_without_provisioner_needs_a_local_volume_on_the_node() -> None:
    p = plugin([claim("data", class_name="local")], [volume("pv-1", "n2", class_name="local")],
               [storage_class("local", provisioner="kubernetes.io/no-provisioner")])
    _, results = filter_nodes(p, pod_with_claims("data"), "n1", "n2")
    assert results["n1"] == (Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
                             "node(s) didn't find available persistent volumes to bind")
    assert results["n2"] == (Code.SUCCESS, "")


def test_reserved_volume_is_not_offered_to_another_pod() -> None:
    p = plugin([claim("a"), claim("b")], [volume("pv-1", "n1")],
               [storage_class(provisioner="kubernetes.io/no-provisioner")])
    state, _ = filter_nodes(p, pod_with_claims("a"), "n1")
    p.reserve(state, pod_with_claims("a"), "n1")
    _, results = filter_nodes(p, pod_with_claims("b"), "n1")
    assert results["n1"][0] is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    p.unreserve(state, pod_with_claims("a"), "n1")
    _, results = filter_nodes(p, pod_with_claims("b"), "n1")
    assert results["n1"][0] is Code.SUCCESS


async def test_pre_bind_selects_the_node_and_waits_for_the_claim_to_be_bound() -> None:
    client = FakeClient()
    pending = claim("data")
    p = plugin([pending], classes=[storage_class()], client=client)
    pod = pod_with_claims("data")
    state, results = filter_nodes(p, pod, "n2")
    assert results["n2"] == (Code.SUCCESS, "")
    p.reserve(state, pod, "n2")
    waiting = asyncio.create_task(p.pre_bind(state, pod, "n2"))
    await asyncio.sleep(0)
    assert [(a.verb, a.name, a.body) for a in client.actions] == [
        ("patch", "data", {"metadata": {"annotations": {"volume.kubernetes.io/selected-node": "n2"}}})]
    assert not waiting.done()
    # the binder provisions and binds: the claim and its volume agree
    bound = claim("data", volume="pvc-uid-data")
    bound.metadata.annotations = {"pv.kubernetes.io/bind-completed": "yes"}
    wire = volume("pvc-uid-data", "n2").to_dict()
    wire["spec"]["claimRef"] = {"namespace": "ns", "name": "data", "uid": "uid-data"}
    provisioned = PersistentVolume.from_dict(wire)
    p.claims.objects["ns/data"] = bound  # type: ignore[attr-defined]
    p.volumes.objects["pvc-uid-data"] = provisioned  # type: ignore[attr-defined]
    p.notify()
    status = await asyncio.wait_for(waiting, 5)
    assert status.code is Code.SUCCESS


async def test_pre_bind_binds_a_static_volume_and_times_out_if_never_bound() -> None:
    client = FakeClient()
    p = plugin([claim("data")], [volume("pv-1", "n1")], [storage_class()], client=client, timeout=0.05)
    pod = pod_with_claims("data")
    state, _ = filter_nodes(p, pod, "n1")
    p.reserve(state, pod, "n1")
    status = await p.pre_bind(state, pod, "n1")
    update = client.writes("persistentvolumes", "update")[0].body
    assert update["spec"]["claimRef"]["uid"] == "uid-data"
    assert (status.code, status.message()) == (Code.ERROR, "binding volumes: context deadline exceeded")
    assert p.assumed == {}
