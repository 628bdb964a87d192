"""The kubelet API (HTTPS, bearer token) against the FakeRuntime: logs, exec,
port-forward, stats summary, as the API server calls them."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from kubelet.runtime import (CONTAINER_NAME_LABEL, POD_NAME_LABEL, POD_NAMESPACE_LABEL,
                             POD_UID_LABEL, ContainerConfig, ExecResult, PodSandboxConfig,
                             PodSandboxMetadata)
from kubelet.runtime.fake import FakeRuntime
from kubelet.server import KubeletServer, ServerConfig
from kubelet.server.auth import KubeletAuth, StaticTokenAuthenticator
from tinykube.client import websocket
from tinykube.testing.processes import free_port

TOKEN = "kubelet-test-token"


class Kubelet:
    def __init__(self, runtime: FakeRuntime, port: int) -> None:
        self.runtime, self.base = runtime, f"https://127.0.0.1:{port}"
        self.ssl = ssl.create_default_context()
        self.ssl.check_hostname, self.ssl.verify_mode = False, ssl.CERT_NONE
        self.http = httpx.AsyncClient(base_url=self.base, verify=self.ssl,
                                      headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)

    async def add_pod(self, name: str, containers: tuple[str, ...] = ("main",),
                      namespace: str = "default") -> dict[str, str]:
        labels = {POD_UID_LABEL: f"uid-{name}", POD_NAME_LABEL: name, POD_NAMESPACE_LABEL: namespace}
        sandbox_config = PodSandboxConfig(PodSandboxMetadata(name, namespace, f"uid-{name}"),
                                          labels=labels)
        sandbox = await self.runtime.run_pod_sandbox(sandbox_config)
        ids = {"sandbox": sandbox}
        for container in containers:
            ids[container] = await self.start(sandbox, sandbox_config, container)
        return ids

    async def start(self, sandbox: str, sandbox_config: PodSandboxConfig, name: str) -> str:
        labels = {**sandbox_config.labels, CONTAINER_NAME_LABEL: name}
        container_id = await self.runtime.create_container(
            sandbox, ContainerConfig(name, "busybox", labels=labels), sandbox_config)
        await self.runtime.start_container(container_id)
        return container_id

    async def ws(self, path: str, subprotocols: list[str]) -> websocket.WebSocketClient:
        return await websocket.connect(f"{self.base}{path}", subprotocols=subprotocols,
                                      headers={"Authorization": f"Bearer {TOKEN}"},
                                      ssl_context=self.ssl)


@pytest.fixture
async def kubelet(tmp_path: Path) -> AsyncIterator[Kubelet]:
    runtime, port = FakeRuntime(), free_port()
    server = KubeletServer(runtime, ServerConfig("node-a", "127.0.0.1", port,
                                                 root_dir=str(tmp_path),
                                                 auth=KubeletAuth(static_token=StaticTokenAuthenticator(TOKEN))))
    task = asyncio.create_task(server.run())
    client = Kubelet(runtime, port)
    deadline = time.monotonic() + 10
    while not server.started:  # uvicorn says when it listens
        assert not task.done(), "the kubelet API did not start"
        assert time.monotonic() < deadline, "the kubelet API did not start within 10s"
        await asyncio.sleep(0.01)
    yield client
    await client.http.aclose()
    server.stop()
    await asyncio.wait_for(task, 10)


async def read_all(ws: websocket.WebSocketClient) -> list[bytes]:
    messages = []
    while (message := await asyncio.wait_for(ws.receive(), 10)) is not None:
        messages.append(message)
    return messages


async def test_requests_without_the_token_are_unauthorized(kubelet: Kubelet) -> None:
    async with httpx.AsyncClient(base_url=kubelet.base, verify=kubelet.ssl) as anonymous:
        assert (await anonymous.get("/healthz")).status_code == 200
        assert (await anonymous.get("/stats/summary")).status_code == 401
        wrong = await anonymous.get("/stats/summary", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
    with pytest.raises(websocket.HandshakeError):
        await websocket.connect(f"{kubelet.base}/exec/default/p/main?command=ls",
                               subprotocols=["v5.channel.k8s.io"], ssl_context=kubelet.ssl)


async def test_container_logs_with_tail_timestamps_and_unknown_pods(kubelet: Kubelet) -> None:
    ids = await kubelet.add_pod("web")
    for line in (b"one", b"two", b"three"):
        kubelet.runtime.write_log(ids["main"], line)
    everything = await kubelet.http.get("/containerLogs/default/web/main")
    assert everything.text == "one\ntwo\nthree\n"
    tail = await kubelet.http.get("/containerLogs/default/web/main", params={"tailLines": "1"})
    assert tail.text == "three\n"
    stamped = await kubelet.http.get("/containerLogs/default/web/main",
                                     params={"tailLines": "1", "timestamps": "true"})
    stamp, _, text = stamped.text.partition(" ")
    assert text == "three\n" and stamp.endswith("Z") and "T" in stamp
    missing = await kubelet.http.get("/containerLogs/default/nope/main")
    assert missing.status_code == 404 and missing.json()["kind"] == "Status"
    no_previous = await kubelet.http.get("/containerLogs/default/web/main",
                                         params={"previous": "true"})
    assert no_previous.status_code == 400
    assert "previous terminated container" in no_previous.json()["message"]


async def test_previous_reads_the_instance_before_the_current_one(kubelet: Kubelet) -> None:
    ids = await kubelet.add_pod("crashy")
    kubelet.runtime.write_log(ids["main"], b"first life")
    kubelet.runtime.exit_container(ids["main"], 1)
    sandbox = kubelet.runtime.sandboxes[ids["sandbox"]]
    config = PodSandboxConfig(sandbox.metadata, labels=sandbox.labels)
    second = await kubelet.start(ids["sandbox"], config, "main")
    kubelet.runtime.write_log(second, b"second life")
    current = await kubelet.http.get("/containerLogs/default/crashy/main")
    previous = await kubelet.http.get("/containerLogs/default/crashy/main", params={"previous": "1"})
    assert (current.text, previous.text) == ("second life\n", "first life\n")


async def test_follow_streams_new_lines_until_the_container_exits(kubelet: Kubelet) -> None:
    ids = await kubelet.add_pod("tail")
    kubelet.runtime.write_log(ids["main"], b"before")
    async with kubelet.http.stream("GET", "/containerLogs/default/tail/main",
                                   params={"follow": "true"}) as response:
        chunks = response.aiter_bytes()
        assert await asyncio.wait_for(anext(chunks), 10) == b"before\n"
        kubelet.runtime.write_log(ids["main"], b"after")
        assert await asyncio.wait_for(anext(chunks), 10) == b"after\n"
        kubelet.runtime.exit_container(ids["main"], 0)
        rest = [chunk async for chunk in chunks]
    assert rest == []


async def test_exec_returns_output_then_a_success_status(kubelet: Kubelet) -> None:
    await kubelet.add_pod("box")
    ws = await kubelet.ws("/exec/default/box/main?command=echo&command=hi&stdout=1&stderr=1",
                          ["v5.channel.k8s.io"])
    assert ws.subprotocol == "v5.channel.k8s.io"
    messages = await read_all(ws)
    assert messages[0] == b"\x01hi\n"
    assert json.loads(messages[-1][1:])["status"] == "Success" and messages[-1][0] == 3


async def test_exec_reports_a_non_zero_exit_code_as_kubectl_expects(kubelet: Kubelet) -> None:
    await kubelet.add_pod("failing")
    kubelet.runtime.exec_results["main"] = ExecResult(3, b"hi\n", b"oops\n")
    ws = await kubelet.ws("/exec/default/failing/main?command=sh&stdout=1&stderr=1",
                          ["v4.channel.k8s.io"])
    messages = await read_all(ws)
    assert b"\x01hi\n" in messages and b"\x02oops\n" in messages
    status = json.loads(messages[-1][1:])
    assert status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]


async def test_exec_with_stdin_and_resize(kubelet: Kubelet) -> None:
    await kubelet.add_pod("cat")
    ws = await kubelet.ws("/exec/default/cat/main?command=cat&stdin=1&stdout=1&tty=1",
                          ["v5.channel.k8s.io"])
    await ws.send(b"\x04" + json.dumps({"Width": 120, "Height": 40}).encode())
    await ws.send(b"\x00typed")
    assert await asyncio.wait_for(ws.receive(), 10) == b"\x00typed"[:0] + b"\x01typed"
    await ws.send(bytes([255, 0]))  # v5: stdin is closed
    rest = await read_all(ws)
    assert json.loads(rest[-1][1:])["status"] == "Success"
    assert kubelet.runtime.resizes == [(120, 40)]


async def test_exec_into_a_missing_container_is_a_failure_status(kubelet: Kubelet) -> None:
    await kubelet.add_pod("lonely")
    ws = await kubelet.ws("/exec/default/lonely/sidecar?command=ls&stdout=1", ["v5.channel.k8s.io"])
    (message,) = await read_all(ws)
    status = json.loads(message[1:])
    assert message[0] == 3 and status["status"] == "Failure" and "sidecar" in status["message"]


async def test_port_forward_relays_bytes_and_reports_refused_ports(kubelet: Kubelet) -> None:
    await kubelet.add_pod("server")
    ws = await kubelet.ws("/portForward/default/server?port=8080", ["portforward.tinykube.io"])
    await ws.send(b"ping")
    assert await asyncio.wait_for(ws.receive(), 10) == b"ping"
    await ws.send(b"")  # half-close: the echo server finishes
    assert await read_all(ws) == [] and ws.close_code == 1000
    kubelet.runtime.refused_ports.add(9999)
    refused = await kubelet.ws("/portForward/default/server?port=9999", ["portforward.tinykube.io"])
    assert await read_all(refused) == []
    assert refused.close_code == 1011 and "connection refused" in refused.close_reason


async def test_stats_summary_sums_containers_per_pod(kubelet: Kubelet) -> None:
    await kubelet.add_pod("pair", ("app", "sidecar"))
    kubelet.runtime.usage.update({"app": (250_000_000, 100 << 20), "sidecar": (50_000_000, 20 << 20)})
    summary = (await kubelet.http.get("/stats/summary")).json()
    assert summary["node"]["nodeName"] == "node-a"
    assert summary["node"]["memory"]["workingSetBytes"] > 0
    (pod,) = summary["pods"]
    assert pod["podRef"] == {"name": "pair", "namespace": "default", "uid": "uid-pair"}
    assert pod["cpu"]["usageNanoCores"] == 300_000_000
    assert pod["memory"]["workingSetBytes"] == 120 << 20
    assert {c["name"]: c["cpu"]["usageNanoCores"] for c in pod["containers"]} == \
        {"app": 250_000_000, "sidecar": 50_000_000}
