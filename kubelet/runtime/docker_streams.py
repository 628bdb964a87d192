"""CRI's streaming calls on the Docker engine: exec, attach, port-forward, logs,
stats and the engine's event stream.

Exec and attach speak to the engine directly over asyncio: an HTTP request with
`Upgrade: tcp` that the engine answers `101 UPGRADED`, after which the socket is
the process's stdin/stdout. Without a TTY the engine multiplexes stdout and stderr
into frames (8-byte header: stream id, 3 zero bytes, big-endian length); with a TTY
it is one raw stream. Half-closing our side closes the process's stdin. (The SDK's
own socket mode can lose output that arrives with the response headers, and blocks.)

Port-forward connects to the sandbox's IP on the requested port from the node:
the pod's network namespace is reachable over the bridge, so this reaches the
same listener as 127.0.0.1:<port> inside the pod (unless it binds loopback only).

Logs, events and stats use the SDK; long streams are read by DockerEngine.stream.

Kubernetes counterpart: pkg/kubelet/dockershim/docker_streaming.go,
pkg/kubelet/dockershim/docker_stats_linux.go, pkg/kubelet/cri/streaming/
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from kubelet.runtime import (
    POD_UID_LABEL,
    ContainerEvent,
    ContainerStats,
    ExecResult,
    RuntimeServiceError,
)
from kubelet.runtime.docker_engine import DockerEngine, parse_timestamp_ns

log = logging.getLogger(__name__)

STDOUT, STDERR = 1, 2
WATCHED_EVENTS = ("start", "die", "oom", "destroy")
EXIT_CODE_WAIT_SECONDS = 5.0


async def hijack(engine: DockerEngine, path: str, body: dict[str, Any] | None = None
                 ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """POST `path` with `Upgrade: tcp`; return the raw stream that follows the headers."""
    socket_path = engine.unix_socket_path()
    if socket_path is not None:
        reader, writer = await asyncio.open_unix_connection(socket_path, limit=1 << 20)
    else:
        reader, writer = await asyncio.open_connection(*engine.tcp_address(), limit=1 << 20)
    payload = json.dumps(body).encode() if body is not None else b""
    writer.write((f"POST /v{engine.api_version}{path} HTTP/1.1\r\nHost: docker\r\n"
                  f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
                  "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n").encode() + payload)
    await writer.drain()
    try:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
        writer.close()
        raise RuntimeServiceError(f"engine closed the stream for {path}") from error
    status = int(head.split(" ", 2)[1])
    if status not in (101, 200):
        length = next((int(line.split(":", 1)[1]) for line in head.split("\r\n")
                       if line.lower().startswith("content-length:")), 0)
        body_text = (await reader.readexactly(length)).decode(errors="replace") if length else ""
        writer.close()
        with contextlib.suppress(ValueError, AttributeError):
            body_text = json.loads(body_text).get("message", body_text)
        raise RuntimeServiceError(body_text.strip() or f"engine answered {status} for {path}")
    return reader, writer


class ProcessStream:
    """A StreamSession on a hijacked exec/attach connection.

    - `read()` yields (1, stdout) and (2, stderr); with a TTY everything is stdout.
    - `exit_code()` is known once `read()` has ended.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tty: bool,
                 exit_code: Callable[[], Awaitable[int | None]],
                 resize: Callable[[int, int], Awaitable[None]]) -> None:
        self._reader, self._writer, self._tty = reader, writer, tty
        self._fetch_exit_code, self._resize = exit_code, resize
        self._exit_code: int | None = None
        self._ended = False

    async def read(self) -> AsyncIterator[tuple[int, bytes]]:
        try:
            while True:
                if self._tty:
                    chunk = await self._reader.read(65536)
                    if not chunk:
                        break
                    yield STDOUT, chunk
                    continue
                header = await self._reader.readexactly(8)
                payload = await self._reader.readexactly(int.from_bytes(header[4:8], "big"))
                if payload:
                    yield (STDERR if header[0] == STDERR else STDOUT), payload
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        self._ended = True
        self._exit_code = await self._fetch_exit_code()

    async def write(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    async def close_stdin(self) -> None:
        if self._writer.can_write_eof() and not self._writer.is_closing():
            self._writer.write_eof()

    async def resize(self, width: int, height: int) -> None:
        await self._resize(width, height)

    async def exit_code(self) -> int | None:
        return self._exit_code

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()


class TCPStream:
    """A StreamSession on a TCP connection into the pod (port-forward): channel 0."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    async def read(self) -> AsyncIterator[tuple[int, bytes]]:
        with contextlib.suppress(ConnectionError):
            while chunk := await self._reader.read(65536):
                yield 0, chunk

    async def write(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    async def close_stdin(self) -> None:
        if self._writer.can_write_eof() and not self._writer.is_closing():
            self._writer.write_eof()

    async def resize(self, width: int, height: int) -> None:
        return None

    async def exit_code(self) -> int | None:
        return None

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()


class DockerStreamingService:
    """The StreamingRuntime half of DockerRuntime (mixed into it; needs `self.engine`)."""

    engine: DockerEngine
    cpu_samples: dict[str, tuple[int, int]]

    async def exec_sync(self, container_id: str, command: list[str], timeout_seconds: float) -> ExecResult:
        """Run `command` to completion; RuntimeServiceError if it outlives the timeout."""
        session = await self.exec(container_id, command, tty=False, stdin=False)
        out: dict[int, list[bytes]] = {STDOUT: [], STDERR: []}

        async def collect() -> None:
            async for channel, data in session.read():
                out[channel].append(data)

        try:
            await asyncio.wait_for(collect(), timeout_seconds if timeout_seconds > 0 else None)
        except TimeoutError as error:
            raise RuntimeServiceError(f"command {command} timed out after {timeout_seconds}s") from error
        finally:
            await session.close()
        code = await session.exit_code()
        return ExecResult(exit_code=-1 if code is None else code,
                          stdout=b"".join(out[STDOUT]), stderr=b"".join(out[STDERR]))

    async def exec(self, container_id: str, command: list[str], *, tty: bool, stdin: bool) -> ProcessStream:
        api = self.engine.api
        created = await self.engine.call(api.exec_create, container_id, command, stdout=True, stderr=True,
                                         stdin=stdin, tty=tty)
        exec_id = created["Id"]
        reader, writer = await hijack(self.engine, f"/exec/{exec_id}/start", {"Detach": False, "Tty": tty})

        async def exit_code() -> int | None:
            deadline = time.monotonic() + EXIT_CODE_WAIT_SECONDS
            while True:  # the engine records the code a moment after the streams close
                inspected = await self.engine.call(api.exec_inspect, exec_id)
                if not inspected.get("Running") or time.monotonic() > deadline:
                    code = inspected.get("ExitCode")
                    return None if inspected.get("Running") or code is None else int(code)
                await asyncio.sleep(0.02)

        async def resize(width: int, height: int) -> None:
            await self.engine.call(api.exec_resize, exec_id, height=height, width=width)

        return ProcessStream(reader, writer, tty, exit_code, resize)

    async def attach(self, container_id: str, *, tty: bool, stdin: bool) -> ProcessStream:
        """Attach to the container's main process (kubectl attach): not in the protocol yet."""
        api = self.engine.api
        query = f"stream=1&stdout=1&stderr=1&stdin={int(stdin)}"
        reader, writer = await hijack(self.engine, f"/containers/{container_id}/attach?{query}")

        async def exit_code() -> int | None:
            state = (await self.engine.call(api.inspect_container, container_id)).get("State", {})
            return None if state.get("Running") else int(state.get("ExitCode") or 0)

        async def resize(width: int, height: int) -> None:
            await self.engine.call(api.resize, container_id, height=height, width=width)

        return ProcessStream(reader, writer, tty, exit_code, resize)

    async def port_forward(self, pod_sandbox_id: str, port: int) -> TCPStream:
        inspected = await self.engine.call(self.engine.api.inspect_container, pod_sandbox_id)
        if not inspected.get("State", {}).get("Running"):
            raise RuntimeServiceError(f"pod sandbox {pod_sandbox_id} is not running")
        settings = inspected.get("NetworkSettings") or {}
        host_network = inspected.get("HostConfig", {}).get("NetworkMode") == "host"
        address = "127.0.0.1" if host_network else settings.get("IPAddress") or next(
            (n["IPAddress"] for n in (settings.get("Networks") or {}).values() if n and n.get("IPAddress")), "")
        if not address:
            raise RuntimeServiceError(f"pod sandbox {pod_sandbox_id} has no IP")
        try:
            reader, writer = await asyncio.open_connection(address, port)
        except OSError as error:
            raise RuntimeServiceError(f"failed to connect to localhost:{port} in the pod: {error}") from error
        return TCPStream(reader, writer)

    async def container_logs(self, container_id: str, *, follow: bool, tail_lines: int | None,
                             since_seconds: int | None, timestamps: bool) -> AsyncIterator[bytes]:
        """The container's stdout and stderr as the json-file driver kept them."""
        since = int(time.time()) - since_seconds if since_seconds else None
        api = self.engine.streaming_api

        def open_logs() -> Any:
            return api.logs(container_id, stdout=True, stderr=True, stream=True, follow=follow,
                            tail="all" if tail_lines is None else tail_lines, since=since,
                            timestamps=timestamps)

        async with contextlib.aclosing(self.engine.stream(open_logs)) as chunks:
            async for chunk in chunks:
                yield chunk

    async def container_stats(self, container_id: str) -> ContainerStats:
        """One sample; nano cores come from the previous sample of the same container."""
        stats = await self.engine.call(self.engine.api.stats, container_id, stream=False, one_shot=True)
        usage, working_set, now_ns = parse_docker_stats(stats)
        nano_cores = 0
        previous = self.cpu_samples.get(container_id)
        if previous is not None and now_ns > previous[1] and usage >= previous[0]:
            nano_cores = (usage - previous[0]) * 1_000_000_000 // (now_ns - previous[1])
        self.cpu_samples[container_id] = (usage, now_ns)
        return ContainerStats(container_id=container_id, cpu_usage_nano_cores=nano_cores,
                              cpu_usage_core_nano_seconds=usage, memory_working_set_bytes=working_set,
                              timestamp_ns=now_ns)

    async def events(self) -> AsyncIterator[ContainerEvent]:
        """start/die/oom/destroy of pod containers, forever; reconnects (replaying from the
        last event seen) when the engine's stream breaks."""
        last_ns, backoff = 0, 0.2
        api = self.engine.streaming_api
        filters = {"type": ["container"], "label": [POD_UID_LABEL], "event": list(WATCHED_EVENTS)}
        while True:
            since = f"{last_ns // 1_000_000_000}.{last_ns % 1_000_000_000:09d}" if last_ns else None
            stream = self.engine.stream(lambda: api.events(since=since, filters=filters, decode=True))
            try:
                async for event in stream:
                    backoff = 0.2
                    time_ns = int(event.get("timeNano") or 0)
                    if time_ns and time_ns <= last_ns:
                        continue  # replayed by `since` after a reconnect
                    last_ns = max(last_ns, time_ns)
                    action = str(event.get("Action") or event.get("status") or "")
                    actor = event.get("Actor") or {}
                    if action not in WATCHED_EVENTS:
                        continue
                    yield ContainerEvent(container_id=str(actor.get("ID") or event.get("id") or ""),
                                         pod_uid=str((actor.get("Attributes") or {}).get(POD_UID_LABEL, "")),
                                         kind=action)
                log.info("engine event stream ended, reconnecting")
            except RuntimeServiceError as error:
                log.warning("engine event stream failed, reconnecting error=%s", error)
            finally:
                await stream.aclose()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)


def parse_docker_stats(stats: dict[str, Any]) -> tuple[int, int, int]:
    """(cumulative cpu ns, memory working set bytes, sample time ns) of one `GET
    /containers/{id}/stats?stream=false` document, cgroup v1 or v2: the working set is
    usage minus inactive file pages (v1 `total_inactive_file`, v2 `inactive_file`), as
    the kubelet computes it."""
    usage = int(((stats.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage") or 0)
    now_ns = parse_timestamp_ns(stats.get("read")) or time.time_ns()
    memory = stats.get("memory_stats") or {}
    detail = memory.get("stats") or {}
    inactive = int(detail.get("total_inactive_file", detail.get("inactive_file", 0)) or 0)
    return usage, max(0, int(memory.get("usage") or 0) - inactive), now_ns
