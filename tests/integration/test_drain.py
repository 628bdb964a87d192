"""Drain respects PodDisruptionBudgets: the real kubectl and tinykube, on hollow nodes.

A whole control plane (`control_plane_fixtures.ControlPlane`: etcd, API server,
controller-managers with the disruption controller, scheduler, hollow kubelets).
node-c is cordoned, so a Deployment of 3 lands on node-a and node-b only; a budget
of minAvailable 2 then allows one disruption at a time. Draining the node with two
of the pods must evict one, be refused (429) for the other until the first one's
replacement is Ready on the other node, and never leave fewer than 2 pods ready.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from control_plane_fixtures import ControlPlane, PodWatch, is_active, is_ready, wait_for
from test_control_plane import plane  # noqa: F401 - the module-scoped fixture, shared

from tinykube.testing.processes import REPO_ROOT

Obj = dict[str, Any]
VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."
MERGE = {"Content-Type": "application/merge-patch+json"}


def set_unschedulable(plane: ControlPlane, node: str, value: bool) -> None:
    plane.http.patch(f"/api/v1/nodes/{node}", json={"spec": {"unschedulable": value or None}},
                     headers=MERGE).raise_for_status()


@pytest.fixture
def ns(plane: ControlPlane) -> Iterator[str]:
    name = f"drain-{uuid.uuid4().hex[:8]}"
    plane.http.post("/api/v1/namespaces", json={"metadata": {"name": name}}).raise_for_status()
    set_unschedulable(plane, "node-c", True)
    yield name
    for node in ("node-a", "node-b", "node-c"):
        set_unschedulable(plane, node, False)
    plane.http.delete(f"/api/v1/namespaces/{name}")


def app_pods(plane: ControlPlane, ns: str) -> list[Obj]:
    items = plane.get(f"/api/v1/namespaces/{ns}/pods", labelSelector="app=web")["items"]
    return [p for p in items if is_active(p)]


def three_ready(plane: ControlPlane, ns: str) -> list[Obj] | None:
    found = app_pods(plane, ns)
    ok = len(found) == 3 and all(p["spec"].get("nodeName") and is_ready(p) for p in found)
    return found if ok else None


def pdb_allows(plane: ControlPlane, ns: str, allowed: int) -> bool:
    status = plane.get(f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets/web").get(
        "status") or {}
    return status.get("disruptionsAllowed") == allowed and status.get("currentHealthy") == 3


def deploy_with_budget(plane: ControlPlane, ns: str, min_available: int = 2) -> str:
    """Deployment web (3) and PDB web; returns the node that holds two of the pods."""
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "app", "image": "nginx",
                                           "resources": {"requests": {"cpu": "100m"}}}]}}}}
    plane.http.post(f"/apis/apps/v1/namespaces/{ns}/deployments", json=body).raise_for_status()
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
           "spec": {"minAvailable": min_available, "selector": {"matchLabels": {"app": "web"}}}}
    plane.http.post(f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets",
                    json=pdb).raise_for_status()
    found = wait_for(lambda: three_ready(plane, ns), "3 ready pods")
    wait_for(lambda: pdb_allows(plane, ns, 3 - min_available), "the budget's status")
    per_node = Counter(p["spec"]["nodeName"] for p in found)
    assert set(per_node) <= {"node-a", "node-b"}, per_node
    return per_node.most_common(1)[0][0]


def at_least_two_ready(pods: dict[str, Obj]) -> None:
    ready = [p["metadata"]["name"] for p in pods.values()
             if p["metadata"]["labels"].get("app") == "web" and is_active(p) and is_ready(p)]
    assert len(ready) >= 2, f"only {ready} ready"


def check_drained(plane: ControlPlane, ns: str, node: str, output: str) -> None:
    assert f"node/{node} cordoned" in output
    assert VIOLATION in output  # the second eviction waited for the budget
    assert f"node/{node} drained" in output
    found = wait_for(lambda: three_ready(plane, ns), "3 ready pods after the drain")
    assert all(p["spec"]["nodeName"] not in (node, "node-c") for p in found)
    assert plane.node(node)["spec"]["unschedulable"] is True


def kubectl(plane: ControlPlane, cache: Path, *args: str,
            timeout_seconds: float = 150) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["kubectl", "--kubeconfig", str(plane.api.kubeconfig), "--cache-dir",
                           str(cache), *args], capture_output=True, text=True,
                          timeout=timeout_seconds)


needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH")


@needs_kubectl
def test_kubectl_drain_evicts_one_pod_at_a_time(plane: ControlPlane, ns: str,
                                                 tmp_path: Path) -> None:
    node = deploy_with_budget(plane, ns)
    watch = PodWatch.start(plane, ns, at_least_two_ready)
    try:
        result = kubectl(plane, tmp_path, "drain", node, "--ignore-daemonsets", "--timeout=120s")
    finally:
        watch.stop()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    evicted = [line for line in result.stdout.splitlines() if line.endswith(" evicted")]
    assert len(evicted) == 2, output
    assert "error when evicting pods/" in result.stderr and "(will retry after 5s)" in result.stderr
    check_drained(plane, ns, node, output)


def test_tinykube_drain_evicts_one_pod_at_a_time(plane: ControlPlane, ns: str) -> None:
    node = deploy_with_budget(plane, ns)
    watch = PodWatch.start(plane, ns, at_least_two_ready)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "tinykube.cli", "--kubeconfig", str(plane.api.kubeconfig),
             "drain", node, "--ignore-daemonsets", "--timeout=2m0s"],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=150)
    finally:
        watch.stop()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert sum(line.startswith(f"evicting pod {ns}/") for line in result.stdout.splitlines()) == 2
    assert f'(will retry after 5s): {VIOLATION}' in result.stderr
    check_drained(plane, ns, node, output)
    uncordoned = subprocess.run(
        [sys.executable, "-m", "tinykube.cli", "--kubeconfig", str(plane.api.kubeconfig),
         "uncordon", node], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert uncordoned.stdout == f"node/{node} uncordoned\n"


def test_an_eviction_the_budget_forbids_is_429_and_deletes_nothing(plane: ControlPlane,
                                                                    ns: str) -> None:
    deploy_with_budget(plane, ns, min_available=3)
    name = app_pods(plane, ns)[0]["metadata"]["name"]
    response = plane.http.post(f"/api/v1/namespaces/{ns}/pods/{name}/eviction", json={
        "apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name}})
    assert response.status_code == 429
    assert response.json() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": VIOLATION, "reason": "TooManyRequests", "code": 429,
        "details": {"causes": [{"reason": "DisruptionBudget", "message":
                                "The disruption budget web needs 3 healthy pods and has 3 "
                                "currently"}]}}
    assert not plane.get(f"/api/v1/namespaces/{ns}/pods/{name}")["metadata"].get(
        "deletionTimestamp")


@needs_kubectl
def test_kubectl_delete_pod_and_get_pdb(plane: ControlPlane, ns: str, tmp_path: Path) -> None:
    deploy_with_budget(plane, ns)
    table = kubectl(plane, tmp_path, "get", "pdb", "-n", ns, timeout_seconds=60)
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.splitlines()
    assert header.split() == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED",
                              "DISRUPTIONS", "AGE"]
    assert row.split()[:4] == ["web", "2", "N/A", "1"]
    name = app_pods(plane, ns)[0]["metadata"]["name"]
    deleted = kubectl(plane, tmp_path, "delete", "pod", name, "-n", ns, timeout_seconds=60)
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout == f'pod "{name}" deleted\n'
