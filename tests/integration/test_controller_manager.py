"""The controller-manager as a process against a real API server and etcd.

There is no scheduler or kubelet here: the test plays the nodes by marking pods
Running and Ready through pods/status (`mark_pods_ready`). Everything else — the
ReplicaSet, the pods, the rollout — is the controller-manager's work, watched
through the API as a user would.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tinykube.testing.processes import REPO_ROOT, APIServerProcess


DEADLINE_SECONDS = 30.0


@dataclass
class Manager:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def identity(self) -> str:
        for line in self.log().splitlines():
            if "attempting to acquire leader lease" in line:
                return line.rsplit("identity=", 1)[1].strip()
        return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_manager(apiserver: APIServerProcess, log_path: Path, *extra: str) -> Manager:
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "controller_manager", "--kubeconfig", str(apiserver.kubeconfig),
             "--controllers", "replicaset,deployment", *extra],
            cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    return Manager(process, log_path)


def wait_for(condition: Callable[[], Any], what: str, timeout: float = DEADLINE_SECONDS,
             on_poll: Callable[[], None] | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if on_poll is not None:
            on_poll()
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def manager(apiserver: APIServerProcess, tmp_path: Path) -> Iterator[Manager]:
    """One manager per test, so no test runs alongside another test's manager."""
    started = start_manager(apiserver, tmp_path / "controller-manager.log", "--leader-elect=false")
    yield started
    started.stop()


# --- helpers a "node" would be ------------------------------------------------------------


def active_pods(http: httpx.Client, namespace: str, selector: str = "app=web") -> list[dict[str, Any]]:
    response = http.get(f"/api/v1/namespaces/{namespace}/pods", params={"labelSelector": selector})
    response.raise_for_status()
    return [p for p in response.json()["items"] if not p["metadata"].get("deletionTimestamp")]


def mark_pods_ready(http: httpx.Client, namespace: str, selector: str = "app=web") -> None:
    """Play the kubelet: every pod not yet Ready becomes Running + Ready with an IP."""
    for index, pod in enumerate(active_pods(http, namespace, selector)):
        conditions = (pod.get("status") or {}).get("conditions") or []
        if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
            continue
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        pod["status"] = {"phase": "Running", "podIP": f"10.244.0.{index + 10}",
                         "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}]}
        response = http.put(f"/api/v1/namespaces/{namespace}/pods/{pod['metadata']['name']}/status",
                            json=pod)
        assert response.status_code in (200, 404, 409), response.text  # gone or raced: next round


def deployment(name: str, replicas: int, image: str = "nginx:1.26") -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}}}


def get_deployment(http: httpx.Client, namespace: str, name: str = "web") -> dict[str, Any]:
    response = http.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
    response.raise_for_status()
    return response.json()


def rollout_done(http: httpx.Client, namespace: str, name: str = "web") -> bool:
    """kubectl rollout status's test."""
    d = get_deployment(http, namespace, name)
    status, replicas = d.get("status") or {}, d["spec"]["replicas"]
    return (status.get("observedGeneration", 0) >= d["metadata"]["generation"]
            and status.get("updatedReplicas", 0) == replicas == status.get("replicas", 0)
            and status.get("availableReplicas", 0) == replicas)


def replica_sets(http: httpx.Client, namespace: str, selector: str = "app=web") -> list[dict[str, Any]]:
    response = http.get(f"/apis/apps/v1/namespaces/{namespace}/replicasets", params={"labelSelector": selector})
    response.raise_for_status()
    return list(response.json()["items"])


def images(pods: list[dict[str, Any]]) -> set[str]:
    return {p["spec"]["containers"][0]["image"] for p in pods}


def scale(http: httpx.Client, namespace: str, replicas: int) -> None:
    response = http.patch(f"/apis/apps/v1/namespaces/{namespace}/deployments/web/scale",
                          json={"spec": {"replicas": replicas}},
                          headers={"Content-Type": "application/merge-patch+json"})
    assert response.status_code == 200, response.text


# --- tests ---------------------------------------------------------------------------------


def test_deployment_gets_replica_set_and_pods_then_scales(manager: Manager, http: httpx.Client,
                                                          namespace: str) -> None:
    response = http.post(f"/apis/apps/v1/namespaces/{namespace}/deployments", json=deployment("web", 3))
    assert response.status_code == 201, response.text
    ready = lambda: mark_pods_ready(http, namespace)  # noqa: E731
    wait_for(lambda: rollout_done(http, namespace), "3 pods available", on_poll=ready)
    rss = replica_sets(http, namespace)
    assert len(rss) == 1
    rs = rss[0]
    hash_label = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{hash_label}"
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert rs["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    pods = active_pods(http, namespace)
    assert len(pods) == 3
    for pod in pods:
        assert pod["metadata"]["name"].startswith(f"web-{hash_label}-")
        assert pod["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]
        assert pod["metadata"]["ownerReferences"][0]["blockOwnerDeletion"] is True
    d = get_deployment(http, namespace)
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    conditions = {c["type"]: c for c in d["status"]["conditions"]}
    assert conditions["Available"]["status"] == "True"
    assert conditions["Progressing"]["reason"] == "NewReplicaSetAvailable"

    scale(http, namespace, 5)
    wait_for(lambda: rollout_done(http, namespace) and len(active_pods(http, namespace)) == 5,
             "5 pods", on_poll=ready)
    scale(http, namespace, 1)
    wait_for(lambda: rollout_done(http, namespace) and len(active_pods(http, namespace)) == 1,
             "1 pod", on_poll=ready)

    victim = active_pods(http, namespace)[0]["metadata"]["name"]
    assert http.delete(f"/api/v1/namespaces/{namespace}/pods/{victim}").status_code == 200
    replacement = wait_for(lambda: [p for p in active_pods(http, namespace)
                                    if p["metadata"]["name"] != victim], "a replacement pod")
    assert len(replacement) == 1


def test_rolling_update_respects_surge_and_undo_returns(manager: Manager, http: httpx.Client,
                                                        namespace: str, apiserver: APIServerProcess) -> None:
    assert http.post(f"/apis/apps/v1/namespaces/{namespace}/deployments",
                     json=deployment("web", 3)).status_code == 201
    wait_for(lambda: rollout_done(http, namespace), "the first rollout",
             on_poll=lambda: mark_pods_ready(http, namespace))
    observed: list[tuple[int, int]] = []

    def observe_and_play_node() -> None:
        pods = active_pods(http, namespace)
        ready = sum(1 for p in pods for c in (p.get("status") or {}).get("conditions") or []
                    if c["type"] == "Ready" and c["status"] == "True")
        observed.append((len(pods), ready))
        assert len(pods) <= 3 + 1, f"more than replicas+maxSurge pods: {len(pods)}"
        assert ready >= 3 - 0, f"fewer than replicas-maxUnavailable ready: {ready}"
        mark_pods_ready(http, namespace)

    response = http.patch(f"/apis/apps/v1/namespaces/{namespace}/deployments/web",
                          json={"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}},
                          headers={"Content-Type": "application/strategic-merge-patch+json"})
    assert response.status_code == 200, response.text
    wait_for(lambda: rollout_done(http, namespace) and images(active_pods(http, namespace)) == {"nginx:1.27"}
             and len(active_pods(http, namespace)) == 3, "the new image rolled out",
             on_poll=observe_and_play_node)
    assert any(count == 4 for count, _ in observed), "the rollout never used its surge"
    rss = {rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs for rs in replica_sets(http, namespace)}
    assert set(rss) == {"1", "2"}
    assert rss["1"]["spec"]["replicas"] == 0 and rss["2"]["spec"]["replicas"] == 3
    assert get_deployment(http, namespace)["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"

    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    undo = subprocess.run([kubectl, "--kubeconfig", str(apiserver.kubeconfig), "-n", namespace,
                           "rollout", "undo", "deployment/web"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "HOME": str(apiserver.workdir)})
    assert undo.returncode == 0, undo.stderr
    observed.clear()
    wait_for(lambda: rollout_done(http, namespace) and images(active_pods(http, namespace)) == {"nginx:1.26"}
             and len(active_pods(http, namespace)) == 3, "the undo rolled back",
             on_poll=observe_and_play_node)
    rss = {rs["metadata"]["name"]: rs for rs in replica_sets(http, namespace)}
    assert len(rss) == 2, "undo re-uses the old ReplicaSet"
    revisions = sorted(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] for rs in rss.values())
    assert revisions == ["2", "3"]


def test_standby_takes_over_without_duplicates(apiserver: APIServerProcess, http: httpx.Client,
                                               namespace: str, tmp_path: Path) -> None:
    lease = f"cm-{namespace}"
    flags = ["--leader-elect=true", "--leader-elect-lease-duration=3s", "--leader-elect-renew-deadline=2s",
             "--leader-elect-retry-period=0.5s", f"--leader-elect-resource-name={lease}"]
    managers = [start_manager(apiserver, tmp_path / f"cm{i}.log", *flags) for i in range(2)]
    try:
        identities = wait_for(lambda: [m.identity() for m in managers] if all(m.identity() for m in managers)
                              else None, "both candidates to start")

        def holder() -> str:
            response = http.get(f"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/{lease}")
            return str(response.json()["spec"].get("holderIdentity") or "") if response.status_code == 200 else ""

        leader_identity = wait_for(lambda: holder() in identities and holder(), "a leader")
        leader = managers[identities.index(leader_identity)]
        standby = managers[1 - identities.index(leader_identity)]
        assert http.post(f"/apis/apps/v1/namespaces/{namespace}/deployments",
                         json=deployment("web", 3)).status_code == 201
        wait_for(lambda: rollout_done(http, namespace), "3 pods",
                 on_poll=lambda: mark_pods_ready(http, namespace))
        assert "caches synced" in leader.log()
        assert "caches synced" not in standby.log(), "the standby must not run controllers"

        leader.process.send_signal(signal.SIGKILL)
        leader.process.wait(10)
        killed_at = time.monotonic()
        scale(http, namespace, 5)
        wait_for(lambda: holder() == identities[managers.index(standby)], "the standby to take over",
                 timeout=3 + 5)
        assert time.monotonic() - killed_at < 3 + 5
        wait_for(lambda: rollout_done(http, namespace) and len(active_pods(http, namespace)) == 5,
                 "5 pods after takeover", on_poll=lambda: mark_pods_ready(http, namespace))
        rs = replica_sets(http, namespace)[0]
        wait_for(lambda: replica_sets(http, namespace)[0]["status"].get("observedGeneration")
                 == replica_sets(http, namespace)[0]["metadata"]["generation"], "the RS status to settle")
        assert len(replica_sets(http, namespace)) == 1
        assert len(active_pods(http, namespace)) == 5, "no pod was created twice"
        assert rs["spec"]["replicas"] == 5
    finally:
        for m in managers:
            m.stop()
    assert standby.process.returncode == 0
