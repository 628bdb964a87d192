"""The real kubelet on a real Docker engine: pods bound to its node become containers.

A real etcd + API server (session fixtures) and one `python -m kubelet` process on
the Docker engine, with lab backoff settings (1 s doubling to 4 s) and a 1 s resync.
Pods are bound by spec.nodeName, so no scheduler is needed. Everything is observed
the way a user would: through the API (pod status) and the engine (`docker`).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tinykube.cluster.engine import DockerDaemon, remove_containers_with_label
from tinykube.cluster.images import BUSYBOX_IMAGE
from tinykube.testing.processes import REPO_ROOT, APIServerProcess

pytestmark = pytest.mark.e2e

Obj = dict[str, Any]
T = TypeVar("T")
DEADLINE_SECONDS = 60.0


def eventually(probe: Callable[[], T | None], what: str, timeout_seconds: float = DEADLINE_SECONDS) -> T:
    deadline = time.monotonic() + timeout_seconds
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_seconds}s waiting for {what}")
        time.sleep(0.05)


class KubeletProcess:
    def __init__(self, api: APIServerProcess, endpoint: str, workdir: Path) -> None:
        self.api, self.endpoint, self.workdir = api, endpoint, workdir
        self.node = f"e2e-node-{uuid.uuid4().hex[:6]}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.workdir / "kubelet.log", "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "kubelet", f"--kubeconfig={self.api.kubeconfig}",
                 f"--hostname-override={self.node}", f"--container-runtime-endpoint={self.endpoint}",
                 f"--root-dir={self.workdir / 'root'}", "--port=0", "--sync-frequency=1s",
                 "--crash-loop-backoff-initial=1s", "--crash-loop-backoff-max=4s",
                 "--image-pull-backoff-initial=1s", "--image-pull-backoff-max=4s", "--node-status-update-frequency=1s"],
                cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self) -> str:
        path = self.workdir / "kubelet.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


@pytest.fixture(scope="module")
def kubelet(apiserver: APIServerProcess, docker_engine: DockerDaemon, test_images: dict[str, str],
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeletProcess]:
    process = KubeletProcess(apiserver, docker_engine.endpoint, tmp_path_factory.mktemp("kubelet"))
    process.start()
    yield process
    process.stop()
    shutil.rmtree(process.workdir / "root", ignore_errors=True)


class Cluster:
    def __init__(self, http: httpx.Client, namespace: str, kubelet: KubeletProcess, endpoint: str) -> None:
        self.http, self.ns, self.kubelet, self.endpoint = http, namespace, kubelet, endpoint

    def create(self, plural: str, body: Obj) -> Obj:
        response = self.http.post(f"/api/v1/namespaces/{self.ns}/{plural}", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def pod(self, name: str, containers: list[Obj], **spec: Any) -> Obj:
        body = {"metadata": {"name": name}, "spec": {"nodeName": self.kubelet.node, "containers": containers,
                                                     "terminationGracePeriodSeconds": 2, **spec}}
        return self.create("pods", body)

    def get_pod(self, name: str) -> Obj | None:
        response = self.http.get(f"/api/v1/namespaces/{self.ns}/pods/{name}")
        return response.json() if response.status_code == 200 else None

    def wait_pod(self, name: str, condition: Callable[[Obj], bool], what: str,
                 timeout_seconds: float = DEADLINE_SECONDS) -> Obj:
        def probe() -> Obj | None:
            pod = self.get_pod(name)
            return pod if pod is not None and condition(pod) else None
        try:
            return eventually(probe, f"pod {name}: {what}", timeout_seconds)
        except pytest.fail.Exception:
            print("last status:", json.dumps((self.get_pod(name) or {}).get("status"), indent=1))
            print("kubelet log:", self.kubelet.log_tail())
            raise

    def docker(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(["docker", "-H", self.endpoint, *args], capture_output=True, text=True, timeout=30,
                                check=False)
        if check:
            assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def container_ids(self, uid: str, kind: str = "container") -> list[str]:
        return self.docker("ps", "-aq", "--no-trunc", "--filter", f"label=io.kubernetes.pod.uid={uid}",
                           "--filter", f"label=io.kubernetes.docker.type={kind}").split()


@pytest.fixture
def cluster(http: httpx.Client, namespace: str, kubelet: KubeletProcess, docker_engine: DockerDaemon) -> Iterator[Cluster]:
    yield Cluster(http, namespace, kubelet, docker_engine.endpoint)
    http.delete(f"/api/v1/namespaces/{namespace}/pods", params={"gracePeriodSeconds": "0"})
    remove_containers_with_label(docker_engine.endpoint, f"io.kubernetes.pod.namespace={namespace}")


def status_of(pod: Obj, name: str | None = None) -> Obj:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return next((s for s in statuses if name is None or s["name"] == name), {})


def is_ready(pod: Obj) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in (pod.get("status") or {}).get("conditions") or [])


def shell(name: str, script: str, **fields: Any) -> Obj:
    return {"name": name, "image": BUSYBOX_IMAGE, "command": ["sh", "-c", script], **fields}


def test_a_pod_runs_and_reports_its_ip(cluster: Cluster) -> None:
    created = cluster.pod("web", [shell("app", "sleep 3600")])
    pod = cluster.wait_pod("web", lambda p: is_ready(p) and p["status"].get("phase") == "Running", "Running and Ready")
    [sandbox] = cluster.container_ids(created["metadata"]["uid"], "podsandbox")
    bridge_ip = cluster.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", sandbox)
    assert pod["status"]["podIP"] == bridge_ip and pod["status"]["podIPs"] == [{"ip": bridge_ip}]
    app = status_of(pod, "app")
    [container_id] = cluster.container_ids(created["metadata"]["uid"])
    assert app["containerID"] == f"docker://{container_id}"
    assert (app["ready"], app["started"], app["restartCount"]) == (True, True, 0)
    assert "running" in app["state"] and app["imageID"].startswith("sha256:")
    assert {c["type"] for c in pod["status"]["conditions"]} >= {
        "PodScheduled", "PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready"}


def test_a_crashing_container_is_restarted_with_growing_backoff(cluster: Cluster) -> None:
    cluster.pod("crash", [shell("app", "echo bye; exit 1")])
    messages: set[str] = set()

    def backoffs_seen(pod: Obj) -> bool:
        waiting = status_of(pod, "app").get("state", {}).get("waiting") or {}
        if waiting.get("reason") == "CrashLoopBackOff":
            messages.add(waiting["message"].split(" restarting")[0])
        return {"back-off 1s", "back-off 2s", "back-off 4s"} <= messages and status_of(pod, "app")["restartCount"] >= 3
    pod = cluster.wait_pod("crash", backoffs_seen, "three restarts with back-off 1s, 2s, 4s")
    last = status_of(pod, "app")["lastState"]["terminated"]
    assert (last["exitCode"], last["reason"]) == (1, "Error")
    assert pod["status"]["phase"] == "Running" and not is_ready(pod)


def test_an_oom_killed_container_reports_oomkilled(cluster: Cluster) -> None:
    cluster.pod("hungry", [shell("app", "x=0123456789; while :; do x=$x$x; done",
                                 resources={"limits": {"memory": "20Mi"}})], restartPolicy="Never")
    pod = cluster.wait_pod("hungry", lambda p: "terminated" in status_of(p, "app").get("state", {}),
                           "the container to end")
    terminated = status_of(pod, "app")["state"]["terminated"]
    assert terminated["reason"] == "OOMKilled" and terminated["exitCode"] != 0
    cluster.wait_pod("hungry", lambda p: p["status"]["phase"] == "Failed", "phase Failed")


def test_a_failing_liveness_probe_restarts_the_container(cluster: Cluster) -> None:
    probe = {"exec": {"command": ["cat", "/tmp/healthy"]}, "periodSeconds": 1, "failureThreshold": 2}
    cluster.pod("sick", [shell("app", "touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 3600",
                               livenessProbe=probe)])
    pod = cluster.wait_pod("sick", lambda p: status_of(p, "app").get("restartCount", 0) >= 1, "a restart")
    last = status_of(pod, "app")["lastState"]["terminated"]
    assert last["exitCode"] != 0  # killed, not a clean exit


def test_readiness_flips_ready_both_ways(cluster: Cluster) -> None:
    probe = {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 1}
    created = cluster.pod("gate", [shell("app", "mkdir -p /www && touch /www/ready && httpd -f -p 8080 -h /www",
                                         readinessProbe=probe, ports=[{"containerPort": 8080}])])
    cluster.wait_pod("gate", is_ready, "Ready True")
    [container_id] = cluster.container_ids(created["metadata"]["uid"])
    cluster.docker("exec", container_id, "rm", "/www/ready")
    pod = cluster.wait_pod("gate", lambda p: not is_ready(p), "Ready False")
    assert status_of(pod, "app")["ready"] is False and "running" in status_of(pod, "app")["state"]
    cluster.docker("exec", container_id, "touch", "/www/ready")
    pod = cluster.wait_pod("gate", is_ready, "Ready True again")
    assert status_of(pod, "app")["restartCount"] == 0


def test_configmap_and_secret_reach_env_and_files(cluster: Cluster) -> None:
    cluster.create("configmaps", {"metadata": {"name": "settings"}, "data": {"greeting": "hello", "color": "blue"}})
    cluster.create("secrets", {"metadata": {"name": "creds"},
                               "data": {"password": base64.b64encode(b"s3cret").decode()}})
    env = [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "greeting"}}},
           {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
           {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    volumes = [{"name": "config", "configMap": {"name": "settings"}},
               {"name": "secret", "secret": {"secretName": "creds", "defaultMode": 0o400}}]
    mounts = [{"name": "config", "mountPath": "/etc/config"}, {"name": "secret", "mountPath": "/etc/secret"}]
    created = cluster.pod("configured", [shell("app", "sleep 3600", env=env, volumeMounts=mounts,
                                               envFrom=[{"configMapRef": {"name": "settings"}, "prefix": "CFG_"}])],
                          volumes=volumes)
    cluster.wait_pod("configured", is_ready, "Ready")
    [container_id] = cluster.container_ids(created["metadata"]["uid"])
    environment = set(cluster.docker("exec", container_id, "env").splitlines())
    assert {"GREETING=hello", "PASSWORD=s3cret", "POD_NAME=configured", "CFG_color=blue"} <= environment
    assert cluster.docker("exec", container_id, "cat", "/etc/config/greeting", "/etc/secret/password") == "hellos3cret"

    response = cluster.http.patch(f"/api/v1/namespaces/{cluster.ns}/configmaps/settings",
                                  json={"data": {"greeting": "bonjour"}},
                                  headers={"Content-Type": "application/merge-patch+json"})
    assert response.status_code == 200, response.text
    eventually(lambda: cluster.docker("exec", container_id, "cat", "/etc/config/greeting") == "bonjour",
               "the changed ConfigMap in the mounted file")


def test_a_missing_config_key_is_create_container_config_error(cluster: Cluster) -> None:
    env = [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "k"}}}]
    cluster.pod("misconfigured", [shell("app", "sleep 3600", env=env)])
    pod = cluster.wait_pod("misconfigured", lambda p: status_of(p, "app").get("state", {}).get("waiting", {}).get(
        "reason") == "CreateContainerConfigError", "CreateContainerConfigError")
    assert status_of(pod, "app")["state"]["waiting"]["message"] == 'configmap "absent" not found'


def test_deleting_a_pod_sends_sigterm_and_removes_its_containers(cluster: Cluster, tmp_path: Path) -> None:
    marker_dir = tmp_path / "marker"
    script = "trap 'echo got-sigterm > /out/marker; exit 0' TERM; while :; do sleep 0.1; done"
    created = cluster.pod("polite", [shell("app", script, volumeMounts=[{"name": "out", "mountPath": "/out"}])],
                          volumes=[{"name": "out", "hostPath": {"path": str(marker_dir), "type": "DirectoryOrCreate"}}],
                          terminationGracePeriodSeconds=20)
    cluster.wait_pod("polite", is_ready, "Ready")
    uid = created["metadata"]["uid"]
    response = cluster.http.delete(f"/api/v1/namespaces/{cluster.ns}/pods/polite")
    assert response.status_code == 200, response.text
    eventually(lambda: cluster.get_pod("polite") is None, "the pod to leave the API", timeout_seconds=20)
    assert (marker_dir / "marker").read_text().strip() == "got-sigterm"
    assert cluster.container_ids(uid) == [] and cluster.container_ids(uid, "podsandbox") == []


def test_a_missing_image_shows_err_image_pull_then_backoff(cluster: Cluster) -> None:
    cluster.pod("ghost", [{"name": "app", "image": "tinykube/no-such-image:1.0"}])
    reasons: dict[str, str] = {}

    def both_seen(pod: Obj) -> bool:
        waiting = status_of(pod, "app").get("state", {}).get("waiting") or {}
        if waiting.get("reason") in ("ErrImagePull", "ImagePullBackOff"):
            reasons[waiting["reason"]] = waiting["message"]
        return len(reasons) == 2
    cluster.wait_pod("ghost", both_seen, "ErrImagePull and ImagePullBackOff")
    assert reasons["ErrImagePull"].startswith('Failed to pull image "tinykube/no-such-image:1.0": ')
    assert reasons["ImagePullBackOff"] == 'Back-off pulling image "tinykube/no-such-image:1.0"'


def test_restarting_the_kubelet_keeps_healthy_containers_and_removes_orphans(cluster: Cluster) -> None:
    kept = cluster.pod("steady", [shell("app", "sleep 3600")])
    doomed = cluster.pod("doomed", [shell("app", "sleep 3600")])
    for name in ("steady", "doomed"):
        cluster.wait_pod(name, is_ready, "Ready")
    before = status_of(cluster.get_pod("steady") or {}, "app")
    cluster.kubelet.stop()
    response = cluster.http.delete(f"/api/v1/namespaces/{cluster.ns}/pods/doomed", params={"gracePeriodSeconds": "0"})
    assert response.status_code == 200, response.text
    cluster.kubelet.start()

    cluster.pod("after", [shell("app", "sleep 3600")])
    cluster.wait_pod("after", is_ready, "a pod started by the new kubelet")
    eventually(lambda: cluster.container_ids(doomed["metadata"]["uid"], "podsandbox") == [] and
               cluster.container_ids(doomed["metadata"]["uid"]) == [], "the orphaned pod's containers to go")
    after = status_of(cluster.get_pod("steady") or {}, "app")
    assert (after["containerID"], after["restartCount"]) == (before["containerID"], before["restartCount"])
    assert cluster.container_ids(kept["metadata"]["uid"]) == [before["containerID"].removeprefix("docker://")]


def test_the_node_reports_the_images_present_on_its_engine(cluster: Cluster) -> None:
    def images() -> list[str] | None:
        response = cluster.http.get(f"/api/v1/nodes/{cluster.kubelet.node}")
        if response.status_code != 200:
            return None  # not registered yet
        node = response.json()
        names = [name for image in node.get("status", {}).get("images") or [] for name in image["names"]]
        return names if BUSYBOX_IMAGE in names else None

    names = eventually(images, "node.status.images to list the busybox test image")
    assert any(name.startswith("sha256:") for name in names)
