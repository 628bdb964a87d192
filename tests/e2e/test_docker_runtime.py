"""DockerRuntime against a real Docker engine: what the kubelet can rely on.

Each test creates its own pods (fresh uids) and they are removed afterwards.
Waiting is always on a condition with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from kubelet.runtime import (
    CONTAINER_NAME_LABEL,
    POD_UID_LABEL,
    ContainerConfig,
    ContainerEvent,
    ContainerState,
    DNSConfig,
    LinuxContainerResources,
    PodSandboxConfig,
    PortMapping,
    RuntimeNotFound,
    RuntimeServiceError,
    SandboxState,
)
from kubelet.runtime.docker import CONTAINER_ATTEMPT_LABEL, DockerRuntime
from tests.e2e.conftest import PodFactory
from tinykube.cluster.images import BUSYBOX_IMAGE
from tinykube.testing.processes import free_port

pytestmark = pytest.mark.e2e

T = TypeVar("T")
MiB = 1024 * 1024


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str, timeout_seconds: float = 20.0) -> T:
    """Poll `probe` until it returns something truthy, or fail after the deadline."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_seconds}s waiting for {what}")
        await asyncio.sleep(0.05)


def shell(name: str, script: str, **kwargs: object) -> ContainerConfig:
    return ContainerConfig(name=name, image=BUSYBOX_IMAGE, command=("sh", "-c", script), **kwargs)  # type: ignore[arg-type]


async def start_pod(runtime: DockerRuntime, sandbox: PodSandboxConfig,
                    *containers: ContainerConfig) -> tuple[str, list[str]]:
    sandbox_id = await runtime.run_pod_sandbox(sandbox)
    ids = []
    for config in containers:
        container_id = await runtime.create_container(sandbox_id, config, sandbox)
        await runtime.start_container(container_id)
        ids.append(container_id)
    return sandbox_id, ids


async def wait_exited(runtime: DockerRuntime, container_id: str, timeout_seconds: float = 30.0):  # noqa: ANN201
    async def exited():  # noqa: ANN202
        status = await runtime.container_status(container_id)
        return status if status.state is ContainerState.EXITED else None
    return await eventually(exited, f"container {container_id[:12]} to exit", timeout_seconds)


async def read_all(stream) -> dict[int, bytes]:  # noqa: ANN001
    out: dict[int, bytes] = {1: b"", 2: b""}
    async for channel, data in stream.read():
        out[channel] = out.get(channel, b"") + data
    return out


async def test_app_containers_share_the_sandbox_network(runtime: DockerRuntime, pods: PodFactory) -> None:
    sandbox = pods.sandbox_config("web", hostname="web-0", dns_config=DNSConfig(
        servers=("10.96.0.10",), searches=("e2e.svc.cluster.local",), options=("ndots:5",)))
    sandbox_id, (server, client) = await start_pod(
        runtime, sandbox,
        shell("server", "echo hello-from-server > /tmp/index.html && exec httpd -f -p 8080 -h /tmp"),
        shell("client", "exec sleep 3600"))

    status = await runtime.pod_sandbox_status(sandbox_id)
    assert status.state is SandboxState.READY
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", status.ip)
    addresses = await runtime.exec_sync(client, ["ip", "-4", "addr"], timeout_seconds=10)
    assert status.ip in addresses.stdout.decode()
    assert (await runtime.exec_sync(client, ["hostname"], 10)).stdout.strip() == b"web-0"
    resolv = (await runtime.exec_sync(client, ["cat", "/etc/resolv.conf"], 10)).stdout.decode()
    assert "nameserver 10.96.0.10" in resolv and "e2e.svc.cluster.local" in resolv and "ndots:5" in resolv

    async def fetch() -> bytes | None:
        result = await runtime.exec_sync(client, ["wget", "-qO-", "http://127.0.0.1:8080/"], 10)
        return result.stdout if result.exit_code == 0 else None
    assert await eventually(fetch, "the server container over localhost") == b"hello-from-server\n"


async def test_a_new_runtime_rebuilds_pods_from_labels(runtime: DockerRuntime, pods: PodFactory,
                                                       docker_engine) -> None:  # noqa: ANN001
    sandbox = pods.sandbox_config("rebuild")
    app = shell("app", "exec sleep 3600", attempt=2, labels={"team": "e2e"})
    sandbox_id, (app_id,) = await start_pod(runtime, sandbox, app)

    fresh = DockerRuntime(docker_engine.endpoint)
    try:
        (found,) = await fresh.list_pod_sandboxes({POD_UID_LABEL: sandbox.metadata.uid})
        assert (found.id, found.metadata, found.state) == (sandbox_id, sandbox.metadata, SandboxState.READY)
        (container,) = await fresh.list_containers(sandbox_id)
    finally:
        fresh.close()
    assert (container.id, container.name, container.state) == (app_id, "app", ContainerState.RUNNING)
    assert container.labels[CONTAINER_NAME_LABEL] == "app"
    assert container.labels[CONTAINER_ATTEMPT_LABEL] == "2"
    assert container.labels["team"] == "e2e"
    assert container.image == BUSYBOX_IMAGE and container.image_ref.startswith("sha256:")


async def test_exit_codes_and_reasons(runtime: DockerRuntime, pods: PodFactory) -> None:
    sandbox = pods.sandbox_config("exits")
    oom_limit = LinuxContainerResources(memory_limit_bytes=20 * MiB)
    _, (ok, failed, oom) = await start_pod(
        runtime, sandbox, shell("ok", "exit 0"), shell("failed", "exit 3"),
        shell("oom", "x=0123456789; while :; do x=$x$x; done", resources=oom_limit))

    completed = await wait_exited(runtime, ok)
    assert (completed.exit_code, completed.reason) == (0, "Completed")
    assert 0 < completed.started_at_ns <= completed.finished_at_ns
    error = await wait_exited(runtime, failed)
    assert (error.exit_code, error.reason) == (3, "Error")
    oom_killed = await wait_exited(runtime, oom)
    assert oom_killed.reason == "OOMKilled" and oom_killed.exit_code != 0


async def test_stop_sends_sigterm_then_sigkill(runtime: DockerRuntime, pods: PodFactory) -> None:
    sandbox = pods.sandbox_config("stop")
    _, (polite, stubborn) = await start_pod(
        runtime, sandbox,
        shell("polite", "trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.1; done"),
        shell("stubborn", "trap '' TERM; echo ready; while :; do sleep 0.1; done"))
    for container_id in (polite, stubborn):
        await eventually(lambda cid=container_id: logs_text(runtime, cid), "the trap to be installed")

    await runtime.stop_container(polite, timeout_seconds=30)
    stopped = await runtime.container_status(polite)
    assert (stopped.state, stopped.exit_code) == (ContainerState.EXITED, 7)
    assert "got-term" in await logs_text(runtime, polite)

    await runtime.stop_container(stubborn, timeout_seconds=1)
    killed = await runtime.container_status(stubborn)
    assert (killed.state, killed.exit_code, killed.reason) == (ContainerState.EXITED, 137, "Error")


async def logs_text(runtime: DockerRuntime, container_id: str, **kwargs: object) -> str:
    options = {"follow": False, "tail_lines": None, "since_seconds": None, "timestamps": False, **kwargs}
    chunks = [chunk async for chunk in runtime.container_logs(container_id, **options)]  # type: ignore[arg-type]
    return b"".join(chunks).decode()


async def test_exec_sync_returns_output_and_exit_code(runtime: DockerRuntime, pods: PodFactory) -> None:
    _, (app,) = await start_pod(runtime, pods.sandbox_config("exec"), shell("app", "exec sleep 3600"))
    result = await runtime.exec_sync(app, ["sh", "-c", "echo out; echo err >&2; exit 4"], timeout_seconds=10)
    assert (result.exit_code, result.stdout, result.stderr) == (4, b"out\n", b"err\n")
    with pytest.raises(RuntimeServiceError, match="timed out"):
        await runtime.exec_sync(app, ["sleep", "30"], timeout_seconds=0.3)
    with pytest.raises(RuntimeNotFound):
        await runtime.exec_sync("no-such-container", ["true"], timeout_seconds=5)


async def test_streaming_exec_with_stdin_and_tty(runtime: DockerRuntime, pods: PodFactory) -> None:
    _, (app,) = await start_pod(runtime, pods.sandbox_config("stream"), shell("app", "exec sleep 3600"))
    session = await runtime.exec(app, ["sh", "-c", "tr a-z A-Z; echo done >&2; exit 5"], tty=False, stdin=True)
    await session.write(b"hello\nworld\n")
    await session.close_stdin()
    output = await read_all(session)
    await session.close()
    assert output == {1: b"HELLO\nWORLD\n", 2: b"done\n"}
    assert await session.exit_code() == 5

    terminal = await runtime.exec(app, ["tty"], tty=True, stdin=False)
    output = await read_all(terminal)
    await terminal.close()
    assert output[1].startswith(b"/dev/pts/") and await terminal.exit_code() == 0


async def test_logs_tail_follow_and_timestamps(runtime: DockerRuntime, pods: PodFactory) -> None:
    script = "for i in 1 2 3 4 5; do echo line-$i; done; while [ ! -f /tmp/go ]; do sleep 0.05; done; echo after"
    _, (app,) = await start_pod(runtime, pods.sandbox_config("logs"), shell("app", script + "; exec sleep 3600"))
    await eventually(lambda: logs_text(runtime, app, tail_lines=1), "the first lines")
    assert await logs_text(runtime, app, tail_lines=2) == "line-4\nline-5\n"
    stamped = (await logs_text(runtime, app, timestamps=True)).splitlines()
    assert len(stamped) == 5 and re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line-1$", stamped[0])

    followed = b""
    stream = runtime.container_logs(app, follow=True, tail_lines=1, since_seconds=None, timestamps=False)
    async with contextlib.aclosing(stream):
        async for chunk in stream:
            followed += chunk
            if followed == b"line-5\n":
                await runtime.exec_sync(app, ["touch", "/tmp/go"], 10)
            if followed.endswith(b"after\n"):
                break
    assert followed == b"line-5\nafter\n"


async def test_port_forward_and_host_port_reach_the_pod(runtime: DockerRuntime, pods: PodFactory) -> None:
    host_port = free_port()
    sandbox = pods.sandbox_config("pf", port_mappings=(PortMapping(container_port=8080, host_port=host_port),))
    sandbox_id, _ = await start_pod(
        runtime, sandbox, shell("web", "echo forwarded > /tmp/index.html && exec httpd -f -p 8080 -h /tmp"))

    async def get_via_port_forward() -> bytes | None:
        try:
            stream = await runtime.port_forward(sandbox_id, 8080)
        except RuntimeServiceError:
            return None  # httpd not listening yet
        await stream.write(b"GET /index.html HTTP/1.0\r\n\r\n")
        response = b"".join([data async for _, data in stream.read()])
        await stream.close()
        return response
    response = await eventually(get_via_port_forward, "httpd through port-forward")
    assert response.startswith(b"HTTP/1.") and response.endswith(b"forwarded\n")

    async def get_via_host_port() -> bytes | None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", host_port)
        except OSError:
            return None
        writer.write(b"GET /index.html HTTP/1.0\r\n\r\n")
        body = await reader.read()
        writer.close()
        return body or None
    assert (await eventually(get_via_host_port, "httpd through the hostPort")).endswith(b"forwarded\n")


async def test_stats_report_cpu_and_memory(runtime: DockerRuntime, pods: PodFactory) -> None:
    _, (app,) = await start_pod(runtime, pods.sandbox_config("stats"),
                                shell("app", "head -c 8000000 /dev/zero > /dev/shm/blob; echo ready; sleep 3600"))
    await eventually(lambda: logs_text(runtime, app), "the container to fill 8 MB of tmpfs")
    first = await runtime.container_stats(app)
    second = await runtime.container_stats(app)
    assert first.memory_working_set_bytes >= 8_000_000
    assert 0 < first.cpu_usage_core_nano_seconds <= second.cpu_usage_core_nano_seconds
    assert second.timestamp_ns >= first.timestamp_ns


async def test_events_report_start_and_die(runtime: DockerRuntime, pods: PodFactory) -> None:
    sandbox = pods.sandbox_config("events")
    seen: list[ContainerEvent] = []

    async def consume() -> None:
        async for event in runtime.events():
            if event.pod_uid == sandbox.metadata.uid:
                seen.append(event)
    consumer = asyncio.create_task(consume())
    try:
        # the stream is open once our own sandbox's start shows up
        sandbox_id, (app,) = await start_pod(runtime, sandbox, shell("app", "exec sleep 3600"))

        async def saw(kind: str, container_id: str) -> bool:
            return any(e.kind == kind and e.container_id == container_id for e in seen)
        await eventually(lambda: saw("start", app), "the start event")
        await runtime.stop_container(app, timeout_seconds=0)
        await eventually(lambda: saw("die", app), "the die event")
        await runtime.remove_pod_sandbox(sandbox_id)
        await eventually(lambda: saw("destroy", sandbox_id), "the sandbox's destroy event")
    finally:
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer


async def test_sandbox_lifecycle_and_errors(runtime: DockerRuntime, pods: PodFactory) -> None:
    sandbox = pods.sandbox_config("life")
    sandbox_id, (app,) = await start_pod(runtime, sandbox, shell("app", "exec sleep 3600"))
    await runtime.stop_pod_sandbox(sandbox_id)
    assert (await runtime.pod_sandbox_status(sandbox_id)).state is SandboxState.NOT_READY
    assert (await runtime.container_status(app)).state is ContainerState.EXITED
    await runtime.remove_pod_sandbox(sandbox_id)
    await runtime.remove_pod_sandbox(sandbox_id)  # already gone: not an error
    assert await runtime.list_pod_sandboxes({POD_UID_LABEL: sandbox.metadata.uid}) == []
    with pytest.raises(RuntimeNotFound):
        await runtime.pod_sandbox_status(sandbox_id)
    with pytest.raises(RuntimeNotFound):
        await runtime.container_status(app)

    other = pods.sandbox_config("noimage")
    other_id = await runtime.run_pod_sandbox(other)
    with pytest.raises(RuntimeServiceError, match="(?i)no such image"):
        await runtime.create_container(other_id, ContainerConfig(name="x", image="tinykube/absent:1"), other)


async def test_pulling_a_missing_image_reports_the_engine_message(runtime: DockerRuntime) -> None:
    image = "tinykube-e2e/does-not-exist:1"
    with pytest.raises(RuntimeServiceError) as raised:
        await runtime.pull_image(image)
    message = str(raised.value)
    assert message and "RuntimeServiceError" not in message
    assert await runtime.image_status(image) is None
    busybox = await runtime.image_status(BUSYBOX_IMAGE)
    assert busybox is not None and BUSYBOX_IMAGE in busybox.repo_tags
    assert busybox.id in {image.id for image in await runtime.list_images()}
    await runtime.remove_image(image)  # absent: not an error
    assert (await runtime.version()).startswith("docker://")
