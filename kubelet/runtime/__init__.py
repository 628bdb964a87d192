"""The container runtime seam: a CRI-shaped protocol the kubelet drives.

The kubelet never talks to a container engine directly. It asks a `RuntimeService`
for pod sandboxes (the pod's network namespace and IP) and containers inside them,
exactly the calls the Container Runtime Interface defines (RunPodSandbox,
CreateContainer, StartContainer, ...), in snake_case. Implementations: `fake`
(hollow nodes: records calls, every container runs at once); the Docker adapter
comes with the real kubelet.

- Sandbox and container ids are opaque strings chosen by the runtime.
- Labels on sandboxes and containers carry the pod's uid/namespace/name and the
  container name, so a restarted kubelet can rebuild its state from the runtime.

Kubernetes counterpart: staging/src/k8s.io/cri-api/pkg/apis/runtime/v1/api.proto,
staging/src/k8s.io/cri-api/pkg/apis/services.go
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

POD_UID_LABEL = "io.kubernetes.pod.uid"
POD_NAME_LABEL = "io.kubernetes.pod.name"
POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace"
CONTAINER_NAME_LABEL = "io.kubernetes.container.name"


class SandboxState(StrEnum):
    READY = "SANDBOX_READY"
    NOT_READY = "SANDBOX_NOTREADY"


class ContainerState(StrEnum):
    CREATED = "CONTAINER_CREATED"
    RUNNING = "CONTAINER_RUNNING"
    EXITED = "CONTAINER_EXITED"
    UNKNOWN = "CONTAINER_UNKNOWN"


@dataclass(frozen=True)
class PodSandboxMetadata:
    name: str
    namespace: str
    uid: str
    attempt: int = 0


@dataclass(frozen=True)
class PodSandboxConfig:
    metadata: PodSandboxMetadata
    hostname: str = ""
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ContainerConfig:
    name: str
    image: str
    attempt: int = 0
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class PodSandbox:
    id: str
    metadata: PodSandboxMetadata
    state: SandboxState
    created_at_ns: int
    ip: str = ""
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class Container:
    id: str
    pod_sandbox_id: str
    name: str
    image: str
    image_ref: str
    state: ContainerState
    created_at_ns: int
    started_at_ns: int = 0
    finished_at_ns: int = 0
    exit_code: int = 0
    reason: str = ""
    labels: dict[str, str] = field(default_factory=dict)


class RuntimeService(Protocol):
    """The sandbox and container halves of CRI's RuntimeService."""

    async def version(self) -> str:
        """"<runtime name>://<version>", for node.status.nodeInfo.containerRuntimeVersion."""
        ...

    async def update_runtime_config(self, pod_cidr: str) -> None: ...

    async def run_pod_sandbox(self, config: PodSandboxConfig) -> str: ...

    async def stop_pod_sandbox(self, pod_sandbox_id: str) -> None: ...

    async def remove_pod_sandbox(self, pod_sandbox_id: str) -> None: ...

    async def pod_sandbox_status(self, pod_sandbox_id: str) -> PodSandbox: ...

    async def list_pod_sandboxes(self, labels: dict[str, str] | None = None) -> list[PodSandbox]: ...

    async def create_container(self, pod_sandbox_id: str, config: ContainerConfig,
                               sandbox_config: PodSandboxConfig) -> str: ...

    async def start_container(self, container_id: str) -> None: ...

    async def stop_container(self, container_id: str, timeout_seconds: int) -> None: ...

    async def remove_container(self, container_id: str) -> None: ...

    async def list_containers(self, pod_sandbox_id: str | None = None) -> list[Container]: ...

    async def container_status(self, container_id: str) -> Container: ...


class RuntimeServiceError(Exception):
    """A runtime call failed (CRI returns a gRPC error); NotFound for unknown ids."""


class RuntimeNotFound(RuntimeServiceError):
    pass
