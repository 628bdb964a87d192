"""`tinykube exec`, `port-forward`, `logs` and `top` through the API server to a kubelet.

The whole path but Docker: the CLI's WebSocket to the API server, the API server's
WebSocket to the kubelet (both `tinykube.client.websocket`), and the kubelet API of
a hollow node (fake runtime: `cat` echoes stdin, `echo` prints its arguments, every
port is an echo server).
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.cli_helpers import create, tinykube
from tinykube.client import load_kubeconfig
from tinykube.client.websocket import HandshakeError, connect_to_server
from tinykube.system import stop_child
from tinykube.testing.processes import APIServerProcess, free_port, start_kubelet, wait_until


@pytest.fixture(scope="module")
def node(apiserver: APIServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    name = f"stream-{uuid.uuid4().hex[:6]}"
    root = tmp_path_factory.mktemp("kubelet")
    kubelet = start_kubelet(apiserver, name, root, "--node-status-update-frequency=1s")
    try:
        # No --tls-cert-file: the kubelet made its self-signed serving certificate here.
        assert (root / "pki" / "kubelet.crt").exists() and (root / "pki" / "kubelet.key").exists()
        yield name
    finally:
        kubelet.stop(30)


@pytest.fixture
def pod(http: httpx.Client, namespace: str, node: str) -> str:
    name = "shell"
    create(http, f"/api/v1/namespaces/{namespace}/pods", {
        "metadata": {"name": name},
        "spec": {"nodeName": node, "containers": [
            {"name": "main", "image": "busybox", "ports": [{"name": "web", "containerPort": 8080}]}]}})

    def running() -> bool:
        found = http.get(f"/api/v1/namespaces/{namespace}/pods/{name}").json()
        return bool(found.get("status", {}).get("phase") == "Running")

    wait_until(running, 60, "the pod to run")
    return name


def test_exec_relays_stdin_and_output(apiserver: APIServerProcess, namespace: str, pod: str) -> None:
    echoed = tinykube(apiserver, "-n", namespace, "exec", pod, "--", "echo", "hello", "world")
    assert (echoed.returncode, echoed.stdout) == (0, "hello world\n"), echoed.stderr
    piped = tinykube(apiserver, "-n", namespace, "exec", "-i", pod, "--", "cat", stdin="one\ntwo\n")
    assert (piped.returncode, piped.stdout) == (0, "one\ntwo\n"), piped.stderr


def test_exec_into_a_missing_container_prints_the_failure(apiserver: APIServerProcess,
                                                         namespace: str, pod: str) -> None:
    result = tinykube(apiserver, "-n", namespace, "exec", "-c", "sidecar", pod, "--", "ls")
    assert result.returncode == 1
    assert result.stderr == ("Error from server (BadRequest): container sidecar is not valid "
                             f"for pod {pod}\n")


def test_exec_and_port_forward_to_a_missing_pod_are_refused_before_the_upgrade(
        apiserver: APIServerProcess, namespace: str) -> None:
    config = load_kubeconfig(apiserver.kubeconfig)
    base = f"/api/v1/namespaces/{namespace}/pods/absent"
    for path, query in ((f"{base}/exec", [("command", "ls"), ("stdout", "1")]),
                        (f"{base}/portforward", [("ports", "80")])):
        with pytest.raises(HandshakeError) as refused:
            asyncio.run(connect_to_server(config, path, query, ["v4.channel.k8s.io"]))
        assert refused.value.status_code == 404
        assert json.loads(refused.value.body)["message"] == 'pods "absent" not found'
    result = tinykube(apiserver, "-n", namespace, "exec", "absent", "--", "ls")
    assert (result.returncode, result.stderr) == (
        1, 'Error from server (NotFound): pods "absent" not found\n')


def test_port_forward_relays_bytes_both_ways(apiserver: APIServerProcess, namespace: str,
                                             pod: str, tmp_path: Path) -> None:
    local = free_port()
    with open(tmp_path / "out", "wb") as out:
        forwarder = subprocess.Popen(
            [sys.executable, "-m", "tinykube.cli", "--kubeconfig", str(apiserver.kubeconfig),
             "-n", namespace, "port-forward", f"pod/{pod}", f"{local}:web"],
            stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: "Forwarding from" in (tmp_path / "out").read_text(), 30,
                   "port-forward to listen")
        for payload in (b"ping", b"a second connection"):
            with socket.create_connection(("127.0.0.1", local), timeout=10) as connection:
                connection.sendall(payload)
                connection.shutdown(socket.SHUT_WR)
                received = b""
                while chunk := connection.recv(65536):
                    received += chunk
            assert received == payload
        assert (tmp_path / "out").read_text().count("Handling connection for") == 2
    finally:
        stop_child(forwarder)


def test_logs_stream_through_the_api_server(apiserver: APIServerProcess, namespace: str, pod: str) -> None:
    result = tinykube(apiserver, "-n", namespace, "logs", pod, "--since=5m", "--timestamps")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")  # a hollow node logs nothing
    missing = tinykube(apiserver, "-n", namespace, "logs", pod, "-c", "sidecar")
    assert missing.returncode == 1 and missing.stderr.startswith("Error from server (BadRequest)")


def test_top_reads_metrics_built_from_the_kubelet_summary(apiserver: APIServerProcess, namespace: str,
                                                          pod: str, node: str) -> None:
    pods = tinykube(apiserver, "-n", namespace, "top", "pod", pod)
    assert pods.returncode == 0, pods.stderr
    assert pods.stdout.split("\n")[1].split() == [pod, "1m", "4Mi"]  # the fake runtime's usage
    nodes = tinykube(apiserver, "top", "node", node)
    assert nodes.returncode == 0 and node in nodes.stdout, nodes.stderr
    missing = tinykube(apiserver, "-n", namespace, "top", "pod", "nope")
    assert missing.returncode == 1
    assert 'podmetrics.metrics.k8s.io "nope" not found' in missing.stderr
