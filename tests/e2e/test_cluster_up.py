"""The one-command cluster, as a user meets it: `make up` from no tinykube images and
no running cluster, the example app on both nodes, `down` and `up` keeping every
object, a node lost and back, `load-image`, `node add|remove`, and `up`'s bad paths.

The cluster is a compose project of its own (TINYKUBE_PROJECT=tinykube-e2e on a free
API port), so a developer's own `tinykube` cluster is never touched; it is removed
with its volumes at the end.
"""

from __future__ import annotations

import base64
import signal
import ipaddress
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from selenium.webdriver.common.by import By

from ingress_controller.proxy import self_signed
from tinykube import pki
from tinykube.cluster.engine import DockerDaemon
from tinykube.cluster.images import (
    DEBOOTSTRAP_BASE_IMAGE,
    REDIS_IMAGE,
    SAMPLE_IMAGES,
    TINYKUBE_IMAGE,
    build_sample_images,
)
from tinykube.cluster.registry import NGINX_COMPAT_IMAGE
from tinykube.testing.browser import missing_browser, screenshot, start_browser, texts, wait
from tinykube.testing.processes import REPO_ROOT, free_port

pytestmark = pytest.mark.e2e

PROJECT = "tinykube-e2e"
TINYKUBE = [str(Path(sys.executable).with_name("tinykube"))]  # the console script, as users run it
EXAMPLE = REPO_ROOT / "examples" / "web-app.yaml"
NAMESPACE = "web-demo"
# The compose file's --node-monitor-grace-period (20 s) + --pod-eviction-timeout
# (30 s), plus the time to notice, schedule and start: a generous deadline.
EVICTION_DEADLINE_SECONDS = 150


@dataclass
class Cluster:
    env: dict[str, str]
    kubeconfig: Path

    def run(self, *argv: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(argv), cwd=REPO_ROOT, env={**self.env, **(env or {})}, text=True,
                              capture_output=True, timeout=timeout)

    def tinykube(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return self.run(*TINYKUBE, "--kubeconfig", str(self.kubeconfig), *args, timeout=timeout)

    def ok(self, *args: str, timeout: float = 120) -> str:
        result = self.tinykube(*args, timeout=timeout)
        assert result.returncode == 0, f"tinykube {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def get(self, *args: str) -> Any:
        return json.loads(self.ok("get", *args, "-o", "json"))

    def node_container(self, node: str) -> str:
        found = self.run("docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={PROJECT}",
                         "--filter", f"label=com.docker.compose.service={node}").stdout.split()
        assert len(found) == 1, f"want one container for {node}, found {found}"
        return found[0]


def wait_for(condition: Callable[[], bool], timeout_seconds: float, what: str) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout_seconds}s waiting for {what}"
        time.sleep(1)


def docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], text=True, capture_output=True, timeout=300)


def remove_tinykube_images() -> None:
    """No tinykube image at all, as on a fresh machine (a cluster still using them is a
    conflict the developer must resolve: the test says so instead of skipping)."""
    for tag in [TINYKUBE_IMAGE, REDIS_IMAGE, DEBOOTSTRAP_BASE_IMAGE, NGINX_COMPAT_IMAGE,
                *SAMPLE_IMAGES]:  # children before the base
        if docker("image", "inspect", tag).returncode != 0:
            continue
        removed = docker("rmi", tag)
        assert removed.returncode == 0, (f"cannot remove {tag} for a cold start: {removed.stderr.strip()} "
                                         "(is a tinykube cluster up? `tinykube down` first)")


def running_web_pods(cluster: Cluster) -> list[dict[str, Any]]:
    pods = cluster.get("pods", "-n", NAMESPACE, "-l", "app=web")["items"]
    return [p for p in pods if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")
            and all(c.get("ready") for c in p["status"].get("containerStatuses") or [{}])]


def web_pods_by_node(cluster: Cluster) -> dict[str, int]:
    counts: dict[str, int] = {}
    for pod in running_web_pods(cluster):
        counts[pod["spec"]["nodeName"]] = counts.get(pod["spec"]["nodeName"], 0) + 1
    return counts


def ingress_ip(cluster: Cluster, service_name: str) -> str:
    """The Service's load balancer address, "" before it has one."""
    service = cluster.get("service", service_name, "-n", NAMESPACE)
    return str((((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [{}])[0].get("ip", ""))


def answers_through(address: str) -> bool:
    try:
        return httpx.get(f"http://{address}/", timeout=3).text.startswith("pod=web-")
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def cluster(docker_engine: DockerDaemon) -> Iterator[Cluster]:
    env = {**os.environ, "TINYKUBE_PROJECT": PROJECT, "TINYKUBE_API_PORT": str(free_port()),
           "DOCKER_HOST": docker_engine.endpoint}
    env.pop("KUBECONFIG", None)
    made = Cluster(env, REPO_ROOT / "var" / PROJECT / "kubeconfig")
    made.run(*TINYKUBE, "down", "--volumes")  # a cluster left by a killed earlier run
    yield made
    down = made.run(*TINYKUBE, "down", "--volumes")
    assert down.returncode == 0, down.stderr
    build_sample_images(docker_engine.endpoint)  # the other e2e tests use them


def test_make_up_from_nothing_runs_the_example_on_both_nodes_and_keeps_it_across_down_and_up(
        cluster: Cluster) -> None:
    remove_tinykube_images()
    up = cluster.run("make", "up")
    assert up.returncode == 0, f"make up failed:\n{up.stdout[-3000:]}\n{up.stderr[-3000:]}"
    assert "tinykube is up" in up.stdout
    assert f"export KUBECONFIG={cluster.kubeconfig}" in up.stdout
    nodes = {n["metadata"]["name"] for n in cluster.get("nodes")["items"]}
    assert nodes == {"node-1", "node-2"}

    applied = cluster.ok("apply", "-f", str(EXAMPLE))
    assert "deployment.apps/web created" in applied
    wait_for(lambda: sum(web_pods_by_node(cluster).values()) == 4, 120, "4 web pods Running and ready")
    assert set(web_pods_by_node(cluster)) == {"node-1", "node-2"}, web_pods_by_node(cluster)
    # The pods really serve: the echo app answers with its pod's name and the ConfigMap's message.
    pod = running_web_pods(cluster)[0]["metadata"]["name"]
    answer = cluster.ok("exec", "-n", NAMESPACE, pod, "--", "wget", "-qO-", "http://127.0.0.1:8080/")
    assert f"pod={pod}" in answer and "message=hello-from-tinykube" in answer
    assert_pods_reach_each_other_across_nodes(cluster)
    for cidr in ("10.244.0.0/16", "10.96.0.0/16"):  # stray cluster packets die on this host
        assert "unreachable" in cluster.run("ip", "-4", "route", "show", cidr).stdout

    # A load balancer's address is the Service's for its life: the same after down and up.
    cluster.ok("expose", "deployment", "web", "-n", NAMESPACE, "--name", "web-lb", "--type", "LoadBalancer",
               "--port", "80", "--target-port", "8080")
    wait_for(lambda: bool(ingress_ip(cluster, "web-lb")), 120, "web-lb to get an external address")
    address = ingress_ip(cluster, "web-lb")
    wait_for(lambda: answers_through(address), 60, f"web-lb answering on {address}")

    down = cluster.run(*TINYKUBE, "down")
    assert down.returncode == 0, down.stderr
    assert cluster.run("docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}").stdout == ""
    again = cluster.run("make", "up")
    assert again.returncode == 0, f"second make up failed:\n{again.stdout[-3000:]}\n{again.stderr[-3000:]}"
    assert "building" not in again.stdout  # nothing changed, nothing rebuilt
    assert cluster.get("deployment", "web", "-n", NAMESPACE)["spec"]["replicas"] == 4
    assert cluster.get("configmap", "web-config", "-n", NAMESPACE)["data"]["greeting"] == "hello-from-tinykube"
    wait_for(lambda: sum(web_pods_by_node(cluster).values()) == 4, 120, "4 web pods Running after down and up")
    wait_for(lambda: answers_through(address), 120, f"web-lb answering on {address} again after down and up")
    assert ingress_ip(cluster, "web-lb") == address


def test_nodes_hold_only_the_ca_and_a_bootstrap_token_and_have_their_own_certificates(cluster: Cluster) -> None:
    """TLS bootstrap: a node's /etc/tinykube has no CA key, token file or admin kubeconfig; its
    kubelet and serving certificates came through approved CertificateSigningRequests."""
    held = cluster.run("docker", "exec", cluster.node_container("node-1"), "ls", "/etc/tinykube").stdout.split()
    assert set(held) == {"ca.crt", "bootstrap-kubelet.kubeconfig"}, held  # no shared add-on token either
    requests = cluster.get("csr")["items"]
    serving = {r["spec"]["username"] for r in requests if r["spec"]["signerName"] == "kubernetes.io/kubelet-serving"
               and (r.get("status") or {}).get("certificate")}
    assert serving >= {"system:node:node-1", "system:node:node-2"}, serving
    assert any(r["spec"]["signerName"] == "kubernetes.io/kube-apiserver-client-kubelet"
               and r["spec"]["username"].startswith("system:bootstrap:") for r in requests)


def test_a_stopped_node_loses_its_pods_to_the_other_and_comes_back_schedulable(cluster: Cluster) -> None:
    wait_for(lambda: web_pods_by_node(cluster).get("node-2", 0) > 0, 120, "web pods on node-2")
    address = ingress_ip(cluster, "web-lb")  # from the first test
    node2 = cluster.node_container("node-2")
    assert docker("stop", node2).returncode == 0
    try:
        wait_for(lambda: web_pods_by_node(cluster) == {"node-1": 4}, EVICTION_DEADLINE_SECONDS,
                 "all 4 web pods Running on node-1")
        ready = {c["type"]: c["status"] for c in cluster.get("node", "node-2")["status"]["conditions"]}
        assert ready["Ready"] == "Unknown"
    finally:
        assert docker("start", node2).returncode == 0

    def node2_ready_and_untainted() -> bool:
        node = cluster.get("node", "node-2")
        ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}
        return ready.get("Ready") == "True" and not node["spec"].get("taints")

    try:
        wait_for(node2_ready_and_untainted, 120, "node-2 Ready without taints")
    except AssertionError:
        node = cluster.get("node", "node-2")
        logs = docker("logs", "--tail", "40", node2)
        raise AssertionError(f"node-2 after restart: conditions={node['status'].get('conditions')} "
                             f"taints={node['spec'].get('taints')}\n{logs.stdout[-3000:]}{logs.stderr[-3000:]}") from None
    cluster.ok("scale", "deployment", "web", "-n", NAMESPACE, "--replicas=8")
    wait_for(lambda: web_pods_by_node(cluster).get("node-2", 0) > 0, 120, "new web pods scheduled on node-2")
    # The load balancer followed the node set (node-2 out, then back) at the same address.
    assert address and ingress_ip(cluster, "web-lb") == address
    wait_for(lambda: answers_through(address), 60, f"web-lb answering on {address} after node-2's return")


# A raw read of one etcd key inside the etcd container (the image's Python and aetcd).
RAW_ETCD_READ = """
import asyncio, sys, aetcd
async def main():
    async with aetcd.Client(host="127.0.0.1", port=2379) as client:
        got = await client.get(sys.argv[1].encode())
        sys.stdout.write(got.value.hex() if got else "")
asyncio.run(main())
"""


def test_secrets_are_encrypted_in_etcd_and_plaintext_through_the_api(cluster: Cluster) -> None:
    """`etcdctl get` of a Secret shows `k8s:enc:aesgcm:v1:`; the API answers plaintext."""
    name = "e2e-encrypted"
    cluster.ok("create", "secret", "generic", name, "-n", "default", "--from-literal=password=hunter2")
    try:
        data = cluster.get("secret", name, "-n", "default")["data"]
        assert base64.b64decode(data["password"]) == b"hunter2"
        raw = docker("exec", cluster.node_container("etcd"), "python3", "-c", RAW_ETCD_READ,
                     f"/registry/secrets/default/{name}")
        assert raw.returncode == 0, raw.stderr
        stored = bytes.fromhex(raw.stdout.strip())
        assert stored.startswith(b"k8s:enc:aesgcm:v1:key1:") and b"hunter2" not in stored
    finally:
        cluster.tinykube("delete", "secret", name, "-n", "default")


def test_load_image_and_node_add_and_remove(cluster: Cluster, tmp_path: Path) -> None:
    """`load-image` loads the nodes there are and pushes to the cluster registry, so a
    node added later pulls the image from there."""
    extra = f"tinykube/e2e-extra:{uuid.uuid4().hex[:6]}"
    assert docker("tag", "tinykube/busybox:1", extra).returncode == 0
    try:
        loaded = cluster.tinykube("load-image", extra, timeout=300)
        assert loaded.returncode == 0, loaded.stderr
        for node in ("node-1", "node-2"):
            inside = docker("exec", cluster.node_container(node), "docker", "image", "inspect", extra)
            assert inside.returncode == 0, f"{extra} not in {node}: {inside.stderr}"
    finally:
        docker("rmi", extra)
    assert extra in cluster.run(*TINYKUBE, "images").stdout.split()

    added = cluster.run(*TINYKUBE, "node", "add")
    assert added.returncode == 0, added.stderr
    assert "added node-3" in added.stdout
    node3 = cluster.get("node", "node-3")
    assert {c["type"]: c["status"] for c in node3["status"]["conditions"]}["Ready"] == "True"
    status = cluster.run(*TINYKUBE, "status")
    assert status.returncode == 0, status.stdout
    assert "node-3" in status.stdout and "Ready" in status.stdout
    lines = status.stdout.splitlines()
    containers = lines[lines.index("containers:") + 1:
                       next(i for i, line in enumerate(lines) if line.startswith("API server"))]
    assert "cloud-controller-manager" in status.stdout
    # one column for the states, the longest service name (cloud-controller-manager) included
    assert len({row.index(row.split()[1], 2 + len(row.split()[0])) for row in containers}) == 1

    (tmp_path / "pushed.yaml").write_text(json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pushed", "namespace": "default"},
        "spec": {"terminationGracePeriodSeconds": 1, "nodeSelector": {"kubernetes.io/hostname": "node-3"},
                 "containers": [{"name": "main", "image": extra, "command": ["sleep", "3600"]}]}}))
    cluster.ok("apply", "-f", str(tmp_path / "pushed.yaml"))
    try:
        wait_for(lambda: cluster.get("pod", "pushed", "-n", "default")["status"].get("phase") == "Running", 180,
                 "the pushed image's pod to run on node-3, pulled from the cluster registry")
        assert ("Pulling", f'Pulling image "{extra}"') in pod_events(cluster, "pushed")
    finally:
        cluster.tinykube("delete", "pod", "pushed", "-n", "default", "--grace-period=0")

    removed = cluster.run(*TINYKUBE, "node", "remove", "node-3")
    assert removed.returncode == 0, removed.stderr
    assert "node-3" not in {n["metadata"]["name"] for n in cluster.get("nodes")["items"]}
    assert cluster.run("docker", "ps", "-aq", "--filter", "label=com.docker.compose.service=node-3",
                       "--filter", f"label=com.docker.compose.project={PROJECT}").stdout == ""
    refused = cluster.run(*TINYKUBE, "node", "remove", "node-1")
    assert refused.returncode != 0 and "part of docker-compose.yml" in refused.stderr


def pod_events(cluster: Cluster, pod: str) -> list[tuple[str, str]]:
    items = cluster.get("events", "-n", "default", "--field-selector", f"involvedObject.name={pod}")["items"]
    return [(e["reason"], e["message"]) for e in items]


def sleeping_pod(tmp_path: Path, name: str, image: str) -> Path:
    manifest = tmp_path / f"{name}.json"
    manifest.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
        "spec": {"terminationGracePeriodSeconds": 1,
                 "containers": [{"name": "main", "image": image, "command": ["sleep", "3600"]}]}}))
    return manifest


def test_busybox_with_the_default_pull_policy_is_pulled_from_the_cluster_registry(
        cluster: Cluster, tmp_path: Path) -> None:
    listed = cluster.run(*TINYKUBE, "images").stdout.split()
    assert {"library/busybox:latest", "library/nginx:latest", "tinykube/tinykube:latest"} <= set(listed)
    cluster.ok("apply", "-f", str(sleeping_pod(tmp_path, "box", "busybox")))
    try:
        wait_for(lambda: cluster.get("pod", "box", "-n", "default")["status"].get("phase") == "Running", 120,
                 "the busybox pod to run")
        wait_for(lambda: any(reason == "Pulled" and message.startswith('Successfully pulled image "busybox" in ')
                             for reason, message in pod_events(cluster, "box")), 60, "the Pulled event")
    finally:
        cluster.tinykube("delete", "pod", "box", "-n", "default", "--grace-period=0")


def test_a_missing_image_is_err_image_pull_then_image_pull_backoff_with_the_registry_message(
        cluster: Cluster, tmp_path: Path) -> None:
    image = "registry:5000/tinykube/missing:1"
    cluster.ok("apply", "-f", str(sleeping_pod(tmp_path, "ghost", image)))
    try:
        def backing_off() -> bool:
            statuses = cluster.get("pod", "ghost", "-n", "default")["status"].get("containerStatuses") or [{}]
            waiting = (statuses[0].get("state") or {}).get("waiting") or {}
            return waiting.get("reason") == "ImagePullBackOff"
        wait_for(backing_off, 120, "ImagePullBackOff")
        events = pod_events(cluster, "ghost")
        assert any(reason == "Failed" and message.startswith(f'Failed to pull image "{image}": ')
                   and "manifest unknown" in message for reason, message in events), events
        assert ("Failed", "Error: ErrImagePull") in events and ("Failed", "Error: ImagePullBackOff") in events
    finally:
        cluster.tinykube("delete", "pod", "ghost", "-n", "default", "--grace-period=0")


DAEMON_SET_MANIFEST = """
apiVersion: v1
kind: Namespace
metadata: {name: daemon-demo}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: daemon-demo}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: agent, image: tinykube/busybox:1, command: [sleep, "3600"]}
"""


def test_a_daemon_set_runs_one_pod_per_node_and_one_more_after_node_add(cluster: Cluster, tmp_path: Path) -> None:
    """Adds node-3 to the shared cluster for the test's duration, and removes it again."""
    manifest = tmp_path / "daemonset.yaml"
    manifest.write_text(DAEMON_SET_MANIFEST)

    def running_by_node() -> dict[str, int]:
        pods = cluster.get("pods", "-n", "daemon-demo", "-l", "app=agent")["items"]
        counts: dict[str, int] = {}
        for pod in pods:
            if pod["status"].get("phase") == "Running" and not pod["metadata"].get("deletionTimestamp"):
                counts[pod["spec"]["nodeName"]] = counts.get(pod["spec"]["nodeName"], 0) + 1
        return counts

    def nodes() -> dict[str, int]:
        return {n["metadata"]["name"]: 1 for n in cluster.get("nodes")["items"]}

    cluster.ok("apply", "-f", str(manifest))
    try:
        wait_for(lambda: running_by_node() == nodes(), 120, "one Running agent pod per node")
        table = cluster.ok("get", "ds", "-n", "daemon-demo").splitlines()
        assert table[0].split()[:6] == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE"]
        added = cluster.run(*TINYKUBE, "node", "add")
        assert added.returncode == 0, added.stderr
        assert "added node-3" in added.stdout
        wait_for(lambda: running_by_node() == nodes() and "node-3" in nodes(), 120,
                 "an agent pod on node-3 too")
        rolled = cluster.tinykube("rollout", "status", "ds/agent", "-n", "daemon-demo", "--timeout=120s",
                                  timeout=150)
        assert rolled.returncode == 0 and "successfully rolled out" in rolled.stdout, rolled.stderr
    finally:
        cluster.run(*TINYKUBE, "node", "remove", "node-3")
        cluster.tinykube("delete", "namespace", "daemon-demo", "--wait=false")


# --- Jobs on real containers ------------------------------------------------------------

JOBS_MANIFEST = """
apiVersion: v1
kind: Namespace
metadata: {name: job-demo}
---
apiVersion: batch/v1
kind: Job
metadata: {name: five, namespace: job-demo}
spec:
  completions: 5
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - {name: main, image: tinykube/busybox:1, command: [sh, -c, "sleep 1"]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: fails, namespace: job-demo}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - {name: main, image: tinykube/busybox:1, command: [sh, -c, "exit 1"]}
"""


def test_jobs_complete_on_real_containers_and_a_failing_one_stops_at_its_backoff_limit(
        cluster: Cluster, tmp_path: Path) -> None:
    manifest = tmp_path / "jobs.yaml"
    manifest.write_text(JOBS_MANIFEST)

    def condition(name: str, condition_type: str) -> dict[str, Any] | None:
        job = cluster.get("job", name, "-n", "job-demo")
        return next((c for c in job.get("status", {}).get("conditions") or []
                     if c["type"] == condition_type and c["status"] == "True"), None)

    cluster.ok("apply", "-f", str(manifest))
    try:
        wait_for(lambda: condition("five", "Complete") is not None, 120, "Job five Complete")
        assert cluster.get("job", "five", "-n", "job-demo")["status"]["succeeded"] == 5
        # One failure, 10 s of backoff, a second failure: past backoffLimit 1.
        wait_for(lambda: condition("fails", "Failed") is not None, 90, "Job fails Failed")
        failed = condition("fails", "Failed")
        assert failed is not None and failed["reason"] == "BackoffLimitExceeded"
        table = cluster.ok("get", "jobs", "-n", "job-demo").splitlines()
        assert table[0].split() == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
        rows = {line.split()[0]: line.split()[1:3] for line in table[1:]}
        assert rows == {"five": ["Complete", "5/5"], "fails": ["Failed", "0/1"]}
    finally:
        cluster.tinykube("delete", "namespace", "job-demo", "--wait=false")

CRON_JOB_MANIFEST = """
apiVersion: v1
kind: Namespace
metadata: {name: cron-demo}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: hello, namespace: cron-demo}
spec:
  schedule: "*/1 * * * *"
  successfulJobsHistoryLimit: 1
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - {name: hello, image: tinykube/busybox:1, command: [echo, hi]}
"""


def test_a_cron_job_runs_every_minute_and_keeps_one_successful_job(cluster: Cluster, tmp_path: Path) -> None:
    """Two runs, ~2 minutes: the first Job's pod prints hi; after the second only one Job is kept."""
    manifest = tmp_path / "cronjob.yaml"
    manifest.write_text(CRON_JOB_MANIFEST)

    def succeeded_jobs() -> list[str]:
        jobs = cluster.get("jobs", "-n", "cron-demo")["items"]
        return sorted(j["metadata"]["name"] for j in jobs if (j.get("status") or {}).get("succeeded"))

    def last_successful() -> str | None:
        status = cluster.get("cronjob", "hello", "-n", "cron-demo").get("status") or {}
        return status.get("lastSuccessfulTime")

    cluster.ok("apply", "-f", str(manifest))
    try:
        wait_for(lambda: len(succeeded_jobs()) == 1, 70 + 30, "the first Job to succeed")
        [first] = succeeded_jobs()
        pods = cluster.get("pods", "-n", "cron-demo", "-l", f"job-name={first}")["items"]
        assert cluster.ok("logs", pods[0]["metadata"]["name"], "-n", "cron-demo").strip() == "hi"
        wait_for(lambda: succeeded_jobs() not in ([], [first]), 60 + 30, "the second run's Job to succeed")
        wait_for(lambda: len(succeeded_jobs()) == 1, 30, "the history limit to leave one successful Job")
        assert last_successful() is not None
    finally:
        cluster.tinykube("delete", "namespace", "cron-demo", "--wait=false")


# --- Services, kube-proxy and cluster DNS on the same cluster -------------------------

SHARE_MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: share, namespace: web-demo}
spec:
  replicas: 3
  selector: {matchLabels: {app: share}}
  template:
    metadata: {labels: {app: share}}
    spec:
      containers:
      - name: echo
        image: tinykube/echo:1
        env: [{name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
        ports: [{name: http, containerPort: 8080}]
        # Ready while /tmp/unready does not exist: a test can turn one replica not-ready.
        readinessProbe: {exec: {command: [sh, -c, "test ! -e /tmp/unready"]}, periodSeconds: 1, failureThreshold: 1}
---
apiVersion: v1
kind: Service
metadata: {name: share, namespace: web-demo}
spec:
  type: NodePort
  selector: {app: share}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: nobody, namespace: web-demo}
spec:
  selector: {app: nobody-has-this-label}
  ports: [{port: 80}]
"""


def client_pod(cluster: Cluster) -> str:
    """A running web pod to send requests from."""
    wait_for(lambda: bool(running_web_pods(cluster)), 120, "a running web pod")
    return str(running_web_pods(cluster)[0]["metadata"]["name"])


def ready_addresses(cluster: Cluster, service: str) -> list[str]:
    subsets = cluster.get("endpoints", service, "-n", NAMESPACE).get("subsets") or []
    return [a["ip"] for subset in subsets for a in subset.get("addresses") or []]


def requests_from(cluster: Cluster, pod: str, url: str, count: int) -> list[str]:
    """`count` GETs from inside `pod`; the pod= word of each answer ("failed" if none)."""
    # (busybox's own wget -T crashes; its timeout applet bounds each request instead)
    script = f'for i in $(seq {count}); do timeout 5 wget -qO- {url} 2>/dev/null || echo pod=failed; done'
    out = cluster.ok("exec", "-n", NAMESPACE, pod, "--", "sh", "-c", script, timeout=300)
    return [line.split()[0].removeprefix("pod=") for line in out.splitlines() if line.startswith("pod=")]


def test_services_answer_by_cluster_ip_and_by_dns_name(cluster: Cluster, tmp_path: Path) -> None:
    manifest = tmp_path / "share.yaml"
    manifest.write_text(SHARE_MANIFEST)
    cluster.ok("apply", "-f", str(manifest))
    wait_for(lambda: len(ready_addresses(cluster, "share")) == 3, 120, "3 ready share endpoints")
    pod = client_pod(cluster)
    service = cluster.get("service", "share", "-n", NAMESPACE)
    cluster_ip = service["spec"]["clusterIP"]
    # kube-proxy programs the endpoints within a sync or two of the Endpoints change.
    wait_for(lambda: requests_from(cluster, pod, f"http://{cluster_ip}/", 1)[0].startswith("share-"), 30,
             "kube-proxy to send the ClusterIP to the share pods")
    for url in (f"http://{cluster_ip}/", "http://share/", "http://share.web-demo/",
                "http://share.web-demo.svc.cluster.local/"):
        answers = requests_from(cluster, pod, url, 1)
        assert answers and answers[0].startswith("share-"), (url, answers)
    unknown = cluster.tinykube("exec", "-n", NAMESPACE, pod, "--", "nslookup", "nope.web-demo.svc.cluster.local")
    assert unknown.returncode != 0 and "NXDOMAIN" in unknown.stdout + unknown.stderr

    # A Service whose selector matches nothing refuses at once (REJECT), it does not hang.
    nobody = cluster.get("service", "nobody", "-n", NAMESPACE)["spec"]["clusterIP"]
    refused = cluster.tinykube("exec", "-n", NAMESPACE, pod, "--", "wget", "-qO-", f"http://{nobody}/")
    assert refused.returncode != 0 and "refused" in (refused.stdout + refused.stderr).lower(), refused

    # NodePort: every node answers, from this host.
    node_port = service["spec"]["ports"][0]["nodePort"]
    for node in cluster.get("nodes")["items"]:
        address = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
        answer = httpx.get(f"http://{address}:{node_port}/", timeout=5)
        assert answer.status_code == 200 and answer.text.startswith("pod=share-"), (address, answer.text)


def test_three_replicas_share_the_load_and_a_not_ready_one_gets_none(cluster: Cluster) -> None:
    pod = client_pod(cluster)
    answers = requests_from(cluster, pod, "http://share/", 300)
    counts = {name: answers.count(name) for name in set(answers)}
    assert len(answers) == 300 and "failed" not in counts, counts
    assert len(counts) == 3 and min(counts.values()) >= 45, counts  # each at least 15%

    victim = sorted(counts)[0]
    cluster.ok("exec", "-n", NAMESPACE, victim, "--", "touch", "/tmp/unready")

    def victim_not_ready() -> bool:
        conditions = cluster.get("pod", victim, "-n", NAMESPACE)["status"]["conditions"]
        return any(c["type"] == "Ready" and c["status"] == "False" for c in conditions)

    wait_for(victim_not_ready, 30, f"{victim} to turn not-ready")
    turned = time.monotonic()
    wait_for(lambda: victim not in requests_from(cluster, pod, "http://share/", 30), 30,
             f"{victim} to stop getting requests")
    print(f"not-ready replica out of rotation {time.monotonic() - turned:.1f}s after its Ready=False")
    later = requests_from(cluster, pod, "http://share/", 60)
    assert victim not in later and "failed" not in later and len(later) == 60, later


def test_a_load_balancer_service_answers_on_its_external_address_from_this_host(cluster: Cluster) -> None:
    cluster.ok("expose", "deployment", "share", "-n", NAMESPACE, "--name", "share-lb", "--type", "LoadBalancer",
               "--port", "80", "--target-port", "8080")
    wait_for(lambda: bool(ingress_ip(cluster, "share-lb")), 120, "share-lb to get an external address")
    address = ingress_ip(cluster, "share-lb")
    assert address in cluster.ok("get", "service", "share-lb", "-n", NAMESPACE)  # the EXTERNAL-IP column
    seen = set()
    for _ in range(20):
        answer = httpx.get(f"http://{address}/", timeout=5)
        assert answer.status_code == 200 and answer.text.startswith("pod=share-"), answer.text
        seen.add(answer.text.split()[0])
    assert len(seen) >= 2, seen  # spread over the replicas (through the nodes' NodePorts)

    cluster.ok("delete", "service", "share-lb", "-n", NAMESPACE)
    leftovers = cluster.run("docker", "ps", "-aq", "--filter", "label=io.tinykube.load-balancer=web-demo/share-lb")
    assert leftovers.stdout == ""


ZERO_DOWNTIME_MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: steady, namespace: web-demo}
spec:
  replicas: 3
  strategy: {rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}
  selector: {matchLabels: {app: steady}}
  template:
    metadata: {labels: {app: steady}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: echo
        image: tinykube/echo:1
        env: [{name: MESSAGE, value: v1}]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 1}
        # The usual Kubernetes practice: keep serving while the endpoint removal
        # reaches every node's kube-proxy, then stop.
        lifecycle: {preStop: {exec: {command: [sleep, "3"]}}}
---
apiVersion: v1
kind: Service
metadata: {name: steady, namespace: web-demo}
spec:
  selector: {app: steady}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: steady, namespace: web-demo}
spec:
  rules:
  - host: steady.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: steady, port: {number: 80}}}}
"""


def test_no_request_fails_during_a_rolling_update_and_a_scale_down(cluster: Cluster, tmp_path: Path) -> None:
    manifest = tmp_path / "steady.yaml"
    manifest.write_text(ZERO_DOWNTIME_MANIFEST)
    cluster.ok("apply", "-f", str(manifest))
    wait_for(lambda: len(ready_addresses(cluster, "steady")) == 3, 120, "3 ready steady endpoints")
    pod = client_pod(cluster)
    wait_for(lambda: requests_from(cluster, pod, "http://steady/", 1)[0].startswith("steady-"), 30,
             "kube-proxy to send the steady Service to its pods")
    ingress_ip = ""

    def ingress_answers() -> bool:
        nonlocal ingress_ip
        status = cluster.get("ingress", "steady", "-n", NAMESPACE).get("status") or {}
        ingress_ip = str(((status.get("loadBalancer") or {}).get("ingress") or [{}])[0].get("ip", ""))
        return bool(ingress_ip) and httpx.get(f"http://{ingress_ip}/", headers={"Host": "steady.example"},
                                              timeout=5).text.startswith("pod=steady-")

    wait_for(ingress_answers, 60, "the steady Ingress to answer")
    # A second client, from this host through the load balancer and the Ingress. Each
    # answer is recorded with the phase it was sent in: how many requests fit in a phase
    # depends on the machine's speed, so the test asserts that every phase was crossed
    # by requests and that none failed, not a request count.
    through_ingress: list[tuple[str, bool]] = []
    phase = "before"
    stop = threading.Event()

    def ingress_client() -> None:
        with httpx.Client(timeout=5, headers={"Host": "steady.example"}) as http:
            while not stop.is_set():
                sent_in = phase
                try:
                    through_ingress.append((sent_in, http.get(f"http://{ingress_ip}/").text.startswith("pod=steady-")))
                except httpx.HTTPError:
                    through_ingress.append((sent_in, False))

    def answered_in(name: str) -> int:
        return sum(1 for sent_in, _ in list(through_ingress) if sent_in == name)

    # The in-cluster client requests the Service until told to stop, so it spans the
    # rollout and the scale-down however fast or slow this machine is.
    script = ("rm -f /tmp/stop; while [ ! -e /tmp/stop ]; do timeout 5 wget -qO- http://steady/ >/dev/null 2>&1 "
              "&& echo ok || echo FAIL; done")
    client = subprocess.Popen([*TINYKUBE, "--kubeconfig", str(cluster.kubeconfig), "exec", "-n", NAMESPACE, pod,
                               "--", "sh", "-c", script], env=cluster.env, text=True, stdout=subprocess.PIPE)
    background = threading.Thread(target=ingress_client, daemon=True)
    background.start()
    try:
        wait_for(lambda: answered_in("before") >= 1, 30, "a first answer through the Ingress")
        phase = "rollout"
        cluster.ok("patch", "deployment", "steady", "-n", NAMESPACE, "--type", "json", "-p",
                   '[{"op": "replace", "path": "/spec/template/spec/containers/0/env/0/value", "value": "v2"}]')
        cluster.ok("rollout", "status", "deployment/steady", "-n", NAMESPACE, "--timeout", "180s", timeout=200)
        phase = "scale-down"
        cluster.ok("scale", "deployment", "steady", "-n", NAMESPACE, "--replicas=1")
        wait_for(lambda: len(ready_addresses(cluster, "steady")) == 1 and len(
            [p for p in cluster.get("pods", "-n", NAMESPACE, "-l", "app=steady")["items"]]) == 1, 90,
            "steady scaled down to 1 pod")
        phase = "after"
        wait_for(lambda: answered_in("after") >= 1, 30, "an answer through the Ingress after the scale-down")
        assert client.poll() is None, "the in-cluster client stopped before the rollout and the scale-down ended"
        cluster.ok("exec", "-n", NAMESPACE, pod, "--", "touch", "/tmp/stop")
        out, _ = client.communicate(timeout=120)
    finally:
        stop.set()
        background.join(timeout=30)
        if client.poll() is None:
            client.kill()
            client.communicate(timeout=30)  # reap it and close its pipe
    results = out.split()
    assert results and results.count("FAIL") == 0, f"{results.count('FAIL')} of {len(results)} failed"
    failed = [sent_in for sent_in, ok in through_ingress if not ok]
    assert not failed and all(answered_in(name) for name in ("rollout", "scale-down", "after")), (
        f"through the Ingress: {len(failed)} of {len(through_ingress)} failed (in phases {sorted(set(failed))}); "
        f"answers per phase: { {name: answered_in(name) for name in ('before', 'rollout', 'scale-down', 'after')} }")


def https_get(address: str, host: str, path: str, ca_pem: bytes) -> str:
    """GET over TLS to `address` with SNI and Host `host`, trusting only `ca_pem`."""
    context = ssl.create_default_context(cadata=ca_pem.decode())
    with socket.create_connection((address, 443), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            chunks = []
            while chunk := tls.recv(65536):
                chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def test_an_ingress_routes_by_host_and_path_and_terminates_tls(cluster: Cluster, tmp_path: Path) -> None:
    cert, key = self_signed("a.example", ("a.example",))
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
              "metadata": {"name": "a-example-tls", "namespace": NAMESPACE},
              "data": {"tls.crt": base64.b64encode(cert).decode(), "tls.key": base64.b64encode(key).decode()}}
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
               "metadata": {"name": "sites", "namespace": NAMESPACE},
               "spec": {"tls": [{"hosts": ["a.example"], "secretName": "a-example-tls"}],
                        "rules": [
                            {"host": "a.example", "http": {"paths": [
                                {"path": "/", "pathType": "Prefix",
                                 "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}},
                            {"host": "b.example", "http": {"paths": [
                                {"path": "/api", "pathType": "Prefix",
                                 "backend": {"service": {"name": "share", "port": {"number": 80}}}}]}}]}}
    manifest = tmp_path / "ingress.yaml"
    manifest.write_text(yaml.safe_dump_all([secret, ingress]))
    cluster.ok("apply", "-f", str(manifest))

    def address() -> str:
        status = cluster.get("ingress", "sites", "-n", NAMESPACE).get("status") or {}
        return str(((status.get("loadBalancer") or {}).get("ingress") or [{}])[0].get("ip", ""))

    wait_for(lambda: bool(address()), 120, "the Ingress to report its address")
    ip = address()

    def answer(host: str, path: str) -> httpx.Response:
        return httpx.get(f"http://{ip}{path}", headers={"Host": host}, timeout=5)

    wait_for(lambda: answer("a.example", "/").text.startswith("pod=web-"), 30, "a.example to reach web")
    assert answer("b.example", "/api/").text.startswith("pod=share-")
    assert answer("b.example", "/api/users/").text.startswith("pod=share-")
    assert answer("b.example", "/").status_code == 404  # no rule for it, no default backend
    secure = https_get(ip, "a.example", "/", cert)
    assert " 200 " in secure.split("\r\n")[0] and "pod=web-" in secure, secure[:200]


def assert_pods_reach_each_other_across_nodes(cluster: Cluster) -> None:
    """Each node's pods get IPs from its podCIDR, and a pod on node-1 reaches a pod on
    node-2 by pod IP with its own IP as the source (no masquerading in between)."""
    nodes = {n["metadata"]["name"]: n["spec"]["podCIDR"] for n in cluster.get("nodes")["items"]}
    assert sorted(nodes.values()) == ["10.244.0.0/24", "10.244.1.0/24"], nodes
    by_node = {p["spec"]["nodeName"]: p for p in running_web_pods(cluster)}
    for pod in by_node.values():
        assert ipaddress.ip_address(pod["status"]["podIP"]) in ipaddress.ip_network(nodes[pod["spec"]["nodeName"]])
    client, server = by_node["node-1"], by_node["node-2"]
    answers: list[str] = []

    def reached() -> bool:
        answer = cluster.tinykube("exec", "-n", NAMESPACE, client["metadata"]["name"], "--",
                                  "wget", "-qO-", f"http://{server['status']['podIP']}:8080/")
        answers.append(answer.stdout + answer.stderr)
        return answer.returncode == 0

    wait_for(reached, 30, "a node-1 pod to reach a node-2 pod by pod IP")
    assert f"pod={server['metadata']['name']}" in answers[-1]
    assert f":{client['status']['podIP']}]" in answers[-1], answers[-1]  # client=[::ffff:10.244.x.y]


# --- a database: StatefulSet, claims and node-local volumes on the same cluster ---------

REDIS_EXAMPLE = REPO_ROOT / "examples" / "redis-statefulset.yaml"
REDIS_NAMESPACE = "redis-demo"


def ready_redis_pods(cluster: Cluster) -> dict[str, dict[str, Any]]:
    pods = cluster.get("pods", "-n", REDIS_NAMESPACE, "-l", "app=redis")["items"]
    return {p["metadata"]["name"]: p for p in pods
            if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")
            and all(c.get("ready") for c in p["status"].get("containerStatuses") or [{}])}


def redis_cli(cluster: Cluster, *command: str) -> str:
    """redis-cli in redis-0, through the pod's stable DNS name."""
    return cluster.ok("exec", "-n", REDIS_NAMESPACE, "redis-0", "--", "redis-cli", "-h", "redis-0.redis",
                      *command).strip()


def claim_volume(cluster: Cluster, claim: str) -> str:
    return str(cluster.get("pvc", claim, "-n", REDIS_NAMESPACE)["spec"].get("volumeName") or "")


def data_dir_exists(cluster: Cluster, node: str, volume: str) -> bool:
    found = cluster.run("docker", "exec", cluster.node_container(node), "test", "-d",
                        f"/var/lib/tinykube/local-path/{volume}")
    return found.returncode == 0


def test_redis_keeps_its_data_and_its_node_across_a_pod_delete_and_deletes_it_with_its_claims(
        cluster: Cluster) -> None:
    cluster.ok("apply", "-f", str(REDIS_EXAMPLE))
    try:
        wait_for(lambda: set(ready_redis_pods(cluster)) == {"redis-0", "redis-1"}, 300, "redis-0 and redis-1 Ready")
        first = ready_redis_pods(cluster)["redis-0"]
        node, volume = first["spec"]["nodeName"], claim_volume(cluster, "data-redis-0")
        assert volume and claim_volume(cluster, "data-redis-1")
        assert redis_cli(cluster, "SET", "greeting", "hello") == "OK"
        assert data_dir_exists(cluster, node, volume)

        cluster.ok("delete", "pod", "redis-0", "-n", REDIS_NAMESPACE)
        wait_for(lambda: (p := ready_redis_pods(cluster).get("redis-0")) is not None
                 and p["metadata"]["uid"] != first["metadata"]["uid"], 240, "a new redis-0 Ready")
        again = ready_redis_pods(cluster)["redis-0"]
        assert again["spec"]["nodeName"] == node, "redis-0 must follow its volume to its node"
        assert claim_volume(cluster, "data-redis-0") == volume
        assert redis_cli(cluster, "GET", "greeting") == "hello"

        cluster.ok("scale", "statefulset/redis", "--replicas=1", "-n", REDIS_NAMESPACE)
        wait_for(lambda: not any(p["metadata"]["name"] == "redis-1" for p in cluster.get(
            "pods", "-n", REDIS_NAMESPACE, "-l", "app=redis")["items"]), 120, "redis-1 removed")
        assert claim_volume(cluster, "data-redis-1"), "scaling down keeps redis-1's claim"

        cluster.ok("delete", "statefulset", "redis", "-n", REDIS_NAMESPACE)
        wait_for(lambda: not cluster.get("pods", "-n", REDIS_NAMESPACE, "-l", "app=redis")["items"], 120,
                 "the StatefulSet's pods gone")
        cluster.ok("delete", "pvc", "--all", "-n", REDIS_NAMESPACE)
        wait_for(lambda: cluster.tinykube("get", "pv", volume).returncode != 0, 120, "reclaim Delete: the PV gone")
        wait_for(lambda: not data_dir_exists(cluster, node, volume), 60, "the node to delete the data directory")
    finally:
        cluster.tinykube("delete", "namespace", REDIS_NAMESPACE, "--wait=false")
def ensure_up(cluster: Cluster) -> None:
    """The cluster of the first test; brought up here when a test runs alone (`-k`)."""
    if cluster.kubeconfig.exists() and cluster.tinykube("get", "nodes", timeout=30).returncode == 0:
        return
    up = cluster.run(*TINYKUBE, "up")
    assert up.returncode == 0, f"tinykube up failed:\n{up.stdout[-3000:]}\n{up.stderr[-3000:]}"


def metrics_usage(cluster: Cluster, namespace: str, pod: str) -> dict[str, str]:
    found = cluster.run("curl", "-sk", "--max-time", "10", "-H", f"Authorization: Bearer {kubeconfig_token(cluster)}",
                        f"{kubeconfig_server(cluster)}/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods/{pod}")
    if found.returncode != 0 or not found.stdout.startswith("{"):
        return {}
    containers = json.loads(found.stdout).get("containers") or [{}]
    return dict(containers[0].get("usage") or {})


def kubeconfig_server(cluster: Cluster) -> str:
    return str(yaml.safe_load(cluster.kubeconfig.read_text())["clusters"][0]["cluster"]["server"])


def kubeconfig_token(cluster: Cluster) -> str:
    return str(yaml.safe_load(cluster.kubeconfig.read_text())["users"][0]["user"]["token"])


HPA_APP = """
apiVersion: v1
kind: Namespace
metadata: {name: hpa-e2e}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: burner, namespace: hpa-e2e}
spec:
  replicas: 1
  selector: {matchLabels: {app: burner}}
  template:
    metadata: {labels: {app: burner}}
    spec:
      containers:
      - name: echo
        image: tinykube/echo:1
        imagePullPolicy: IfNotPresent
        ports: [{name: http, containerPort: 8080}]
        resources: {requests: {cpu: 100m}}
---
apiVersion: v1
kind: Service
metadata: {name: burner, namespace: hpa-e2e}
spec:
  selector: {app: burner}
  ports: [{port: 80, targetPort: http}]
"""
LOAD_CLIENT = """
apiVersion: v1
kind: Pod
metadata: {name: load, namespace: hpa-e2e}
spec:
  containers:
  - name: load
    image: tinykube/busybox:1
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "while true; do wget -q -O- 'http://burner/?burn=300' >/dev/null; done"]
"""


def test_a_busy_deployment_is_autoscaled_up_and_back_down(cluster: Cluster, tmp_path: Path) -> None:
    """Real metrics drive the autoscaler: a load client burning CPU in the echo pods
    (100m requests, target 50 %) scales the Deployment up within two minutes; once the
    client is gone, the compose cluster's 30 s downscale stabilization brings it back to one."""
    ensure_up(cluster)
    (tmp_path / "app.yaml").write_text(HPA_APP)
    (tmp_path / "load.yaml").write_text(LOAD_CLIENT)
    cluster.ok("apply", "-f", str(tmp_path / "app.yaml"))
    made = cluster.ok("autoscale", "deployment", "burner", "-n", "hpa-e2e", "--min=1", "--max=4", "--cpu=50%")
    assert "horizontalpodautoscaler.autoscaling/burner autoscaled" in made
    cluster.ok("apply", "-f", str(tmp_path / "load.yaml"))

    def replicas() -> int:
        return int(cluster.get("deployment", "burner", "-n", "hpa-e2e")["spec"]["replicas"])

    wait_for(lambda: replicas() >= 2, 120, "the HPA to scale burner up under load")
    busy = next(p["metadata"]["name"] for p in cluster.get("pods", "-n", "hpa-e2e", "-l", "app=burner")["items"])
    usage: dict[str, str] = {}

    def measured() -> bool:  # the node's container stats, as metrics.k8s.io serves them
        usage.update(metrics_usage(cluster, "hpa-e2e", busy))
        return usage.get("cpu", "0n") != "0n" and usage.get("memory", "0Ki") != "0Ki"

    wait_for(measured, 60, f"non-zero cpu and memory for {busy}")
    table = cluster.ok("get", "hpa", "-n", "hpa-e2e")
    assert table.split("\n")[0].split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS",
                                             "AGE"], table
    assert "Deployment/burner" in table and "cpu: " in table, table
    nodes = cluster.ok("top", "nodes")
    memory = [line.split()[3] for line in nodes.splitlines()[1:]]
    assert len(memory) == 2 and all(m.endswith("Mi") for m in memory), nodes
    # Each node reports its own cgroup's usage, not the host's: the two differ.
    per_node = {line.split()[0]: tuple(line.split()[1:]) for line in nodes.splitlines()[1:]}
    assert len(set(per_node.values())) == 2, nodes
    # A busy pod's CPU is non-zero in `top pods` (its memory, a shell loop's, is under
    # 1Mi there: `measured` checked it is non-zero in Ki).
    pods = cluster.ok("top", "pods", "-n", "hpa-e2e")
    row = next(line.split() for line in pods.splitlines() if line.startswith(busy))
    assert row[1] != "0m", pods

    cluster.ok("delete", "pod", "load", "-n", "hpa-e2e", "--grace-period=0")
    wait_for(lambda: replicas() == 1, 150, "the HPA to scale burner back to 1 without load")
    described = cluster.ok("describe", "hpa", "burner", "-n", "hpa-e2e")
    assert "New size: 1; reason: All metrics below target" in described, described
    cluster.ok("delete", "namespace", "hpa-e2e")


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: tinykube up: "), result.stderr
    return lines[0]


def test_up_without_a_docker_engine_says_so(cluster: Cluster, tmp_path: Path) -> None:
    missing = f"unix://{tmp_path}/no-docker.sock"
    line = one_error_line(cluster.run(*TINYKUBE, "up", env={"DOCKER_HOST": missing,
                                                             "TINYKUBE_PROJECT": "tinykube-e2e-nodocker"}))
    assert "no Docker engine" in line and missing in line


def test_up_with_the_api_port_taken_says_which_port(cluster: Cluster) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_error_line(cluster.run(*TINYKUBE, "up", env={"TINYKUBE_API_PORT": str(port),
                                                                 "TINYKUBE_PROJECT": "tinykube-e2e-port"}))
    assert f"port {port}" in line and "already in use" in line
    assert cluster.run("docker", "ps", "-aq", "--filter",
                       "label=com.docker.compose.project=tinykube-e2e-port").stdout == ""


def test_up_with_a_half_built_image_says_it_is_incomplete(cluster: Cluster) -> None:
    """An image under tinykube's tag, with the current build label, that lacks the
    kubelet (as an interrupted hand-made build could leave): `up` stops with a clear
    message before compose starts anything."""
    good = docker("image", "inspect", "-f", "{{.Id}}", TINYKUBE_IMAGE).stdout.strip()
    assert good, "the first test built the image"
    label = docker("image", "inspect", "-f", '{{index .Config.Labels "io.tinykube.build-digest"}}',
                   TINYKUBE_IMAGE).stdout.strip()
    dockerfile = (f"FROM {good}\nRUN rm -rf /opt/tinykube/lib/python3.11/site-packages/kubelet\n"
                  f"LABEL io.tinykube.build-digest={label}\n")
    built = subprocess.run(["docker", "build", "-q", "-t", TINYKUBE_IMAGE, "-"], input=dockerfile, text=True,
                           capture_output=True, timeout=300)
    assert built.returncode == 0, built.stderr
    try:
        line = one_error_line(cluster.run(*TINYKUBE, "up", env={"TINYKUBE_PROJECT": "tinykube-e2e-broken",
                                                                 "TINYKUBE_API_PORT": str(free_port())}))
        assert f"image {TINYKUBE_IMAGE}" in line and "incomplete" in line and "kubelet" in line
        assert cluster.run("docker", "ps", "-aq", "--filter",
                           "label=com.docker.compose.project=tinykube-e2e-broken").stdout == ""
    finally:
        assert docker("tag", good, TINYKUBE_IMAGE).returncode == 0
        docker("rmi", built.stdout.strip())


STATEFUL_MANIFEST = """
apiVersion: v1
kind: Service
metadata: {name: db, namespace: web-demo}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: http, port: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: web-demo}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: echo
        image: tinykube/echo:1
        ports: [{name: http, containerPort: 8080}]
"""


def test_a_stateful_set_pod_resolves_by_its_stable_name(cluster: Cluster, tmp_path: Path) -> None:
    manifest = tmp_path / "db.yaml"
    manifest.write_text(STATEFUL_MANIFEST)
    cluster.ok("apply", "-f", str(manifest))
    wait_for(lambda: len(ready_addresses(cluster, "db")) == 2, 90, "db-0 and db-1 ready behind the headless Service")
    db0 = cluster.get("pod", "db-0", "-n", NAMESPACE)
    assert db0["status"]["phase"] == "Running" and db0["spec"]["hostname"] == "db-0"
    pod = client_pod(cluster)
    looked_up = cluster.ok("exec", "-n", NAMESPACE, pod, "--", "nslookup", f"db-0.db.{NAMESPACE}.svc.cluster.local")
    assert db0["status"]["podIP"] in looked_up, looked_up
    fqdn = cluster.ok("exec", "-n", NAMESPACE, "db-0", "--", "cat", "/etc/hosts")
    assert f"db-0.db.{NAMESPACE}.svc.cluster.local" in fqdn, fqdn


def test_the_watch_it_happen_tutorial_traces_the_three_flows(cluster: Cluster) -> None:
    """README "Watch it happen": the three traces, with the README's commands."""
    namespace = "demo"
    cluster.ok("create", "namespace", namespace)
    inner = [*TINYKUBE, "--kubeconfig", str(cluster.kubeconfig)]
    created = cluster.ok("trace", "deployment/web", "-n", namespace, "--", *inner, "create", "deployment", "web",
                         "-n", namespace, "--image=tinykube/echo:1", "--replicas=2")
    assert created.count("(binding)  nodeName: node-") == 2, created
    assert "phase Pending→Running" in created and "kubelet/node-" in created, created
    scaled = cluster.ok("trace", "deployment/web", "-n", namespace, "--", *inner, "scale", "deployment", "web",
                        "-n", namespace, "--replicas=1")
    assert "deletionTimestamp set" in scaled and "  deleted  rv=" in scaled, scaled
    crashed = cluster.ok("trace", "pod/crasher", "-n", namespace, "--settle", "15s", "--", *inner, "run", "crasher",
                         "-n", namespace, "--image=tinykube/busybox:1", "--", "sh", "-c", "sleep 3; exit 1",
                         timeout=180)
    assert "restarts 0→1" in crashed, crashed
    cluster.ok("delete", "namespace", namespace)


def test_the_dashboard_in_a_browser_shows_the_nodes_scales_streams_logs_and_draws_a_scale_up(
        cluster: Cluster) -> None:
    if missing_browser():
        pytest.skip(str(missing_browser()))
    url = cluster.ok("dashboard").strip()
    assert url.startswith("http://") and url.endswith("/"), url
    wait_for(lambda: answers_healthz(url), 120, "the dashboard to answer through its load balancer")
    cluster.ok("create", "namespace", "dash-e2e")
    cluster.ok("create", "deployment", "board", "-n", "dash-e2e", "--image=tinykube/echo:1")
    cluster.ok("rollout", "status", "deployment/board", "-n", "dash-e2e", "--timeout=120s", timeout=150)
    pod = cluster.get("pods", "-n", "dash-e2e", "-l", "app=board")["items"][0]
    nodes = sorted(n["metadata"]["name"] for n in cluster.get("nodes")["items"])
    driver = start_browser()
    try:
        driver.get(url + "#overview")  # the compose cluster's nodes, the pod on its node
        chip = f'.node[data-node="{pod["spec"]["nodeName"]}"] .chip[data-pod="dash-e2e/{pod["metadata"]["name"]}"]'
        wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, chip).get_attribute("data-state") == "ready",
             "the pod drawn ready on its node")
        assert texts(driver, ".node", "dataset.node") == nodes
        screenshot(driver, "e2e-overview")

        driver.get(url + "#flow")  # the flow stream stays on while other pages are shown
        driver.find_element(By.ID, "flow-namespace").send_keys("dash-e2e")
        driver.find_element(By.CSS_SELECTOR, "#flow-form button").click()
        wait(driver, lambda d: d.find_element(By.ID, "flow-state").text == "watching", "the flow watch")

        driver.get(url + "#workloads")  # scale from the page
        row = 'tr[data-namespace="dash-e2e"][data-name="board"]'
        # Live updates redraw rows at any moment: fill the box and press the button in
        # one step of the page's own script (the button's handler reads the box).
        wait(driver, lambda d: d.execute_script(
            "const row = document.querySelector(arguments[0]);"
            "if (!row) return false;"
            "row.querySelector('input.replicas').value = '2';"
            "row.querySelector('button.scale').click();"
            "return true;", row), "the row")
        wait_for(lambda: cluster.get("deployment", "board", "-n", "dash-e2e")["spec"]["replicas"] == 2, 60,
                 "the Deployment to want 2 replicas")
        wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, f"{row} .ready").text == "2/2",
             "the row to show 2/2", timeout_seconds=120)
        screenshot(driver, "e2e-workloads")

        driver.get(url + "#flow")  # the scale-up's chain, drawn as arrows
        labels = "#flow-svg text.arrow-label"
        wait(driver, lambda d: {"scale", "binding", "running"} <= {
            key for text in texts(d, labels) for key, part in (
                ("scale", "patch deployment/board (scale) replicas 1→2"), ("binding", "(binding) nodeName: "),
                ("running", "phase Pending→Running")) if part in text}, "the scale-up's arrows")
        assert texts(driver, "#flow-svg line.arrow", "dataset.kind")
        screenshot(driver, "e2e-flow")

        name = pod["metadata"]["name"]  # a pod's log, followed
        driver.get(url + f"#logs/dash-e2e/{name}")
        cluster.ok("exec", name, "-n", "dash-e2e", "--", "sh", "-c", "echo hello-from-e2e > /proc/1/fd/1")
        wait(driver, lambda d: "hello-from-e2e" in d.find_element(By.ID, "logs-output").text, "the log line")
        screenshot(driver, "e2e-logs")
    finally:
        driver.quit()
        cluster.tinykube("delete", "namespace", "dash-e2e")


def answers_healthz(url: str) -> bool:
    try:
        return httpx.get(url + "healthz", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False
# --- extending the API: a CRD and a kopf operator run from this host ---------------------

OPERATOR_EXAMPLE = REPO_ROOT / "examples" / "operator"


def test_a_kopf_operator_turns_a_web_app_into_running_pods_and_cleans_up(
        cluster: Cluster, tmp_path: Path) -> None:
    cluster.ok("apply", "-f", str(OPERATOR_EXAMPLE / "crd.yaml"))
    log = (tmp_path / "kopf.log").open("w")
    operator = subprocess.Popen(
        [sys.executable, "-m", "kopf", "run", "--standalone", "--namespace", "default",
         str(OPERATOR_EXAMPLE / "webapp_operator.py")],
        env={**cluster.env, "KUBECONFIG": str(cluster.kubeconfig)}, stdout=log,
        stderr=subprocess.STDOUT, cwd=REPO_ROOT)
    try:
        wait_for(lambda: cluster.tinykube("get", "webapps").returncode == 0, 30, "webapps served")
        cluster.ok("apply", "-f", str(OPERATOR_EXAMPLE / "webapp.yaml"))

        def ready_replicas() -> int:
            found = cluster.tinykube("get", "deployment", "hello", "-o", "json")
            return json.loads(found.stdout).get("status", {}).get("readyReplicas", 0) \
                if found.returncode == 0 else 0
        wait_for(lambda: ready_replicas() == 2, 180, "the operator's Deployment to have 2 ready pods")
        row = cluster.ok("get", "webapps").splitlines()[1].split()
        assert row[:4] == ["hello", "tinykube/echo:1", "2", "Deployed"], row
        assert cluster.get("service", "hello")["spec"]["ports"][0]["port"] == 8080
        cluster.ok("delete", "webapp", "hello")
        wait_for(lambda: cluster.tinykube("get", "deployment", "hello").returncode != 0
                 and cluster.tinykube("get", "webapp", "hello").returncode != 0, 60,
                 "the WebApp and its Deployment to go")
    finally:
        operator.send_signal(signal.SIGINT)
        try:
            operator.wait(timeout=20)
        except subprocess.TimeoutExpired:
            operator.kill()
        log.close()
        cluster.tinykube("delete", "-f", str(OPERATOR_EXAMPLE / "crd.yaml"))


IN_CLUSTER_NAMESPACE = "sa-e2e"
IN_CLUSTER_MANIFEST = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {IN_CLUSTER_NAMESPACE}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: in-cluster, namespace: {IN_CLUSTER_NAMESPACE}}}
spec:
  containers:
  - name: main
    image: {TINYKUBE_IMAGE}
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
"""
# The official client in the pod, with the mounted token, CA and KUBERNETES_SERVICE_* only.
LIST_PODS_IN_CLUSTER = f"""
from kubernetes import client, config
from kubernetes.client.rest import ApiException
config.load_incluster_config()
try:
    client.CoreV1Api().list_namespaced_pod("{IN_CLUSTER_NAMESPACE}")
    print("status=200")
except ApiException as err:
    print(f"status={{err.status}}")
"""
VIEW_BINDING = f"""
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: default-view, namespace: {IN_CLUSTER_NAMESPACE}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}}
subjects: [{{kind: ServiceAccount, name: default, namespace: {IN_CLUSTER_NAMESPACE}}}]
"""


def in_cluster_list_status(cluster: Cluster) -> str:
    out = cluster.ok("exec", "-n", IN_CLUSTER_NAMESPACE, "in-cluster", "--", "python", "-c",
                     LIST_PODS_IN_CLUSTER, timeout=120)
    return out.strip().splitlines()[-1]


def test_a_pods_mounted_token_lists_pods_only_once_a_role_binding_allows_it(
        cluster: Cluster, tmp_path: Path) -> None:
    """Needs RBAC on in the compose cluster (--authorization-mode=Node,RBAC) and the
    `kubernetes` Service: before the RoleBinding 403, after it 200."""
    manifest = tmp_path / "in-cluster.yaml"
    manifest.write_text(IN_CLUSTER_MANIFEST)
    # the pod is refused until the ServiceAccount controller has made the new namespace's `default`
    wait_for(lambda: cluster.tinykube("apply", "-f", str(manifest)).returncode == 0, 30, "the in-cluster pod created")
    wait_for(lambda: cluster.get("pod", "in-cluster", "-n", IN_CLUSTER_NAMESPACE)
             .get("status", {}).get("phase") == "Running", 120, "the in-cluster pod Running")
    assert in_cluster_list_status(cluster) == "status=403"
    binding = tmp_path / "binding.yaml"
    binding.write_text(VIEW_BINDING)
    cluster.ok("apply", "-f", str(binding))
    wait_for(lambda: in_cluster_list_status(cluster) == "status=200", 30,
             "the RoleBinding to let the pod list pods")
    cluster.ok("delete", "namespace", IN_CLUSTER_NAMESPACE)


USER_CSR = """
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata: {{name: jane}}
spec:
  request: {request}
  signerName: kubernetes.io/kube-apiserver-client
  usages: [client auth]
"""


def kubectl_as(cluster: Cluster, kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return cluster.run("kubectl", "--kubeconfig", str(kubeconfig), *args, timeout=60)


def test_a_plain_user_is_forbidden_until_a_role_binding_gives_it_view_in_one_namespace(
        cluster: Cluster, tmp_path: Path) -> None:
    """A user made as README's Security section says (a client certificate through an
    approved CSR): kubectl answers Forbidden with Kubernetes' message until a
    RoleBinding to `view` lets it read pods in `default`, and only read, only there."""
    key = pki.new_private_key()
    request = pki.certificate_request_pem(key, "jane", ["e2e-devs"])
    csr = tmp_path / "csr.yaml"
    csr.write_text(USER_CSR.format(request=base64.b64encode(request).decode()))
    kubectl_as(cluster, cluster.kubeconfig, "delete", "csr", "jane", "--ignore-not-found")
    for admin_step in (["apply", "-f", str(csr)], ["certificate", "approve", "jane"]):
        done = kubectl_as(cluster, cluster.kubeconfig, *admin_step)
        assert done.returncode == 0, done.stderr

    def issued() -> str:
        return str((cluster.get("csr", "jane").get("status") or {}).get("certificate") or "")
    wait_for(lambda: issued() != "", 60, "the controller manager to sign jane's certificate")
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    admin["users"] = [{"name": "jane", "user": {
        "client-certificate-data": issued(),
        "client-key-data": base64.b64encode(pki.private_key_pem(key)).decode()}}]
    admin["contexts"][0]["context"]["user"] = "jane"
    jane = tmp_path / "jane.kubeconfig"
    jane.write_text(yaml.safe_dump(admin))
    try:
        refused = kubectl_as(cluster, jane, "get", "pods", "-n", "default")
        assert refused.returncode != 0
        assert ('Error from server (Forbidden): pods is forbidden: User "jane" cannot list resource "pods" '
                'in API group "" in the namespace "default"') in refused.stderr, refused.stderr
        assert kubectl_as(cluster, jane, "get", "secrets", "-A").returncode != 0
        bound = kubectl_as(cluster, cluster.kubeconfig, "create", "rolebinding", "jane-view", "--clusterrole=view",
                           "--user=jane", "-n", "default")
        assert bound.returncode == 0, bound.stderr
        wait_for(lambda: kubectl_as(cluster, jane, "get", "pods", "-n", "default").returncode == 0, 30,
                 "the RoleBinding to let jane list pods in default")
        written = kubectl_as(cluster, jane, "create", "configmap", "nope", "-n", "default")
        assert 'User "jane" cannot create resource "configmaps"' in written.stderr, written.stderr
        elsewhere = kubectl_as(cluster, jane, "get", "pods", "-n", "kube-system")
        assert 'User "jane" cannot list resource "pods" in API group "" in the namespace "kube-system"' in \
            elsewhere.stderr, elsewhere.stderr
    finally:
        cluster.tinykube("delete", "rolebinding", "jane-view", "-n", "default")
        cluster.tinykube("delete", "csr", "jane")


ADDON_ACCOUNTS = {"cluster-dns": "kube-dns", "ingress-controller": "ingress-controller",
                  "dashboard": "dashboard"}


def test_the_add_ons_run_as_their_own_service_accounts_with_no_host_path(cluster: Cluster) -> None:
    """DNS, Ingress and dashboard read the API with their ServiceAccount tokens (in-cluster
    config through the `kubernetes` Service), hold no hostPath volume, and are ready."""
    for deployment, account in ADDON_ACCOUNTS.items():
        found = cluster.get("deployment", deployment, "-n", "kube-system")
        assert (found.get("status") or {}).get("readyReplicas", 0) >= 1, (deployment, found.get("status"))
        selector = ",".join(f"{k}={v}" for k, v in found["spec"]["selector"]["matchLabels"].items())
        pods = cluster.get("pods", "-n", "kube-system", "-l", selector)["items"]
        assert pods, deployment
        for pod in pods:
            spec = pod["spec"]
            assert spec["serviceAccountName"] == account, (pod["metadata"]["name"], spec["serviceAccountName"])
            assert not [v for v in spec.get("volumes") or [] if "hostPath" in v], spec.get("volumes")
            assert any("projected" in v for v in spec.get("volumes") or []), spec.get("volumes")
