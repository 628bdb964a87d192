"""Logs, exec, port-forward and top end to end: real etcd, API server, and a kubelet
with the Docker runtime; the real kubectl (when installed) and the tinykube CLI.

The API server (session fixture) presents the token in its kubelet token file; the
kubelet started here requires that token on its HTTPS port.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tinykube.cluster.engine import DockerDaemon
from tinykube.testing.processes import (REPO_ROOT, APIServerProcess, free_port, kubelet_token_file,
                                        wait_until)

pytestmark = pytest.mark.e2e

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


@pytest.fixture(scope="module")
def node(apiserver: APIServerProcess, docker_engine: DockerDaemon, test_images: dict[str, str],
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    name = f"stream-{uuid.uuid4().hex[:6]}"
    root = tmp_path_factory.mktemp("kubelet")
    log = open(root / "kubelet.log", "wb")  # noqa: SIM115 - closed in teardown
    process = subprocess.Popen(
        [sys.executable, "-m", "kubelet", "--kubeconfig", str(apiserver.kubeconfig),
         "--hostname-override", name, "--container-runtime-endpoint", docker_engine.endpoint,
         "--root-dir", str(root), "--port", str(free_port()), "--address", "127.0.0.1",
         "--kubelet-api-token-file", str(kubelet_token_file(apiserver.workdir)),
         "--node-status-update-frequency", "1s"],
        cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)

    def registered() -> bool:
        assert process.poll() is None, (root / "kubelet.log").read_text()
        return httpx.get(f"{apiserver.http_url}/api/v1/nodes/{name}").status_code == 200

    wait_until(registered, 60, "the kubelet to register its node")
    yield name
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


@pytest.fixture
def run_pod(http: httpx.Client, namespace: str, node: str) -> Callable[..., dict[str, Any]]:
    def start(name: str, script: str, **spec: Any) -> dict[str, Any]:
        container = {"name": "main", "image": "tinykube/busybox:1", "imagePullPolicy": "Never",
                     "command": ["sh", "-c", script]}
        body = {"metadata": {"name": name, "labels": {"app": name}},
                "spec": {"nodeName": node, "containers": [container],
                         "terminationGracePeriodSeconds": 1, **spec}}
        created = http.post(f"/api/v1/namespaces/{namespace}/pods", json=body)
        assert created.status_code == 201, created.text

        def running() -> bool:
            pod = http.get(f"/api/v1/namespaces/{namespace}/pods/{name}").json()
            return bool(pod.get("status", {}).get("phase") == "Running")

        wait_until(running, 60, f"pod {name} to run")
        return http.get(f"/api/v1/namespaces/{namespace}/pods/{name}").json()  # type: ignore[no-any-return]

    return start


def cli(apiserver: APIServerProcess, namespace: str, *words: str, tool: str = "tinykube",
        stdin: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    command = [KUBECTL or "kubectl"] if tool == "kubectl" else [sys.executable, "-m", "tinykube.cli"]
    env = {**os.environ, "KUBECONFIG": str(apiserver.kubeconfig)}
    return subprocess.run([*command, "-n", namespace, *words], input=stdin, capture_output=True,
                          timeout=timeout, env=env, cwd=REPO_ROOT)


TOOLS = [pytest.param("kubectl", marks=needs_kubectl), "tinykube"]


@pytest.mark.parametrize("tool", TOOLS)
def test_logs_follow_streams_new_lines(apiserver: APIServerProcess, namespace: str,
                                       run_pod: Callable[..., dict[str, Any]], tool: str) -> None:
    run_pod("ticker", "i=0; while [ $i -lt 200 ]; do echo tick $i; i=$((i+1)); sleep 0.2; done")
    env = {**os.environ, "KUBECONFIG": str(apiserver.kubeconfig)}
    command = [KUBECTL or "kubectl"] if tool == "kubectl" else [sys.executable, "-m", "tinykube.cli"]
    follower = subprocess.Popen([*command, "-n", namespace, "logs", "-f", "ticker"],
                                stdout=subprocess.PIPE, env=env, cwd=REPO_ROOT)
    try:
        assert follower.stdout is not None
        lines = [follower.stdout.readline() for _ in range(8)]  # arrive over ~1.6 s: streamed
        assert lines[0].startswith(b"tick ") and lines[7].startswith(b"tick ")
        numbers = [int(line.split()[1]) for line in lines]
        assert numbers == list(range(numbers[0], numbers[0] + 8))
    finally:
        follower.terminate()
        follower.wait(10)
        if follower.stdout is not None:
            follower.stdout.close()
    tail = cli(apiserver, namespace, "logs", "ticker", "--tail", "2", tool=tool)
    assert tail.returncode == 0 and len(tail.stdout.splitlines()) == 2


@pytest.mark.parametrize("tool", TOOLS)
def test_exec_prints_output_and_propagates_the_exit_code(
        apiserver: APIServerProcess, namespace: str, run_pod: Callable[..., dict[str, Any]],
        tool: str) -> None:
    run_pod("shell", "sleep 3600")
    result = cli(apiserver, namespace, "exec", "shell", "--", "sh", "-c", "echo hi; exit 3", tool=tool)
    assert result.stdout == b"hi\n"
    assert result.returncode == 3
    assert b"command terminated with exit code 3" in result.stderr
    piped = cli(apiserver, namespace, "exec", "-i", "shell", "--", "sh", "-c", "tr a-z A-Z",
                tool=tool, stdin=b"from stdin\n")
    assert (piped.returncode, piped.stdout) == (0, b"FROM STDIN\n")


@pytest.mark.parametrize("tool", TOOLS)
def test_port_forward_reaches_httpd_in_the_pod(apiserver: APIServerProcess, namespace: str,
                                               run_pod: Callable[..., dict[str, Any]], tmp_path: Path,
                                               tool: str) -> None:
    run_pod("web", "mkdir -p /www && echo hello from the pod > /www/index.html && "
                   "exec httpd -f -p 8080 -h /www")
    local = free_port()
    env = {**os.environ, "KUBECONFIG": str(apiserver.kubeconfig)}
    command = [KUBECTL or "kubectl"] if tool == "kubectl" else [sys.executable, "-m", "tinykube.cli"]
    forwarder = subprocess.Popen([*command, "-n", namespace, "port-forward", "pod/web", f"{local}:8080"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT)
    try:
        assert forwarder.stdout is not None
        assert b"Forwarding from" in forwarder.stdout.readline()
        deadline = time.monotonic() + 30
        while True:  # httpd may still be starting: retry until the deadline
            try:
                page = httpx.get(f"http://127.0.0.1:{local}/", timeout=10)
                if page.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "no page through the port-forward"
            time.sleep(0.1)  # polling interval
        assert page.text == "hello from the pod\n"
        again = httpx.get(f"http://127.0.0.1:{local}/index.html", timeout=10)  # a second connection
        assert again.text == "hello from the pod\n"
    finally:
        forwarder.terminate()
        forwarder.wait(10)
        if forwarder.stdout is not None:
            forwarder.stdout.close()


@pytest.mark.parametrize("tool", TOOLS)
def test_top_shows_pod_and_node_usage(apiserver: APIServerProcess, namespace: str, node: str,
                                      run_pod: Callable[..., dict[str, Any]], tool: str) -> None:
    run_pod("busy", "sleep 3600")
    pods = cli(apiserver, namespace, "top", "pods", tool=tool)
    assert pods.returncode == 0, pods.stderr
    header, *rows = pods.stdout.decode().splitlines()
    assert header.split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    (row,) = [r.split() for r in rows if r.split()[0] == "busy"]
    assert row[1].endswith("m") and row[2].endswith("Mi")
    nodes = cli(apiserver, namespace, "top", "nodes", tool=tool)
    assert nodes.returncode == 0, nodes.stderr
    assert nodes.stdout.decode().split()[:5] == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)",
                                                 "MEMORY(%)"]
    assert node in nodes.stdout.decode()
