"""FakeRuntime: a container runtime with no containers, for hollow nodes and tests.

Every call is recorded in `calls` (name and main argument) so a test can assert
what the kubelet asked for. Sandboxes get an IP from the pod CIDR given by
`update_runtime_config` (or the constructor); created containers start
instantly and keep running until stopped. Nothing touches the machine.

Kubernetes counterpart: pkg/kubelet/cri/remote/fake/fake_runtime.go,
staging/src/k8s.io/cri-api/pkg/apis/testing/fake_runtime_service.go
"""

from __future__ import annotations

import hashlib
import ipaddress
import itertools
import time
from collections.abc import Callable, Iterator

from kubelet.runtime import (
    Container,
    ContainerConfig,
    ContainerState,
    PodSandbox,
    PodSandboxConfig,
    RuntimeServiceError,
    RuntimeNotFound,
    SandboxState,
)

FAKE_VERSION = "fake://0.1.0"


class FakeRuntime:
    """An in-memory RuntimeService.

    - Sandbox IPs are unique among live sandboxes and freed on remove.
    - `fail_next[call] = err` makes the next `call` raise `err` (then clears it).
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
        return container_id

    async def start_container(self, container_id: str) -> None:
        self._record("start_container", container_id)
        container = self._container(container_id)
        container.state, container.started_at_ns = ContainerState.RUNNING, self._clock_ns()

    async def stop_container(self, container_id: str, timeout_seconds: int) -> None:
        self._record("stop_container", container_id)
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
            container.state, container.finished_at_ns = ContainerState.EXITED, self._clock_ns()
            container.exit_code, container.reason = 0, "Completed"
