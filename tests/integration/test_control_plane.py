"""The control plane end to end: etcd, API server, 2 controller-managers, scheduler, 3 hollow nodes.

Every component is a real process started by `control_plane_fixtures.ControlPlane`
(the module gets a cluster of its own, so no Node of another test can receive these
pods). The tests act and observe through the API only, as a user with kubectl
would: Deployments spread, scale, heal, roll out within their surge budget and roll
back; an impossible pod waits with the scheduler's reason; a silent node is tainted
and emptied; a deleted Deployment takes its ReplicaSets and pods with it; killing the
active controller-manager hands control to the standby without duplicate pods.
Each test uses its own namespace and leaves the nodes as it found them.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from control_plane_fixtures import (
    LEASE_DURATION_SECONDS,
    NODE_CPU,
    NODE_NAMES,
    ControlPlane,
    Obj,
    PodWatch,
    is_active,
    is_ready,
    wait_for,
)

from tinykube.testing.processes import REPO_ROOT

UNREACHABLE = "node.kubernetes.io/unreachable"


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    started = ControlPlane.start(tmp_path_factory.mktemp("control-plane"))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def ns(plane: ControlPlane) -> Iterator[str]:
    name = f"cp-{uuid.uuid4().hex[:8]}"
    plane.http.post("/api/v1/namespaces", json={"metadata": {"name": name}}).raise_for_status()
    yield name
    plane.http.delete(f"/api/v1/namespaces/{name}")  # the namespace controller empties it


# --- helpers ------------------------------------------------------------------------------


def deployment(name: str, replicas: int, image: str = "nginx:1.26", cpu: str = "500m",
               max_surge: int = 1, max_unavailable: int = 0) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": max_surge, "maxUnavailable": max_unavailable}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "app", "image": image,
                                                           "resources": {"requests": {"cpu": cpu}}}]}}}}


def create_deployment(plane: ControlPlane, ns: str, body: Obj) -> None:
    response = plane.http.post(f"/apis/apps/v1/namespaces/{ns}/deployments", json=body)
    assert response.status_code == 201, response.text


def pods(plane: ControlPlane, ns: str, app: str) -> list[Obj]:
    """The pods a ReplicaSet counts (terminating ones excluded)."""
    items = plane.get(f"/api/v1/namespaces/{ns}/pods", labelSelector=f"app={app}")["items"]
    return [p for p in items if is_active(p)]


def running_ready(plane: ControlPlane, ns: str, app: str, count: int) -> list[Obj] | None:
    """Exactly `count` active pods, all bound, Running and Ready; else None."""
    found = pods(plane, ns, app)
    if len(found) != count or not all(
            p["spec"].get("nodeName") and p["status"].get("phase") == "Running" and is_ready(p) for p in found):
        return None
    return found


def rollout_complete(plane: ControlPlane, ns: str, name: str) -> bool:
    """kubectl rollout status's test, plus: no old pod is left."""
    d = plane.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}")
    status, replicas = d.get("status") or {}, d["spec"]["replicas"]
    return (status.get("observedGeneration", 0) >= d["metadata"]["generation"]
            and status.get("updatedReplicas", 0) == replicas == status.get("replicas", 0)
            and status.get("availableReplicas", 0) == replicas
            and running_ready(plane, ns, name, replicas) is not None)


def scale(plane: ControlPlane, ns: str, name: str, replicas: int) -> None:
    response = plane.http.patch(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}/scale",
                                json={"spec": {"replicas": replicas}},
                                headers={"Content-Type": "application/merge-patch+json"})
    assert response.status_code == 200, response.text


def replica_sets(plane: ControlPlane, ns: str, app: str) -> list[Obj]:
    return list(plane.get(f"/apis/apps/v1/namespaces/{ns}/replicasets", labelSelector=f"app={app}")["items"])


def summary(current: dict[str, Obj]) -> str:
    """Per template hash: active/ready/terminating pod counts, for a failure message."""
    counts: dict[str, Counter[str]] = {}
    for pod in current.values():
        state = counts.setdefault(pod["metadata"]["labels"].get("pod-template-hash", "?"), Counter())
        state["active" if is_active(pod) else "terminating"] += 1
        state["ready"] += is_active(pod) and is_ready(pod)
    return ", ".join(f"{h}: {dict(c)}" for h, c in sorted(counts.items()))


def images(found: list[Obj]) -> set[str]:
    return {p["spec"]["containers"][0]["image"] for p in found}


def per_node(found: list[Obj]) -> Counter[str]:
    return Counter(p["spec"]["nodeName"] for p in found)


def no_pods_anywhere(plane: ControlPlane) -> bool:
    return not plane.get("/api/v1/pods")["items"]


def tinykube(plane: ControlPlane, ns: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tinykube.cli", "--kubeconfig", str(plane.api.kubeconfig),
                           "-n", ns, *args], check=False, cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60)


# --- tests --------------------------------------------------------------------------------


def test_a_deployment_spreads_scales_and_replaces_a_deleted_pod(plane: ControlPlane, ns: str) -> None:
    # Spreading is judged on empty nodes: wait for other tests' pods to be gone.
    wait_for(lambda: no_pods_anywhere(plane), "an empty cluster")
    create_deployment(plane, ns, deployment("web", 6))
    found = wait_for(lambda: running_ready(plane, ns, "web", 6), "6 Running and Ready pods")
    assert sorted(per_node(found).values()) == [2, 2, 2]
    assert set(per_node(found)) == set(NODE_NAMES)
    assert len({p["status"]["podIP"] for p in found}) == 6

    scale(plane, ns, "web", 10)
    found = wait_for(lambda: running_ready(plane, ns, "web", 10), "10 Running and Ready pods")
    assert sorted(per_node(found).values()) == [3, 3, 4]
    wait_for(lambda: rollout_complete(plane, ns, "web"), "the Deployment to report 10 available")

    scale(plane, ns, "web", 2)
    found = wait_for(lambda: running_ready(plane, ns, "web", 2), "2 Running and Ready pods")
    wait_for(lambda: rollout_complete(plane, ns, "web"), "the Deployment to report 2 available")

    victim = found[0]["metadata"]["name"]
    assert plane.http.delete(f"/api/v1/namespaces/{ns}/pods/{victim}").status_code == 200

    def replaced() -> list[Obj] | None:
        now = running_ready(plane, ns, "web", 2)
        return now if now and victim not in {p["metadata"]["name"] for p in now} else None

    wait_for(replaced, "a replacement for the deleted pod")
    wait_for(lambda: plane.http.get(f"/api/v1/namespaces/{ns}/pods/{victim}").status_code == 404,
             "the deleted pod to be removed by its kubelet")
    assert len(pods(plane, ns, "web")) == 2
    assert len(replica_sets(plane, ns, "web")) == 1


def test_a_rolling_update_stays_within_its_budget_and_undo_restores_the_template(
        plane: ControlPlane, ns: str) -> None:
    replicas, max_surge, max_unavailable = 6, 2, 1
    create_deployment(plane, ns, deployment("web", replicas, max_surge=max_surge, max_unavailable=max_unavailable))
    wait_for(lambda: rollout_complete(plane, ns, "web"), "the first rollout")
    first_template = replica_sets(plane, ns, "web")[0]["spec"]["template"]["spec"]
    largest = {"active": 0}

    def within_budget(current: dict[str, Obj]) -> None:
        active = [p for p in current.values() if is_active(p)]
        ready = [p for p in active if is_ready(p)]
        largest["active"] = max(largest["active"], len(active))
        assert len(active) <= replicas + max_surge, f"{len(active)} pods > replicas+maxSurge: {summary(current)}"
        assert len(ready) >= replicas - max_unavailable, (
            f"only {len(ready)} ready < replicas-maxUnavailable: {summary(current)}")

    def roll(what: str, image: str, act: Any) -> None:
        largest["active"] = 0
        watch = PodWatch.start(plane, ns, within_budget)
        try:
            act()
            wait_for(lambda: rollout_complete(plane, ns, "web") and images(pods(plane, ns, "web")) == {image},
                     what, timeout_seconds=60)
            # The watch has seen the end state too, so every state in between was checked.
            wait_for(lambda: {p["spec"]["containers"][0]["image"] for p in watch.pods.values()} == {image}
                     and len(watch.pods) == replicas, "the watch to catch up")
        finally:
            watch.stop()
        assert watch.events > 0
        assert largest["active"] > replicas, "the rollout never used its surge"

    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}}
    roll("the new image to roll out", "nginx:1.27", lambda: plane.http.patch(
        f"/apis/apps/v1/namespaces/{ns}/deployments/web", json=patch,
        headers={"Content-Type": "application/strategic-merge-patch+json"}).raise_for_status())
    revisions = {rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs
                 for rs in replica_sets(plane, ns, "web")}
    assert set(revisions) == {"1", "2"}
    assert revisions["1"]["spec"]["replicas"] == 0 and revisions["2"]["spec"]["replicas"] == replicas

    def undo() -> None:
        result = tinykube(plane, ns, "rollout", "undo", "deployment/web")
        assert result.returncode == 0, result.stderr
        assert "rolled back" in result.stdout

    roll("the undo to roll back", "nginx:1.26", undo)
    d = plane.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web")
    assert d["spec"]["template"]["spec"] == first_template
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    revisions = {rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs
                 for rs in replica_sets(plane, ns, "web")}
    assert set(revisions) == {"2", "3"}, "undo re-uses the first ReplicaSet as revision 3"
    assert revisions["3"]["spec"]["template"]["spec"] == first_template


def test_a_pod_bigger_than_every_node_stays_pending_with_the_reason(plane: ControlPlane, ns: str) -> None:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "huge"},
            "spec": {"containers": [{"name": "app", "image": "nginx",
                                     "resources": {"requests": {"cpu": str(NODE_CPU + 1)}}}]}}
    assert plane.http.post(f"/api/v1/namespaces/{ns}/pods", json=body).status_code == 201
    message = ("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: "
               "3 No preemption victims found for incoming pod.")

    def unschedulable() -> Obj | None:
        pod = plane.get(f"/api/v1/namespaces/{ns}/pods/huge")
        return next((c for c in pod["status"].get("conditions") or []
                     if c["type"] == "PodScheduled" and c["status"] == "False"), None)

    condition = wait_for(unschedulable, "PodScheduled=False")
    assert (condition["reason"], condition["message"]) == ("Unschedulable", message)
    event = wait_for(lambda: next((e for e in plane.get(f"/api/v1/namespaces/{ns}/events")["items"]
                                   if e["reason"] == "FailedScheduling"), None), "a FailedScheduling event")
    assert (event["type"], event["message"]) == ("Warning", message)
    assert event["involvedObject"]["name"] == "huge"
    pod = plane.get(f"/api/v1/namespaces/{ns}/pods/huge")
    assert pod["status"]["phase"] == "Pending" and not pod["spec"].get("nodeName")


def test_deleting_a_deployment_removes_its_replica_sets_and_pods(plane: ControlPlane, ns: str) -> None:
    create_deployment(plane, ns, deployment("doomed", 3))
    wait_for(lambda: rollout_complete(plane, ns, "doomed"), "3 Ready pods")
    assert len(replica_sets(plane, ns, "doomed")) == 1
    response = plane.http.delete(f"/apis/apps/v1/namespaces/{ns}/deployments/doomed",
                                 params={"propagationPolicy": "Background"})
    assert response.status_code == 200, response.text
    wait_for(lambda: not replica_sets(plane, ns, "doomed"), "the garbage collector to delete the ReplicaSet")
    wait_for(lambda: not plane.get(f"/api/v1/namespaces/{ns}/pods")["items"], "its pods to be deleted and gone")
    assert plane.http.get(f"/apis/apps/v1/namespaces/{ns}/deployments/doomed").status_code == 404


def test_a_replication_controller_keeps_scales_and_takes_its_pods_along(
        plane: ControlPlane, ns: str, tmp_path: Path) -> None:
    """core/v1 ReplicationController: the selector defaults to the template's labels, the
    ReplicaSet loop keeps its pods, `kubectl scale rc` works through /scale, `get rc`
    prints kubectl's columns, and deleting it deletes its pods."""
    rc = {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "legacy"},
          "spec": {"replicas": 2, "template": {
              "metadata": {"labels": {"app": "legacy"}},
              "spec": {"containers": [{"name": "c", "image": "nginx:1.26"}]}}}}
    created = plane.http.post(f"/api/v1/namespaces/{ns}/replicationcontrollers", json=rc)
    assert created.status_code == 201, created.text
    assert created.json()["spec"]["selector"] == {"app": "legacy"}
    assert created.json()["metadata"]["labels"] == {"app": "legacy"}
    wait_for(lambda: running_ready(plane, ns, "legacy", 2), "2 Ready pods of the RC")
    owners = {ref["kind"] for p in pods(plane, ns, "legacy") for ref in p["metadata"]["ownerReferences"]}
    assert owners == {"ReplicationController"}

    def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["kubectl", "--kubeconfig", str(plane.api.kubeconfig), "--cache-dir",
                               str(tmp_path), "-n", ns, *args], capture_output=True, text=True, timeout=60)

    scaled = kubectl("scale", "rc", "legacy", "--replicas=3")
    assert scaled.returncode == 0, scaled.stderr
    wait_for(lambda: running_ready(plane, ns, "legacy", 3), "3 Ready pods after kubectl scale rc")
    wait_for(lambda: (plane.get(f"/api/v1/namespaces/{ns}/replicationcontrollers/legacy").get("status")
                      or {}).get("readyReplicas") == 3, "the RC's status to count 3 ready")
    table = kubectl("get", "rc", "-o", "wide")
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.splitlines()[:2]
    assert header.split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert row.split()[:4] == ["legacy", "3", "3", "3"] and row.split()[-1] == "app=legacy"

    deleted = kubectl("delete", "rc", "legacy")
    assert deleted.returncode == 0, deleted.stderr
    wait_for(lambda: not pods(plane, ns, "legacy"), "the RC's pods to be deleted with it")


def test_endpoint_slices_follow_pods_and_mirror_hand_written_endpoints(
        plane: ControlPlane, ns: str, tmp_path: Path) -> None:
    """The EndpointSlice controller lists a Service's Ready pods (kubectl prints them),
    follows a scale-down, and the mirroring controller copies a selectorless Service's
    hand-written Endpoints into a slice of its own."""
    create_deployment(plane, ns, deployment("sliced", 3))
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "sliced"},
               "spec": {"selector": {"app": "sliced"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}
    assert plane.http.post(f"/api/v1/namespaces/{ns}/services", json=service).status_code == 201
    found = wait_for(lambda: running_ready(plane, ns, "sliced", 3), "3 Ready pods")

    def ready_addresses(service_name: str) -> set[str]:
        slices = plane.get(f"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices",
                           labelSelector=f"kubernetes.io/service-name={service_name}")["items"]
        return {a for s in slices for e in s.get("endpoints") or []
                if (e.get("conditions") or {}).get("ready") for a in e["addresses"]}

    ips = {p["status"]["podIP"] for p in found}
    wait_for(lambda: ready_addresses("sliced") == ips, "a slice with the 3 pods' IPs")
    table = subprocess.run(["kubectl", "--kubeconfig", str(plane.api.kubeconfig), "--cache-dir", str(tmp_path),
                            "-n", ns, "get", "endpointslices"], capture_output=True, text=True, timeout=60)
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.splitlines()[:2]
    assert header.split() == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    assert row.split()[1:3] == ["IPv4", "8080"] and row.startswith("sliced-")

    scale(plane, ns, "sliced", 1)
    kept = wait_for(lambda: running_ready(plane, ns, "sliced", 1), "1 Ready pod after scaling down")
    wait_for(lambda: ready_addresses("sliced") == {kept[0]["status"]["podIP"]}, "the slice to drop 2 pods")

    external = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "external"},
                "spec": {"ports": [{"name": "db", "port": 5432}]}}
    assert plane.http.post(f"/api/v1/namespaces/{ns}/services", json=external).status_code == 201
    endpoints = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "external"},
                 "subsets": [{"addresses": [{"ip": "192.0.2.10"}], "ports": [{"name": "db", "port": 5432}]}]}
    assert plane.http.post(f"/api/v1/namespaces/{ns}/endpoints", json=endpoints).status_code == 201
    wait_for(lambda: ready_addresses("external") == {"192.0.2.10"}, "a mirrored slice for the Endpoints")


def test_a_silent_node_is_tainted_and_its_pods_move_to_the_others(plane: ControlPlane, ns: str) -> None:
    create_deployment(plane, ns, deployment("survivor", 6))
    wait_for(lambda: rollout_complete(plane, ns, "survivor"), "6 Ready pods")
    victim = pods(plane, ns, "survivor")[0]["spec"]["nodeName"]
    evicted = {p["metadata"]["uid"] for p in pods(plane, ns, "survivor") if p["spec"]["nodeName"] == victim}
    kubelet = plane.kubelets[victim]
    kubelet.process.send_signal(signal.SIGSTOP)  # the heartbeat stops; the Node object stays
    try:
        def unreachable() -> Obj | None:
            node = plane.node(victim)
            taints = {(t["key"], t["effect"]) for t in node["spec"].get("taints") or []}
            if plane.node_ready(victim) == "Unknown" and {(UNREACHABLE, "NoExecute"),
                                                          (UNREACHABLE, "NoSchedule")} <= taints:
                return node
            return None

        node = wait_for(unreachable, f"{victim} to become Unknown with the unreachable taint")
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        assert ready["reason"] == "NodeStatusUnknown"

        def moved() -> list[Obj] | None:
            found = running_ready(plane, ns, "survivor", 6)
            return found if found and victim not in per_node(found) else None

        found = wait_for(moved, "the pods to be recreated on the other nodes", timeout_seconds=60)
        assert set(per_node(found)) == set(NODE_NAMES) - {victim}
        assert not evicted & {p["metadata"]["uid"] for p in found}
        stranded = [p for p in plane.get(f"/api/v1/namespaces/{ns}/pods")["items"] if p["metadata"]["uid"] in evicted]
        assert all(p["metadata"].get("deletionTimestamp") for p in stranded), "evicted pods are terminating"
        events = plane.get(f"/api/v1/namespaces/{ns}/events")["items"]
        assert any(e["reason"] == "TaintManagerEviction" for e in events)
    finally:
        kubelet.process.send_signal(signal.SIGCONT)
        # Back to how the other tests expect it: the node Ready, untainted, its old pods gone.
        wait_for(lambda: plane.node_ready_is(victim, "True") and not plane.node(victim)["spec"].get("taints"),
                 f"{victim} to recover", timeout_seconds=60)


def test_the_standby_controller_manager_takes_over_and_creates_nothing_twice(
        plane: ControlPlane, ns: str) -> None:
    create_deployment(plane, ns, deployment("steady", 3))
    wait_for(lambda: rollout_complete(plane, ns, "steady"), "3 Ready pods")
    leader_identity = plane.lease_holder()
    leader = plane.manager_by_identity(leader_identity)
    standby = next(m for m in plane.managers if m is not leader and m.process.poll() is None)
    assert "caches synced" in leader.log() and "caches synced" not in standby.log()

    def exact(current: dict[str, Obj]) -> None:
        active = [p for p in current.values() if is_active(p)]
        assert len(active) <= 7, f"{len(active)} active pods for 7 replicas: something was created twice"

    watch = PodWatch.start(plane, ns, exact)
    try:
        leader.process.send_signal(signal.SIGKILL)
        leader.process.wait(10)
        killed_at = time.monotonic()
        scale(plane, ns, "steady", 7)  # while nobody leads
        wait_for(lambda: plane.lease_holder() == standby.leader_identity(), "the standby to take the lease",
                 timeout_seconds=LEASE_DURATION_SECONDS + 4)
        took_over_seconds = time.monotonic() - killed_at
        wait_for(lambda: rollout_complete(plane, ns, "steady"), "7 Ready pods after the failover")
        assert len(watch.created) == 4, "3 -> 7 is exactly 4 new pods"
        # Prove the new leader is in charge and still counts right: a deleted pod is replaced once.
        victim = pods(plane, ns, "steady")[0]["metadata"]["name"]
        assert plane.http.delete(f"/api/v1/namespaces/{ns}/pods/{victim}").status_code == 200
        wait_for(lambda: len(watch.created) == 5 and rollout_complete(plane, ns, "steady"),
                 "one replacement pod")
        wait_for(lambda: len([p for p in watch.pods.values() if is_active(p)]) == 7, "the watch to catch up")
    finally:
        watch.stop()
        plane.start_manager()  # two candidates again for whatever runs next
    assert took_over_seconds < LEASE_DURATION_SECONDS + 4
    assert len(pods(plane, ns, "steady")) == 7
    assert len(replica_sets(plane, ns, "steady")) == 1
    assert "caches synced" in standby.log()


def test_logs_have_no_tracebacks(plane: ControlPlane) -> None:
    for component in [*plane.managers, *plane.others, *plane.kubelets.values()]:
        assert "Traceback" not in component.log(), f"{component.name}:\n{component.log()[-3000:]}"

