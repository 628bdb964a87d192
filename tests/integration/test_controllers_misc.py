"""Garbage collector, namespace, node lifecycle and endpoints controllers on a real API server.

The controllers run in this process (client, shared informers, recorder, `run()` as
asyncio tasks) against the session's etcd + API server; the test plays the parts
of the other components by hand: it writes ownerReferences, renews a node's Lease,
and flips pods Ready through the status subresource. Every wait is a condition with
a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from controller_manager.endpoints import EndpointsController
from controller_manager.garbagecollector import GarbageCollector
from controller_manager.namespace import NamespaceController
from controller_manager.nodelifecycle import NodeLifecycleController
from tinykube.api.meta import now_rfc3339
from tinykube.api.resources import INDEX, ResourceInfo
from tinykube.client import ClientConfig, EventRecorder, NotFound, RESTClient, SharedInformerFactory
from tinykube.testing.processes import REPO_ROOT, APIServerProcess

Obj = dict[str, Any]


def resource(name: str) -> ResourceInfo:
    info = INDEX.by_name(name)
    assert info is not None
    return info


PODS, RS, DEPLOY = resource("pods"), resource("replicasets"), resource("deployments")
NODES, LEASES, NS = resource("nodes"), resource("leases"), resource("namespaces")
SERVICES, ENDPOINTS, CMS = resource("services"), resource("endpoints"), resource("configmaps")

Start = Callable[..., Awaitable[RESTClient]]


@pytest.fixture
async def start_controllers(apiserver: APIServerProcess) -> AsyncIterator[Start]:
    """`await start(GarbageCollector, ..., **options)` runs those controllers until the test ends."""
    running: list[tuple[RESTClient, SharedInformerFactory, EventRecorder, list[asyncio.Task[None]]]] = []

    async def start(*classes: type, **options: Any) -> RESTClient:
        client = RESTClient(ClientConfig(server=apiserver.http_url))
        factory = SharedInformerFactory(client, typed=True)
        recorder = EventRecorder(client, "controller-manager")
        controllers = [cls(client, factory, recorder, **options) for cls in classes]
        factory.start()
        assert await factory.wait_for_cache_sync(30)
        tasks = [asyncio.create_task(c.run(2)) for c in controllers]
        running.append((client, factory, recorder, tasks))
        return client

    yield start
    for client, factory, recorder, tasks in running:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await factory.stop()
        await recorder.shut_down()
        await client.aclose()


@pytest.fixture
async def api(apiserver: APIServerProcess) -> AsyncIterator[RESTClient]:
    async with RESTClient(ClientConfig(server=apiserver.http_url)) as client:
        yield client


async def eventually(check: Callable[[], Awaitable[Any]], what: str, timeout_seconds: float = 20.0) -> Any:
    """Poll `check` until it returns something truthy; fail after the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_seconds
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def exists(client: RESTClient, info: ResourceInfo, name: str, namespace: str | None = None) -> bool:
    try:
        await client.get(info, name, namespace)
    except NotFound:
        return False
    return True


def owner_ref(owner: Obj) -> Obj:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def pod_body(name: str, labels: dict[str, str], owner: Obj | None = None, node: str | None = None) -> Obj:
    meta: Obj = {"name": name, "labels": labels}
    if owner is not None:
        meta["ownerReferences"] = [owner_ref(owner)]
    spec: Obj = {"containers": [{"name": "web", "image": "nginx",
                                 "ports": [{"name": "http", "containerPort": 8080}]}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def workload_body(kind: str, name: str, labels: dict[str, str], owner: Obj | None = None) -> Obj:
    meta: Obj = {"name": name, "labels": labels}
    if owner is not None:
        meta["ownerReferences"] = [owner_ref(owner)]
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta,
            "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}


async def replica_set_with_pods(api: RESTClient, namespace: str, owner: Obj | None = None
                                ) -> tuple[Obj, list[str]]:
    labels = {"app": f"web-{uuid.uuid4().hex[:6]}"}
    rs = await api.create(RS, workload_body("ReplicaSet", f"{labels['app']}-rs", labels, owner), namespace)
    names = [f"{labels['app']}-{i}" for i in range(2)]
    for name in names:
        await api.create(PODS, pod_body(name, labels, rs), namespace)
    return rs, names


async def pods_left(api: RESTClient, namespace: str, names: list[str]) -> list[Obj]:
    items, _ = await api.list(PODS, namespace)
    return [p for p in items if p["metadata"]["name"] in names]


# --- garbage collector ------------------------------------------------------------------


async def test_background_deletion_of_a_replica_set_removes_its_pods(
        start_controllers: Start, api: RESTClient, namespace: str) -> None:
    await start_controllers(GarbageCollector)
    rs, names = await replica_set_with_pods(api, namespace)

    await api.delete(RS, rs["metadata"]["name"], namespace, propagation_policy="Background")

    async def pods_gone() -> bool:
        return not await pods_left(api, namespace, names)
    await eventually(pods_gone, "the ReplicaSet's pods to be collected")


async def test_foreground_deletion_removes_the_pods_before_the_replica_set(
        start_controllers: Start, api: RESTClient, namespace: str) -> None:
    await start_controllers(GarbageCollector)
    rs, names = await replica_set_with_pods(api, namespace)
    rs_name = rs["metadata"]["name"]

    marked = await api.delete(RS, rs_name, namespace, propagation_policy="Foreground")
    assert marked["metadata"]["finalizers"] == ["foregroundDeletion"]

    async def rs_gone_after_pods() -> bool:
        rs_exists = await exists(api, RS, rs_name, namespace)
        remaining = await pods_left(api, namespace, names)  # read after the ReplicaSet
        assert rs_exists or not remaining, "the ReplicaSet went before its pods"
        return not rs_exists
    await eventually(rs_gone_after_pods, "the ReplicaSet to finish foreground deletion")


async def test_orphan_deletion_keeps_the_pods_without_owner_references(
        start_controllers: Start, api: RESTClient, namespace: str) -> None:
    await start_controllers(GarbageCollector)
    rs, names = await replica_set_with_pods(api, namespace)
    rs_name = rs["metadata"]["name"]

    await api.delete(RS, rs_name, namespace, propagation_policy="Orphan")

    async def rs_gone() -> bool:
        return not await exists(api, RS, rs_name, namespace)
    await eventually(rs_gone, "the ReplicaSet to be removed after orphaning")
    remaining = await pods_left(api, namespace, names)
    assert sorted(p["metadata"]["name"] for p in remaining) == names
    assert all(not p["metadata"].get("ownerReferences") for p in remaining)
    assert all(not p["metadata"].get("deletionTimestamp") for p in remaining)


async def test_deleting_a_deployment_removes_its_replica_sets_and_pods(
        start_controllers: Start, api: RESTClient, namespace: str) -> None:
    await start_controllers(GarbageCollector)
    deployment = await api.create(DEPLOY, workload_body("Deployment", "web", {"app": "web"}), namespace)
    rs, names = await replica_set_with_pods(api, namespace, owner=deployment)

    await api.delete(DEPLOY, "web", namespace)

    async def all_gone() -> bool:
        return not await exists(api, RS, rs["metadata"]["name"], namespace) and \
            not await pods_left(api, namespace, names)
    await eventually(all_gone, "the Deployment's ReplicaSet and pods to be collected")


# --- namespace --------------------------------------------------------------------------


async def test_deleting_a_namespace_deletes_its_content_and_then_the_namespace(
        start_controllers: Start, api: RESTClient) -> None:
    await start_controllers(NamespaceController)
    name = f"t-ns-{uuid.uuid4().hex[:8]}"
    await api.create(NS, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    await api.create(CMS, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
                           "data": {"k": "v"}}, name)
    await api.create(PODS, pod_body("loose", {"app": "x"}), name)
    await replica_set_with_pods(api, name)
    held = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "held", "finalizers": ["example.com/hold"]}}
    await api.create(CMS, held, name)

    marked = await api.delete(NS, name)
    assert marked["status"]["phase"] == "Terminating"

    async def only_held_left() -> bool:
        configmaps, _ = await api.list(CMS, name)
        pods, _ = await api.list(PODS, name)
        replica_sets, _ = await api.list(RS, name)
        return [c["metadata"]["name"] for c in configmaps] == ["held"] and not pods and not replica_sets
    await eventually(only_held_left, "the namespace's content to be deleted")
    assert await exists(api, NS, name), "the namespace went while an object was still held"

    current = await api.get(CMS, "held", name)
    current["metadata"]["finalizers"] = []
    await api.update(CMS, current, name)

    async def namespace_gone() -> bool:
        return not await exists(api, NS, name)
    await eventually(namespace_gone, "the emptied namespace to be removed")


# --- node lifecycle ----------------------------------------------------------------------


async def post_ready(api: RESTClient, node_name: str, status: str = "True") -> None:
    node = await api.get(NODES, node_name)
    stamp = now_rfc3339()
    node["status"] = {"conditions": [{"type": "Ready", "status": status, "reason": "KubeletReady",
                                      "message": "kubelet is posting ready status",
                                      "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}]}
    await api.update_status(NODES, node)


async def renew_lease_forever(api: RESTClient, node_name: str) -> None:
    while True:
        lease = await api.get(LEASES, node_name, "kube-node-lease")
        lease["spec"]["renewTime"] = now_rfc3339(micro=True)
        await api.update(LEASES, lease, "kube-node-lease")
        await asyncio.sleep(0.2)


def own_taints(node: Obj) -> set[str]:
    return {f"{t['key']}:{t['effect']}" for t in (node.get("spec") or {}).get("taints") or []
            if t["key"].startswith("node.kubernetes.io/")}


async def test_a_silent_node_becomes_unknown_is_tainted_and_its_pods_are_evicted(
        start_controllers: Start, api: RESTClient, namespace: str) -> None:
    node_name = f"node-{uuid.uuid4().hex[:8]}"
    node = await api.create(NODES, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": node_name}})
    await post_ready(api, node_name)
    await api.create(LEASES, {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": node_name, "ownerReferences": [
            {"apiVersion": "v1", "kind": "Node", "name": node_name, "uid": node["metadata"]["uid"]}]},
        "spec": {"holderIdentity": node_name, "leaseDurationSeconds": 40,
                 "renewTime": now_rfc3339(micro=True)}}, "kube-node-lease")
    await api.create(PODS, pod_body("victim", {"app": "victim"}, node=node_name), namespace)
    patient = pod_body("patient", {"app": "patient"}, node=node_name)
    patient["spec"]["tolerations"] = [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                       "effect": "NoExecute"}]
    await api.create(PODS, patient, namespace)
    renewer = asyncio.create_task(renew_lease_forever(api, node_name))
    await start_controllers(NodeLifecycleController, node_monitor_grace_period_seconds=1.5,
                            node_monitor_period_seconds=0.2, default_toleration_seconds=1)
    try:
        # Renewing: the node stays untainted for twice the grace period.
        loop = asyncio.get_running_loop()
        healthy_until = loop.time() + 3.0
        while loop.time() < healthy_until:
            current = await api.get(NODES, node_name)
            assert not own_taints(current), "a node renewing its lease was tainted"
            await asyncio.sleep(0.2)
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer

    async def unreachable() -> Obj | None:
        current = await api.get(NODES, node_name)
        ready = [c for c in current["status"]["conditions"] if c["type"] == "Ready"][0]
        return current if ready["status"] == "Unknown" and \
            "node.kubernetes.io/unreachable:NoExecute" in own_taints(current) else None
    current = await eventually(unreachable, "the silent node to become Unknown and tainted")
    ready = [c for c in current["status"]["conditions"] if c["type"] == "Ready"][0]
    assert ready["reason"] == "NodeStatusUnknown"
    assert ready["message"] == "Kubelet stopped posting node status."
    assert own_taints(current) == {"node.kubernetes.io/unreachable:NoExecute",
                                   "node.kubernetes.io/unreachable:NoSchedule"}

    async def victim_evicted() -> bool:
        pod = await api.get(PODS, "victim", namespace)
        return bool(pod["metadata"].get("deletionTimestamp"))
    await eventually(victim_evicted, "the pod without a toleration to be evicted")
    patient_now = await api.get(PODS, "patient", namespace)
    assert not patient_now["metadata"].get("deletionTimestamp"), "a pod tolerating forever was evicted"

    # The kubelet comes back: the taints go.
    await post_ready(api, node_name)

    async def untainted() -> bool:
        return not own_taints(await api.get(NODES, node_name))
    await eventually(untainted, "the taints to be removed from the recovered node")


async def test_pods_bound_to_a_deleted_node_are_removed(
        start_controllers: Start, api: RESTClient, namespace: str) -> None:
    await start_controllers(NodeLifecycleController, pod_gc_quarantine_seconds=0.5)
    await api.create(PODS, pod_body("stranded", {"app": "stranded"}, node=f"gone-{uuid.uuid4().hex[:8]}"),
                     namespace)

    async def removed() -> bool:
        return not await exists(api, PODS, "stranded", namespace)
    await eventually(removed, "the pod of a node that does not exist to be removed")


# --- endpoints ----------------------------------------------------------------------------


async def set_pod_status(api: RESTClient, namespace: str, name: str, ip: str, ready: bool) -> None:
    pod = await api.get(PODS, name, namespace)
    pod["status"] = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                     "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    await api.update_status(PODS, pod, namespace)


async def test_endpoints_follow_pod_readiness(
        start_controllers: Start, api: RESTClient, namespace: str) -> None:
    await start_controllers(EndpointsController)
    await api.create(SERVICES, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                                "spec": {"selector": {"app": "web"}, "ports": [
                                    {"name": "http", "port": 80, "targetPort": "http"}]}}, namespace)
    for index in range(2):
        await api.create(PODS, pod_body(f"web-{index}", {"app": "web"}), namespace)
    await api.create(PODS, pod_body("other", {"app": "other"}), namespace)
    await set_pod_status(api, namespace, "web-0", "10.244.1.10", ready=True)
    await set_pod_status(api, namespace, "web-1", "10.244.1.11", ready=False)
    await set_pod_status(api, namespace, "other", "10.244.1.12", ready=True)

    def addresses(endpoints: Obj, field: str) -> list[str]:
        return sorted(a["ip"] for s in endpoints.get("subsets") or [] for a in s.get(field) or [])

    async def split(ready: list[str], not_ready: list[str]) -> Obj | None:
        try:
            endpoints = await api.get(ENDPOINTS, "web", namespace)
        except NotFound:
            return None
        ok = addresses(endpoints, "addresses") == ready and addresses(endpoints, "notReadyAddresses") == not_ready
        return endpoints if ok else None

    endpoints = await eventually(lambda: split(["10.244.1.10"], ["10.244.1.11"]),
                                 "endpoints with one ready and one not-ready pod", 10)
    [subset] = endpoints["subsets"]
    assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    [address] = subset["addresses"]
    assert address["targetRef"]["kind"] == "Pod" and address["targetRef"]["name"] == "web-0"

    await set_pod_status(api, namespace, "web-1", "10.244.1.11", ready=True)
    await eventually(lambda: split(["10.244.1.10", "10.244.1.11"], []),
                     "the newly ready pod to move to addresses", 5)
    await set_pod_status(api, namespace, "web-0", "10.244.1.10", ready=False)
    endpoints = await eventually(lambda: split(["10.244.1.11"], ["10.244.1.10"]),
                                 "the pod that stopped being ready to move to notReadyAddresses", 5)

    await api.delete(SERVICES, "web", namespace)

    async def endpoints_gone() -> bool:
        return not await exists(api, ENDPOINTS, "web", namespace)
    await eventually(endpoints_gone, "the endpoints of the deleted service to be removed", 5)


# --- the same controllers inside `python -m controller_manager` --------------------------


@pytest.fixture
def manager_process(apiserver: APIServerProcess, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    log_path = tmp_path / "controller-manager.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "controller_manager", "--kubeconfig", str(apiserver.kubeconfig),
             "--controllers", "garbagecollector,namespace,nodelifecycle,endpoint", "--leader-elect=false"],
            cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    yield process
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    assert "Traceback" not in log_path.read_text(errors="replace")


async def test_the_controller_manager_process_collects_a_deployment_and_empties_a_namespace(
        manager_process: subprocess.Popen[bytes], api: RESTClient) -> None:
    name = f"t-cm-{uuid.uuid4().hex[:8]}"
    await api.create(NS, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    deployment = await api.create(DEPLOY, workload_body("Deployment", "web", {"app": "web"}), name)
    rs, names = await replica_set_with_pods(api, name, owner=deployment)

    await api.delete(DEPLOY, "web", name, propagation_policy="Foreground")

    async def chain_gone() -> bool:
        assert manager_process.poll() is None, "the controller-manager exited"
        return not await exists(api, DEPLOY, "web", name) and \
            not await exists(api, RS, rs["metadata"]["name"], name) and \
            not await pods_left(api, name, names)
    await eventually(chain_gone, "the Deployment, its ReplicaSet and pods to be collected", 30)

    await api.create(CMS, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}}, name)
    await api.delete(NS, name)

    async def namespace_gone() -> bool:
        return not await exists(api, NS, name)
    await eventually(namespace_gone, "the namespace to be emptied and removed", 30)
