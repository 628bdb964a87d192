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

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

POD_UID_LABEL = "io.kubernetes.pod.uid"
POD_NAME_LABEL = "io.kubernetes.pod.name"
POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace"
CONTAINER_NAME_LABEL = "io.kubernetes.container.name"
# The default sandbox image (kubelet --pod-infra-container-image); built from deploy/images/pause.
PAUSE_IMAGE = "tinykube/pause:1"
# The Linux bridge of the pod network, when the kubelet runs one (kubenet's name).
POD_BRIDGE = "cbr0"


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
class PortMapping:
    """A hostPort: traffic to host_port on the node reaches container_port in the pod."""

    container_port: int
    host_port: int = 0
    protocol: str = "TCP"
    host_ip: str = ""


@dataclass(frozen=True)
class DNSConfig:
    servers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class PodSandboxConfig:
    metadata: PodSandboxMetadata
    hostname: str = ""
    # `<subdomain>.<ns>.svc.<cluster domain>` for a pod with spec.subdomain, else "": the
    # sandbox's domain name, so /etc/hosts maps its IP to `<hostname>.<domain>`.
    hostname_domain: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    port_mappings: tuple[PortMapping, ...] = ()
    dns_config: DNSConfig | None = None
    host_network: bool = False


@dataclass(frozen=True)
class Mount:
    container_path: str
    host_path: str
    readonly: bool = False


@dataclass(frozen=True)
class LinuxContainerResources:
    """Limits as the engine takes them (cpu_quota per cpu_period_us; 0 = unset)."""

    cpu_shares: int = 0
    cpu_quota_us: int = 0
    cpu_period_us: int = 0
    memory_limit_bytes: int = 0


@dataclass(frozen=True)
class SecurityContext:
    run_as_user: int | None = None
    run_as_group: int | None = None
    readonly_rootfs: bool = False
    add_capabilities: tuple[str, ...] = ()
    drop_capabilities: tuple[str, ...] = ()
    privileged: bool = False


@dataclass(frozen=True)
class ContainerConfig:
    """What to run: the kubelet has already resolved env, volumes and limits.

    `command` replaces the image's entrypoint and `args` its cmd, as in a pod spec.
    """

    name: str
    image: str
    attempt: int = 0
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    working_dir: str = ""
    envs: tuple[tuple[str, str], ...] = ()
    mounts: tuple[Mount, ...] = ()
    resources: LinuxContainerResources = field(default_factory=LinuxContainerResources)
    security_context: SecurityContext = field(default_factory=SecurityContext)
    stdin: bool = False
    stdin_once: bool = False
    tty: bool = False


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


def finished_not_before_started(started_at_ns: int, finished_at_ns: int) -> int:
    """The finish time to report: never before the start (0 stays 0, "not finished").

    Why: for a container that exits at once, the Docker engine can record
    `State.StartedAt` about half a millisecond *after* `State.FinishedAt` (the two are
    taken from different places inside the engine). A pod status whose `finishedAt`
    precedes its `startedAt` reads as nonsense to users and tools, so a runtime clamps
    the finish to the start rather than pass the engine's ordering through.
    """
    if finished_at_ns == 0:
        return 0
    return max(started_at_ns, finished_at_ns)


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


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: bytes
    stderr: bytes


class StreamSession(Protocol):
    """A bidirectional byte stream to a process (exec) or a port (port-forward).

    `read()` yields (channel, bytes) pairs for exec (1 stdout, 2 stderr) and
    (0, bytes) for port-forward; `exit_code()` is known once reading ended (exec).
    """

    def read(self) -> AsyncIterator[tuple[int, bytes]]: ...

    async def write(self, data: bytes) -> None: ...

    async def close_stdin(self) -> None: ...

    async def resize(self, width: int, height: int) -> None: ...

    async def exit_code(self) -> int | None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class ContainerStats:
    container_id: str
    cpu_usage_nano_cores: int
    cpu_usage_core_nano_seconds: int
    memory_working_set_bytes: int
    timestamp_ns: int


@dataclass(frozen=True)
class ContainerEvent:
    """The engine says a container changed state (e.g. a `die`): resync its pod."""

    container_id: str
    pod_uid: str
    kind: str  # "start" | "die" | "oom" | "destroy"


class StreamingRuntime(Protocol):
    """CRI's streaming calls (Exec, Attach, PortForward) and container logs."""

    async def exec_sync(self, container_id: str, command: list[str],
                        timeout_seconds: float) -> ExecResult: ...

    async def exec(self, container_id: str, command: list[str], *, tty: bool,
                   stdin: bool) -> StreamSession: ...

    async def port_forward(self, pod_sandbox_id: str, port: int) -> StreamSession: ...

    def container_logs(self, container_id: str, *, follow: bool, tail_lines: int | None,
                       since_seconds: int | None, timestamps: bool) -> AsyncIterator[bytes]: ...

    async def container_stats(self, container_id: str) -> ContainerStats: ...

    def events(self) -> AsyncIterator[ContainerEvent]: ...


@dataclass(frozen=True)
class Image:
    id: str
    repo_tags: tuple[str, ...]
    size_bytes: int


@dataclass(frozen=True)
class AuthConfig:
    """CRI's AuthConfig: registry credentials for one pull (from an image pull secret)."""
    username: str
    password: str
    server_address: str = ""


class ImageService(Protocol):
    """CRI's ImageService. A pull goes to the image's registry (the engine's mirrors
    apply) with the given credentials; a failure raises with the engine's message,
    which the kubelet reports as ErrImagePull."""

    async def pull_image(self, image: str, auth: AuthConfig | None = None) -> str: ...

    async def image_status(self, image: str) -> Image | None: ...

    async def list_images(self) -> list[Image]: ...

    async def remove_image(self, image: str) -> None: ...


class RuntimeServiceError(Exception):
    """A runtime call failed (CRI returns a gRPC error); NotFound for unknown ids."""


class RuntimeNotFound(RuntimeServiceError):
    pass
