"""The DaemonSet controller with a whole control plane: etcd, API server, controller
managers, scheduler and hollow nodes (fake runtime), acting through the API as a user.

A DaemonSet runs one Running pod on each of the three nodes, one more on a node
that joins later, rolls a template change out one node at a time (maxUnavailable 1),
records both templates as ControllerRevisions, and `tinykube rollout undo` brings
the first one back. The module has its own cluster: the node it adds disturbs nobody.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from control_plane_fixtures import KUBELET_FLAGS, NODE_NAMES, ControlPlane, Obj, PodWatch, is_active, is_ready, wait_for
from test_control_plane import ns, plane  # noqa: F401  (fixtures: this module gets a cluster of its own)

from tests.integration.cli_helpers import tinykube as run_cli

LATE_NODE = "node-d"


def daemon_set(image: str) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                     "template": {"metadata": {"labels": {"app": "agent"}},
                                  "spec": {"containers": [{"name": "agent", "image": image}]}}}}


def running_per_node(plane: ControlPlane, ns: str, image: str | None = None) -> Counter[str]:
    items = plane.get(f"/api/v1/namespaces/{ns}/pods", labelSelector="app=agent")["items"]
    return Counter(p["spec"].get("nodeName") for p in items if is_active(p) and is_ready(p)
                   and p["status"].get("phase") == "Running"
                   and (image is None or p["spec"]["containers"][0]["image"] == image))


def tinykube(plane: ControlPlane, ns: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(plane.api, "-n", ns, *args, timeout_seconds=120)


def status(plane: ControlPlane, ns: str) -> Obj:
    ds = plane.get(f"/apis/apps/v1/namespaces/{ns}/daemonsets/agent")
    result: Obj = ds.get("status") or {}
    return result


def test_one_pod_per_node_a_late_node_and_a_rolled_out_template(plane: ControlPlane, ns: str) -> None:
    response = plane.http.post(f"/apis/apps/v1/namespaces/{ns}/daemonsets", json=daemon_set("agent:1"))
    assert response.status_code == 201, response.text
    wait_for(lambda: running_per_node(plane, ns) == Counter(NODE_NAMES), "one Running pod per node")
    wait_for(lambda: status(plane, ns).get("numberAvailable") == 3, "status to count 3 available")
    got = status(plane, ns)
    assert (got["desiredNumberScheduled"], got["currentNumberScheduled"], got["numberReady"],
            got["updatedNumberScheduled"], got["numberMisscheduled"]) == (3, 3, 3, 3, 0)
    table = tinykube(plane, ns, "get", "ds")
    assert table.stdout.split("\n")[1].split()[:6] == ["agent", "3", "3", "3", "3", "3"], table.stdout

    plane.kubelets[LATE_NODE] = plane.spawn(
        f"kubelet-{LATE_NODE}", "-m", "kubelet", f"--kubeconfig={plane.api.kubeconfig}",
        f"--hostname-override={LATE_NODE}", "--container-runtime-endpoint=fake", *KUBELET_FLAGS)
    expected = Counter([*NODE_NAMES, LATE_NODE])
    wait_for(lambda: running_per_node(plane, ns) == expected, "a pod on the node that joined", 45)
    wait_for(lambda: status(plane, ns).get("numberAvailable") == 4, "status to count 4 available")

    def at_most_one_unavailable(current: dict[str, Obj]) -> None:
        ready_nodes = {p["spec"].get("nodeName") for p in current.values() if is_active(p) and is_ready(p)}
        assert len(ready_nodes) >= len(expected) - 1, f"more than maxUnavailable nodes down: {ready_nodes}"

    watch = PodWatch.start(plane, ns, at_most_one_unavailable)
    try:
        patch = {"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": "agent:2"}]}}}}
        plane.http.patch(f"/apis/apps/v1/namespaces/{ns}/daemonsets/agent", json=patch,
                         headers={"Content-Type": "application/strategic-merge-patch+json"}).raise_for_status()
        rolled = tinykube(plane, ns, "rollout", "status", "daemonset/agent", "--timeout=90s")
        assert rolled.returncode == 0, rolled.stderr
        assert 'daemon set "agent" successfully rolled out' in rolled.stdout
        wait_for(lambda: running_per_node(plane, ns, "agent:2") == expected, "every node on agent:2")
    finally:
        watch.stop()
    assert watch.events > 0

    history = tinykube(plane, ns, "rollout", "history", "daemonset/agent")
    assert history.returncode == 0, history.stderr
    assert [line.split()[0] for line in history.stdout.splitlines()[2:] if line.strip()] == ["1", "2"]
    pods = plane.get(f"/api/v1/namespaces/{ns}/pods", labelSelector="app=agent")["items"]
    revisions = plane.get(f"/apis/apps/v1/namespaces/{ns}/controllerrevisions")["items"]
    current = max(revisions, key=lambda r: r["revision"])
    assert {p["metadata"]["labels"]["controller-revision-hash"] for p in pods if is_active(p)} == {
        current["metadata"]["labels"]["controller-revision-hash"]}
    assert {p["metadata"]["labels"]["pod-template-generation"] for p in pods if is_active(p)} == {"2"}

    undo = tinykube(plane, ns, "rollout", "undo", "daemonset/agent")
    assert undo.returncode == 0 and "rolled back" in undo.stdout, undo.stderr
    wait_for(lambda: running_per_node(plane, ns, "agent:1") == expected, "every node back on agent:1", 60)
    revisions = plane.get(f"/apis/apps/v1/namespaces/{ns}/controllerrevisions")["items"]
    assert sorted(r["revision"] for r in revisions) == [2, 3], "undo renumbers the first revision to 3"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH")
def test_kubectl_reads_the_rollout(plane: ControlPlane, ns: str, tmp_path: Path) -> None:
    """The real kubectl's status viewer, history viewer and rollbacker work on our API."""
    def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["kubectl", "--kubeconfig", str(plane.api.kubeconfig), "--cache-dir",
                               str(tmp_path), "-n", ns, *args], capture_output=True, text=True, timeout=120)

    created = plane.http.post(f"/apis/apps/v1/namespaces/{ns}/daemonsets", json=daemon_set("agent:1"))
    assert created.status_code == 201, created.text
    status = kubectl("rollout", "status", "ds/agent", "--timeout=60s")
    assert status.returncode == 0 and 'daemon set "agent" successfully rolled out' in status.stdout, status.stderr
    patched = kubectl("set", "image", "ds/agent", "agent=agent:2")
    assert patched.returncode == 0, patched.stderr
    status = kubectl("rollout", "status", "ds/agent", "--timeout=90s")
    assert status.returncode == 0 and "successfully rolled out" in status.stdout, status.stderr
    history = kubectl("rollout", "history", "ds/agent")
    assert history.returncode == 0, history.stderr
    assert [line.split()[0] for line in history.stdout.splitlines()[2:] if line.strip()] == ["1", "2"]
    undo = kubectl("rollout", "undo", "ds/agent")
    assert undo.returncode == 0 and "rolled back" in undo.stdout, undo.stderr
    nodes = Counter(n["metadata"]["name"] for n in plane.get("/api/v1/nodes")["items"])
    wait_for(lambda: running_per_node(plane, ns, "agent:1") == nodes, "kubectl's undo to roll agent:1 out", 60)


def test_logs_have_no_tracebacks(plane: ControlPlane) -> None:
    for component in [*plane.managers, *plane.others, *plane.kubelets.values()]:
        assert "Traceback" not in component.log(), f"{component.name}:\n{component.log()[-3000:]}"
