"""Probe workers with a scripted runner and a FakeClock; the probers against loopback servers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from kubelet.prober.manager import ProbeManager, RunningContainer
from kubelet.prober.probers import ProbeResult, RuntimeProbeRunner, http_get, tcp_socket
from kubelet.runtime import (
    ContainerConfig,
    ExecResult,
    PodSandboxConfig,
    PodSandboxMetadata,
)
from kubelet.runtime.fake import FakeRuntime
from tinykube.api.core import Container, HTTPGetAction, Probe, TCPSocketAction
from tinykube.client.clock import FakeClock

Obj = dict[str, Any]


class ScriptedRunner:
    """Probe results per kind from a queue (default: the last one again)."""

    def __init__(self) -> None:
        self.results: dict[str, list[ProbeResult]] = {}
        self.calls: list[str] = []

    async def __call__(self, probe: Probe, *, container: Container, container_id: str,
                       pod_ip: str) -> tuple[ProbeResult, str]:
        kind = (probe.model_extra or {})["kind"]  # the test's tag for which probe this is
        self.calls.append(kind)
        queue = self.results.get(kind, [ProbeResult.SUCCESS])
        result = queue.pop(0) if len(queue) > 1 else queue[0]
        return result, "" if result is ProbeResult.SUCCESS else f"{kind} said no"


async def until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0)
    pytest.fail(f"never happened: {what}")


def setup(**probes: Obj) -> tuple[ProbeManager, ScriptedRunner, FakeClock, list[str], Container]:
    clock, runner, changes = FakeClock(), ScriptedRunner(), []
    manager = ProbeManager(runner, changes.append, clock)
    spec = Container.from_dict({"name": "app", **{f"{k}Probe": {"kind": k, **v} for k, v in probes.items()}})
    manager.sync_pod("u1", "10.0.0.5", [RunningContainer(spec, "c1", clock.wall())])
    return manager, runner, clock, changes, spec


async def test_readiness_starts_unready_and_follows_the_thresholds() -> None:
    manager, runner, clock, changes, spec = setup(readiness={"initialDelaySeconds": 5, "periodSeconds": 2,
                                                             "failureThreshold": 2})
    runner.results["readiness"] = [ProbeResult.SUCCESS, ProbeResult.FAILURE, ProbeResult.FAILURE,
                                   ProbeResult.SUCCESS]
    assert not manager.is_ready("c1", spec)
    await until(lambda: clock.pending_timers == 1, "the worker waits out the initial delay")
    clock.advance(4)
    assert runner.calls == []
    clock.advance(1)
    await until(lambda: manager.is_ready("c1", spec), "ready after one success")
    assert changes == ["u1"]
    clock.advance(2)
    await until(lambda: len(runner.calls) == 2, "second probe")
    assert manager.is_ready("c1", spec)  # one failure is below the threshold
    clock.advance(2)
    await until(lambda: not manager.is_ready("c1", spec), "unready after two failures")
    clock.advance(2)
    await until(lambda: manager.is_ready("c1", spec), "ready again")
    assert changes == ["u1", "u1", "u1"]
    await manager.stop()


async def test_liveness_failure_is_reported_and_the_worker_stops() -> None:
    manager, runner, clock, changes, _ = setup(liveness={"periodSeconds": 1, "failureThreshold": 3})
    runner.results["liveness"] = [ProbeResult.FAILURE]
    await until(lambda: len(runner.calls) == 1, "first probe")
    for n in (2, 3):
        await until(lambda: clock.pending_timers == 1, "the worker sleeps")
        clock.advance(1)
        await until(lambda n=n: len(runner.calls) == n, f"probe {n}")
    await until(lambda: manager.failed("liveness", ["c1"]) == {"c1": "liveness said no"}, "liveness failed")
    assert changes == ["u1"]
    await until(lambda: clock.pending_timers == 0, "the worker ended")


async def test_startup_gates_liveness_and_readiness() -> None:
    manager, runner, clock, _, spec = setup(startup={"periodSeconds": 1}, liveness={"periodSeconds": 1},
                                            readiness={"periodSeconds": 1})
    runner.results["startup"] = [ProbeResult.FAILURE, ProbeResult.SUCCESS]
    await until(lambda: runner.calls.count("startup") == 1, "first startup probe")
    assert not manager.is_started("c1", spec) and not manager.is_ready("c1", spec)
    await until(lambda: clock.pending_timers == 3, "all workers asleep")
    assert set(runner.calls) == {"startup"}
    clock.advance(1)
    await until(lambda: manager.is_started("c1", spec), "started")
    clock.advance(1)
    await until(lambda: manager.is_ready("c1", spec), "readiness probed once started")
    assert "liveness" in runner.calls
    await manager.stop()


async def test_a_container_gone_forgets_its_workers_and_results() -> None:
    manager, _, clock, _, spec = setup(readiness={"periodSeconds": 1})
    await until(lambda: manager.is_ready("c1", spec), "ready")
    manager.sync_pod("u1", "10.0.0.5", [])
    await until(lambda: clock.pending_timers == 0, "worker cancelled")
    assert not manager.is_ready("c1", spec)


async def serve(status: int) -> tuple[asyncio.Server, int, list[bytes]]:
    requests: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        requests.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], requests


@pytest.mark.parametrize(("status", "want"), [(200, ProbeResult.SUCCESS), (302, ProbeResult.SUCCESS),
                                              (500, ProbeResult.FAILURE)])
async def test_http_get_probe(status: int, want: ProbeResult) -> None:
    server, port, requests = await serve(status)
    async with server:
        action = HTTPGetAction.from_dict({"path": "healthz", "port": "http",
                                          "httpHeaders": [{"name": "X-Probe", "value": "yes"}]})
        container = Container.from_dict({"name": "app", "ports": [{"name": "http", "containerPort": port}]})
        result, message = await http_get(action, container=container, pod_ip="127.0.0.1", timeout_seconds=2)
    assert result is want
    assert requests[0].startswith(b"GET /healthz HTTP/1.1") and b"x-probe: yes" in requests[0].lower()
    if want is ProbeResult.FAILURE:
        assert message == "HTTP probe failed with statuscode: 500"


async def test_tcp_socket_probe() -> None:
    server, port, _ = await serve(200)
    async with server:
        assert (await tcp_socket(TCPSocketAction(port=port), container=Container(name="app"), pod_ip="127.0.0.1", timeout_seconds=2))[0] \
            is ProbeResult.SUCCESS
    result, message = await tcp_socket(TCPSocketAction(port=port), container=Container(name="app"), pod_ip="127.0.0.1", timeout_seconds=2)
    assert result is ProbeResult.FAILURE and message.startswith(f"dial tcp 127.0.0.1:{port}")


async def test_exec_probe_through_the_runtime() -> None:
    runtime = FakeRuntime()
    sandbox = PodSandboxConfig(PodSandboxMetadata("p", "ns", "u1"))
    sandbox_id = await runtime.run_pod_sandbox(sandbox)
    container_id = await runtime.create_container(sandbox_id, ContainerConfig("app", "img"), sandbox)
    await runtime.start_container(container_id)
    runner = RuntimeProbeRunner(runtime)
    probe = Probe.from_dict({"exec": {"command": ["cat", "/tmp/healthy"]}})
    assert (await runner(probe, container=Container(name="app"), container_id=container_id, pod_ip=""))[0] is ProbeResult.SUCCESS
    runtime.exec_results["app"] = ExecResult(1, b"", b"cat: /tmp/healthy: No such file")
    assert await runner(probe, container=Container(name="app"), container_id=container_id, pod_ip="") == (
        ProbeResult.FAILURE, "cat: /tmp/healthy: No such file")
