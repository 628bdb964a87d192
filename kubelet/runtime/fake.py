"""FakeRuntime: a container runtime with no containers, for hollow nodes and tests.

Every call is recorded in `calls` (name and main argument) so a test can assert
what the kubelet asked for. Sandboxes get an IP from the pod CIDR given by
`update_runtime_config` (or the constructor); created containers start
instantly and keep running until stopped. Nothing touches the machine.

Tests script the world through it: `exit_container` (an exit code, or an OOM
kill), `exit_on_start` (a container name that exits as soon as it starts, for
crash loops), `exec_results` (what ExecSync returns per container name, for exec
probes and hooks), `absent_images` / `pull_errors` (an image missing from the
engine and what a pull says) or, instead, a `registry` (fake_registry.py: the
engine then holds only what it pulled from it, and the pause image), and the `events()` stream (`die`, `oom`) that the
kubelet consumes. `configs` keeps each container's ContainerConfig.

A pod spec scripts its own containers through two env variables, so integration
tests on hollow nodes can run Jobs: `FAKE_RUN_SECONDS` (a container with it exits
after that many seconds, 0 at once) and `FAKE_EXIT_CODE` (the code it then exits
with, default 0). A container with neither runs until stopped.
Usage for the stats summary (and so metrics.k8s.io, `top` and the autoscaler):
`usage` per container name, or, on a hollow node, the pod annotation
`hollow.tinykube.io/usage: "cpu=250m,memory=64Mi"`, read at every scrape, so a test
changes a running pod's load by annotating it (each of its containers reports that).

A container writes its log as a real one is made to from outside: an exec of
`sh -c 'echo WORDS > /proc/1/fd/1'` (the container's main process's stdout)
appends WORDS to it, so `logs -f` on a hollow node has something to follow.

Kubernetes counterpart: pkg/kubelet/cri/remote/fake/fake_runtime.go,
staging/src/k8s.io/cri-api/pkg/apis/testing/fake_runtime_service.go
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import itertools
import shlex
import time
from collections.abc import AsyncIterator, Callable, Iterator

from kubelet.runtime import (
    PAUSE_IMAGE,
    AuthConfig,
    finished_not_before_started,
    Container,
    ContainerConfig,
    ContainerEvent,
    ContainerState,
    ContainerStats,
    ExecResult,
    Image,
    PodSandbox,
    PodSandboxConfig,
    RuntimeNotFound,
    RuntimeServiceError,
    SandboxState,
)
from kubelet.runtime.fake_registry import FakeRegistry
from tinykube.api.quantity import parse_quantity
from tinykube.image_reference import normalized

FAKE_VERSION = "fake://0.1.0"
# The env variables a container's spec uses to script its own exit (see the module doc).
FAKE_RUN_SECONDS_ENV = "FAKE_RUN_SECONDS"
FAKE_EXIT_CODE_ENV = "FAKE_EXIT_CODE"
USAGE_ANNOTATION = "hollow.tinykube.io/usage"


class FakeRuntime:
    """An in-memory RuntimeService.

    - Sandbox IPs are unique among live sandboxes and freed on remove.
    - `fail_next[call] = err` makes the next `call` raise `err` (then clears it).
    - Every image is present unless listed in `absent_images`; pulling an absent
      image succeeds unless `pull_errors` has a message for it.
    - `exit_on_start[name] = (exit_code, reason)` makes every start of a container
      with that name end at once (reason "" means Error/Completed by exit code).
    """

    def __init__(self, pod_cidr: str = "10.244.0.0/24", clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.calls: list[tuple[str, str]] = []
        self.sandboxes: dict[str, PodSandbox] = {}
        self.containers: dict[str, Container] = {}
        self.fail_next: dict[str, Exception] = {}
        self._ids = itertools.count(1)
        self._clock_ns = clock_ns
        self._pod_cidr = ""
        self._free_ips: Iterator[str] = iter(())
        self._used_ips: set[str] = set()
        self._set_cidr(pod_cidr)
        self.configs: dict[str, ContainerConfig] = {}
        self.stop_timeouts: dict[str, int] = {}
        self.exec_results: dict[str, ExecResult] = {}
        self.exit_on_start: dict[str, tuple[int, str]] = {}
        self.absent_images: set[str] = set()
        self.pull_errors: dict[str, str] = {}
        self.registry: FakeRegistry | None = None
        self.pulled: set[str] = set()
        self._event_queues: list[asyncio.Queue[ContainerEvent]] = []
        # the kubelet API's streaming calls (see "streaming sessions" below)
        self.log_lines: dict[str, list[tuple[int, bytes]]] = {}
        self.usage: dict[str, tuple[int, int]] = {}
        # (namespace, name) -> the pod's current annotations; the hollow kubelet sets it
        # so `USAGE_ANNOTATION` changes a pod's reported usage while it runs.
        self.pod_annotations: Callable[[str, str], dict[str, str]] | None = None
        self.refused_ports: set[int] = set()
        self.resizes: list[tuple[int, int]] = []
        self._log_written = asyncio.Event()

    def _record(self, call: str, arg: str = "") -> None:
        self.calls.append((call, arg))
        error = self.fail_next.pop(call, None)
        if error is not None:
            raise error

    def _new_id(self, kind: str) -> str:
        return hashlib.sha256(f"{kind}-{next(self._ids)}-{id(self)}".encode()).hexdigest()[:32]

    def _set_cidr(self, pod_cidr: str) -> None:
        if pod_cidr == self._pod_cidr:
            return
        self._pod_cidr = pod_cidr
        hosts = ipaddress.ip_network(pod_cidr, strict=False).hosts()
        next(hosts, None)  # .1 is the bridge's gateway on a real node
        self._free_ips = (str(ip) for ip in hosts)

    def _allocate_ip(self) -> str:
        for ip in self._free_ips:
            if ip not in self._used_ips:
                self._used_ips.add(ip)
                return ip
        # exhausted once: start again from the beginning, skipping IPs in use
        cidr, self._pod_cidr = self._pod_cidr, ""
        self._set_cidr(cidr)
        for ip in self._free_ips:
            if ip not in self._used_ips:
                self._used_ips.add(ip)
                return ip
        raise RuntimeServiceError(f"no free IP left in {cidr}")

    # --- RuntimeService -------------------------------------------------------------

    async def version(self) -> str:
        return FAKE_VERSION

    async def update_runtime_config(self, pod_cidr: str) -> None:
        self._record("update_runtime_config", pod_cidr)
        self._set_cidr(pod_cidr)

    async def run_pod_sandbox(self, config: PodSandboxConfig) -> str:
        self._record("run_pod_sandbox", config.metadata.uid)
        sandbox_id = self._new_id("sandbox")
        self.sandboxes[sandbox_id] = PodSandbox(sandbox_id, config.metadata, SandboxState.READY,
                                                self._clock_ns(), self._allocate_ip(), dict(config.labels))
        return sandbox_id

    async def stop_pod_sandbox(self, pod_sandbox_id: str) -> None:
        self._record("stop_pod_sandbox", pod_sandbox_id)
        sandbox = self.sandboxes.get(pod_sandbox_id)
        if sandbox is None:
            return  # CRI: stopping an unknown sandbox is not an error
        for container in self.containers.values():
            if container.pod_sandbox_id == pod_sandbox_id:
                self._exit(container)
        sandbox.state = SandboxState.NOT_READY

    async def remove_pod_sandbox(self, pod_sandbox_id: str) -> None:
        self._record("remove_pod_sandbox", pod_sandbox_id)
        sandbox = self.sandboxes.pop(pod_sandbox_id, None)
        if sandbox is not None:
            self._used_ips.discard(sandbox.ip)
        for container_id in [c.id for c in self.containers.values() if c.pod_sandbox_id == pod_sandbox_id]:
            del self.containers[container_id]

    async def pod_sandbox_status(self, pod_sandbox_id: str) -> PodSandbox:
        self._record("pod_sandbox_status", pod_sandbox_id)
        if pod_sandbox_id not in self.sandboxes:
            raise RuntimeNotFound(f"sandbox {pod_sandbox_id} not found")
        return self.sandboxes[pod_sandbox_id]

    async def list_pod_sandboxes(self, labels: dict[str, str] | None = None) -> list[PodSandbox]:
        self._record("list_pod_sandboxes")
        return [s for s in self.sandboxes.values()
                if all(s.labels.get(k) == v for k, v in (labels or {}).items())]

    async def create_container(self, pod_sandbox_id: str, config: ContainerConfig,
                               sandbox_config: PodSandboxConfig) -> str:
        self._record("create_container", config.name)
        if pod_sandbox_id not in self.sandboxes:
            raise RuntimeNotFound(f"sandbox {pod_sandbox_id} not found")
        container_id = self._new_id("container")
        image_ref = "sha256:" + hashlib.sha256(config.image.encode()).hexdigest()
        self.containers[container_id] = Container(
            container_id, pod_sandbox_id, config.name, config.image, image_ref,
            ContainerState.CREATED, self._clock_ns(), labels=dict(config.labels))
        self.configs[container_id] = config
        return container_id

    async def start_container(self, container_id: str) -> None:
        self._record("start_container", container_id)
        container = self._container(container_id)
        container.state, container.started_at_ns = ContainerState.RUNNING, self._clock_ns()
        if container.name in self.exit_on_start:
            exit_code, reason = self.exit_on_start[container.name]
            self.exit_container(container_id, exit_code, reason)
            return
        self._schedule_scripted_exit(container_id)

    def _schedule_scripted_exit(self, container_id: str) -> None:
        """Honour FAKE_RUN_SECONDS / FAKE_EXIT_CODE from the container's env."""
        envs = dict(self.configs[container_id].envs) if container_id in self.configs else {}
        if FAKE_RUN_SECONDS_ENV not in envs and FAKE_EXIT_CODE_ENV not in envs:
            return
        run_seconds = float(envs.get(FAKE_RUN_SECONDS_ENV) or 0)
        exit_code = int(envs.get(FAKE_EXIT_CODE_ENV) or 0)
        started_at_ns = self.containers[container_id].started_at_ns

        def exit_now() -> None:
            container = self.containers.get(container_id)
            # Only the run this timer was set for: not one stopped or restarted meanwhile.
            if (container is not None and container.state is ContainerState.RUNNING
                    and container.started_at_ns == started_at_ns):
                self.exit_container(container_id, exit_code)

        if run_seconds <= 0:
            exit_now()
        else:
            asyncio.get_running_loop().call_later(run_seconds, exit_now)

    async def stop_container(self, container_id: str, timeout_seconds: int) -> None:
        self._record("stop_container", container_id)
        self.stop_timeouts[container_id] = timeout_seconds
        self._exit(self._container(container_id))

    async def remove_container(self, container_id: str) -> None:
        self._record("remove_container", container_id)
        self.containers.pop(container_id, None)

    async def list_containers(self, pod_sandbox_id: str | None = None) -> list[Container]:
        self._record("list_containers", pod_sandbox_id or "")
        return [c for c in self.containers.values()
                if pod_sandbox_id is None or c.pod_sandbox_id == pod_sandbox_id]

    async def container_status(self, container_id: str) -> Container:
        self._record("container_status", container_id)
        return self._container(container_id)

    def _container(self, container_id: str) -> Container:
        container = self.containers.get(container_id)
        if container is None:
            raise RuntimeNotFound(f"container {container_id} not found")
        return container

    def _exit(self, container: Container) -> None:
        if container.state is ContainerState.RUNNING:
            container.state = ContainerState.EXITED
            container.finished_at_ns = finished_not_before_started(container.started_at_ns, self._clock_ns())
            container.exit_code, container.reason = 0, "Completed"

    # --- scripting (tests) ------------------------------------------------------------

    def exit_container(self, container_id: str, exit_code: int = 1, reason: str = "") -> None:
        """The process ended by itself: `reason` "OOMKilled" for the OOM killer."""
        container = self._container(container_id)
        container.state = ContainerState.EXITED
        container.finished_at_ns = finished_not_before_started(container.started_at_ns, self._clock_ns())
        container.exit_code = exit_code
        container.reason = reason or ("Completed" if exit_code == 0 else "Error")
        pod_uid = container.labels.get("io.kubernetes.pod.uid", "")
        if reason == "OOMKilled":
            self._emit(ContainerEvent(container_id, pod_uid, "oom"))
        self._emit(ContainerEvent(container_id, pod_uid, "die"))

    def running(self, name: str) -> list[Container]:
        return [c for c in self.containers.values() if c.name == name and c.state is ContainerState.RUNNING]

    def _emit(self, event: ContainerEvent) -> None:
        for queue in self._event_queues:
            queue.put_nowait(event)

    # --- streaming and images (the parts the kubelet's sync uses) ---------------------

    async def exec_sync(self, container_id: str, command: list[str], timeout_seconds: float) -> ExecResult:
        self._record("exec_sync", " ".join(command))
        container = self._container(container_id)
        if container.state is not ContainerState.RUNNING:
            raise RuntimeServiceError(f"container {container_id} is not running")
        return self.exec_results.get(container.name, ExecResult(0, b"", b""))

    async def events(self) -> AsyncIterator[ContainerEvent]:
        queue: asyncio.Queue[ContainerEvent] = asyncio.Queue()
        self._event_queues.append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._event_queues.remove(queue)

    async def pull_image(self, image: str, auth: AuthConfig | None = None) -> str:
        self._record("pull_image", image)
        if image in self.pull_errors:
            raise RuntimeServiceError(self.pull_errors[image])
        if self.registry is not None:
            self.registry.pull(image, auth)
            self.pulled.add(normalized(image))
        self.absent_images.discard(image)
        return "sha256:" + hashlib.sha256(image.encode()).hexdigest()

    async def image_status(self, image: str) -> Image | None:
        if image in self.absent_images:
            return None
        if self.registry is not None and normalized(image) not in self.pulled | {normalized(PAUSE_IMAGE)}:
            return None
        return Image("sha256:" + hashlib.sha256(image.encode()).hexdigest(), (image,), 1 << 20)

    async def list_images(self) -> list[Image]:
        images = {c.image for c in self.containers.values()} - self.absent_images
        return [Image("sha256:" + hashlib.sha256(i.encode()).hexdigest(), (i,), 1 << 20) for i in sorted(images)]

    async def remove_image(self, image: str) -> None:
        self._record("remove_image", image)
        self.absent_images.add(image)

    # --- streaming sessions (the kubelet API: logs, exec, port-forward, stats) ---------

    def write_log(self, container_id: str, line: bytes) -> None:
        """The container printed `line` (a newline is added when missing)."""
        self._container(container_id)
        self.log_lines.setdefault(container_id, []).append(
            (self._clock_ns(), line if line.endswith(b"\n") else line + b"\n"))
        self._log_written.set()

    async def container_logs(self, container_id: str, *, follow: bool, tail_lines: int | None,
                             since_seconds: int | None, timestamps: bool) -> AsyncIterator[bytes]:
        self._record("container_logs", container_id)
        self._container(container_id)
        lines = self.log_lines.setdefault(container_id, [])
        start = 0
        if since_seconds is not None:
            cutoff = self._clock_ns() - since_seconds * 1_000_000_000
            start = next((i for i, (at, _) in enumerate(lines) if at >= cutoff), len(lines))
        if tail_lines is not None:
            start = max(start, len(lines) - tail_lines)
        sent = start
        while True:
            while sent < len(lines):
                at, line = lines[sent]
                sent += 1
                yield (_rfc3339_nano(at).encode() + b" " + line) if timestamps else line
            container = self.containers.get(container_id)
            if not follow or container is None or container.state is not ContainerState.RUNNING:
                return
            self._log_written.clear()
            try:  # a write wakes us; an exit is noticed on the next look
                await asyncio.wait_for(self._log_written.wait(), 0.05)
            except TimeoutError:
                pass

    async def exec(self, container_id: str, command: list[str], *, tty: bool,
                   stdin: bool) -> FakeStreamSession:
        """`cat` echoes stdin until it closes; `sh -c 'echo W > /proc/1/fd/1'` adds W to
        the container's log; otherwise `exec_results[container name]`, else `echo ARGS`
        prints its arguments, anything else prints nothing, exit 0."""
        self._record("exec", " ".join(command))
        container = self._container(container_id)
        if container.state is not ContainerState.RUNNING:
            raise RuntimeServiceError(f"container {container_id} is not running")
        session = FakeStreamSession(self.resizes, echo=command[:1] == ["cat"], tty=tty)
        logged = _echo_to_main_stdout(command)
        if logged is not None:
            self.write_log(container_id, logged.encode())
            session.finish(ExecResult(0, b"", b""))
        elif not session.echo:
            result = self.exec_results.get(container.name) or ExecResult(
                0, (" ".join(command[1:]) + "\n").encode() if command[:1] == ["echo"] else b"", b"")
            session.finish(result)
        return session

    async def port_forward(self, pod_sandbox_id: str, port: int) -> FakeStreamSession:
        """An echo server on every port but `refused_ports`."""
        self._record("port_forward", f"{pod_sandbox_id}:{port}")
        if pod_sandbox_id not in self.sandboxes:
            raise RuntimeNotFound(f"sandbox {pod_sandbox_id} not found")
        if port in self.refused_ports:
            raise RuntimeServiceError(f"dial tcp {self.sandboxes[pod_sandbox_id].ip}:{port}: "
                                      "connect: connection refused")
        return FakeStreamSession(self.resizes, echo=True, tty=True, channel=0)

    async def container_stats(self, container_id: str) -> ContainerStats:
        """Each container's usage: the pod's `USAGE_ANNOTATION` when it has one, else
        `usage[container name] = (nano cores, working set bytes)`, else 1m and 4 MiB."""
        container = self._container(container_id)
        nano_cores, memory = self.usage.get(container.name, (1_000_000, 4 << 20))
        sandbox = self.sandboxes.get(container.pod_sandbox_id)
        if self.pod_annotations is not None and sandbox is not None:
            annotation = self.pod_annotations(sandbox.metadata.namespace, sandbox.metadata.name).get(USAGE_ANNOTATION)
            if annotation:
                nano_cores, memory = parse_usage_annotation(annotation, (nano_cores, memory))
        now = self._clock_ns()
        return ContainerStats(container_id, nano_cores,
                              nano_cores * max(0, now - container.started_at_ns) // 1_000_000_000,
                              memory, now)


def parse_usage_annotation(text: str, default: tuple[int, int]) -> tuple[int, int]:
    """`cpu=250m,memory=64Mi` (either part optional) → (nano cores, bytes); a malformed
    value keeps the default."""
    nano_cores, memory = default
    for part in text.split(","):
        key, _, value = part.strip().partition("=")
        try:
            if key == "cpu":
                nano_cores = int(parse_quantity(value) * 1_000_000_000)
            elif key == "memory":
                memory = int(parse_quantity(value))
        except ValueError:
            continue
    return nano_cores, memory


def _rfc3339_nano(ns: int) -> str:
    seconds, nanos = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


class FakeStreamSession:
    """A StreamSession with a scripted process: an echo (cat, or a port's server), or
    a fixed ExecResult. Output is queued; None ends it."""

    def __init__(self, resizes: list[tuple[int, int]], echo: bool, tty: bool, channel: int = 1) -> None:
        self.echo, self.tty, self.channel = echo, tty, channel
        self._resizes = resizes
        self._output: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        self._exit_code: int | None = None
        self.closed = False

    def finish(self, result: ExecResult) -> None:
        if result.stdout:
            self._output.put_nowait((1, result.stdout))
        if result.stderr:
            self._output.put_nowait((1 if self.tty else 2, result.stderr))
        self._exit_code = result.exit_code
        self._output.put_nowait(None)

    async def read(self) -> AsyncIterator[tuple[int, bytes]]:
        while (item := await self._output.get()) is not None:
            yield item

    async def write(self, data: bytes) -> None:
        if self.echo and self._exit_code is None:
            self._output.put_nowait((self.channel, data))

    async def close_stdin(self) -> None:
        if self.echo and self._exit_code is None:
            self._exit_code = 0
            self._output.put_nowait(None)

    async def resize(self, width: int, height: int) -> None:
        self._resizes.append((width, height))

    async def exit_code(self) -> int | None:
        return self._exit_code

    async def close(self) -> None:
        self.closed = True
        if self._exit_code is None:
            self._exit_code = 0
            self._output.put_nowait(None)


def _echo_to_main_stdout(command: list[str]) -> str | None:
    """WORDS of `sh -c 'echo WORDS > /proc/1/fd/1'`, else None."""
    if len(command) != 3 or command[:2] != ["sh", "-c"]:
        return None
    try:
        words = shlex.split(command[2])
    except ValueError:
        return None
    if len(words) < 3 or words[0] != "echo" or words[-2:] != [">", "/proc/1/fd/1"]:
        return None
    return " ".join(words[1:-2])
