"""The cluster registry on the compose cluster: `image: busybox` with the default pull
policy (Always) is pulled from it, an image pushed with `load-image` after `up` is
listed by `tinykube images` and pulled by a node added later, and a missing image
is ErrImagePull then ImagePullBackOff with the registry's message.

A compose project of its own (tinykube-e2e-registry, free API and registry ports),
removed with its volumes at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tinykube.cluster.engine import DockerDaemon
from tinykube.testing.processes import REPO_ROOT, free_port

pytestmark = pytest.mark.e2e

PROJECT = "tinykube-e2e-registry"
TINYKUBE = [str(Path(sys.executable).with_name("tinykube"))]


@dataclass
class Cluster:
    env: dict[str, str]
    kubeconfig: Path

    def run(self, *argv: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(argv), cwd=REPO_ROOT, env=self.env, text=True, capture_output=True,
                              timeout=timeout)

    def ok(self, *args: str, timeout: float = 120) -> str:
        result = self.run(*TINYKUBE, "--kubeconfig", str(self.kubeconfig), *args, timeout=timeout)
        assert result.returncode == 0, f"tinykube {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def get(self, *args: str) -> Any:
        return json.loads(self.ok("get", *args, "-o", "json"))

    def apply(self, manifest: dict[str, Any]) -> None:
        result = subprocess.run([*TINYKUBE, "--kubeconfig", str(self.kubeconfig), "apply", "-f", "-"], cwd=REPO_ROOT,
                                env=self.env, input=json.dumps(manifest), text=True, capture_output=True, timeout=60)
        assert result.returncode == 0, result.stderr

    def events(self, pod: str) -> list[tuple[str, str]]:
        items = self.get("events", "--field-selector", f"involvedObject.name={pod}")["items"]
        return [(e["reason"], e["message"]) for e in items]


def wait_for(condition: Callable[[], bool], timeout_seconds: float, what: str) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout_seconds}s waiting for {what}"
        time.sleep(1)


def pod(name: str, image: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"terminationGracePeriodSeconds": 1, **spec,
                     "containers": [{"name": "main", "image": image, "command": ["sleep", "3600"]}]}}


@pytest.fixture(scope="module")
def cluster(docker_engine: DockerDaemon) -> Iterator[Cluster]:
    env = {**os.environ, "TINYKUBE_PROJECT": PROJECT, "TINYKUBE_API_PORT": str(free_port()),
           "TINYKUBE_REGISTRY_PORT": str(free_port()), "DOCKER_HOST": docker_engine.endpoint}
    env.pop("KUBECONFIG", None)
    made = Cluster(env, REPO_ROOT / "var" / PROJECT / "kubeconfig")
    made.run(*TINYKUBE, "down", "--volumes")
    up = made.run(*TINYKUBE, "up")
    assert up.returncode == 0, f"{up.stdout}\n{up.stderr}"
    yield made
    down = made.run(*TINYKUBE, "down", "--volumes")
    assert down.returncode == 0, down.stderr


def test_busybox_with_the_default_pull_policy_is_pulled_from_the_cluster_registry(cluster: Cluster) -> None:
    listed = cluster.run(*TINYKUBE, "images").stdout.split()
    assert {"library/busybox:latest", "library/nginx:latest", "tinykube/tinykube:latest"} <= set(listed)
    cluster.apply(pod("box", "busybox"))
    wait_for(lambda: cluster.get("pod", "box")["status"].get("phase") == "Running", 120, "the busybox pod to run")
    wait_for(lambda: any(reason == "Pulled" and message.startswith('Successfully pulled image "busybox" in ')
                         for reason, message in cluster.events("box")), 60, "the Pulled event")


def test_an_image_pushed_with_load_image_runs_on_a_node_added_later(cluster: Cluster) -> None:
    image = f"tinykube/e2e-pushed:{uuid.uuid4().hex[:6]}"
    assert subprocess.run(["docker", "tag", "tinykube/busybox:1", image], capture_output=True).returncode == 0
    try:
        cluster.ok("load-image", image, timeout=300)
    finally:
        subprocess.run(["docker", "rmi", image], capture_output=True)
    assert image in cluster.run(*TINYKUBE, "images").stdout.split()
    added = cluster.run(*TINYKUBE, "node", "add")
    assert added.returncode == 0, added.stderr
    try:
        cluster.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "pushed", "namespace": "default"},
                       "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "pushed"}}, "template": {
                           "metadata": {"labels": {"app": "pushed"}},
                           "spec": pod("", image, nodeSelector={"kubernetes.io/hostname": "node-3"})["spec"]}}})

        def running_on_node3() -> bool:
            pods = cluster.get("pods", "-l", "app=pushed")["items"]
            return any(p["spec"].get("nodeName") == "node-3" and p["status"].get("phase") == "Running" for p in pods)
        wait_for(running_on_node3, 180, "the pushed image's pod to run on node-3")
        name = cluster.get("pods", "-l", "app=pushed")["items"][0]["metadata"]["name"]
        assert ("Pulling", f'Pulling image "{image}"') in cluster.events(name)
    finally:
        cluster.ok("delete", "deployment", "pushed")
        cluster.run(*TINYKUBE, "node", "remove", "node-3")


def test_a_missing_image_is_err_image_pull_then_image_pull_backoff_with_the_registry_message(cluster: Cluster) -> None:
    image = "registry:5000/tinykube/missing:1"
    cluster.apply(pod("ghost", image))

    def backing_off() -> bool:
        waiting = cluster.get("pod", "ghost")["status"]["containerStatuses"][0]["state"].get("waiting") or {}
        return waiting.get("reason") == "ImagePullBackOff"
    wait_for(backing_off, 120, "ImagePullBackOff")
    events = cluster.events("ghost")
    assert any(reason == "Failed" and message.startswith(f'Failed to pull image "{image}": ')
               and "manifest unknown" in message for reason, message in events), events
    assert ("Failed", "Error: ErrImagePull") in events and ("Failed", "Error: ImagePullBackOff") in events
