"""The runtime's view of one pod, rebuilt from the engine's labels on every sync.

The kubelet keeps no durable state of its own: which sandboxes and containers
belong to a pod, which attempt (restart) each container is, and which spec it was
created from are all labels on the engine's objects. A restarted kubelet therefore
sees exactly what the previous one left, and restartCount survives it.

- `PodRuntimeStatus.sandboxes` and `.containers` are sorted newest first, so the
  first container with a name is its current instance and the second its previous
  one (lastState).
- `container_hash` fingerprints a container spec; a mismatch means the spec changed
  (e.g. a new image) and the container is replaced.

Kubernetes counterpart: pkg/kubelet/container/runtime.go (PodStatus, Status),
pkg/kubelet/kuberuntime/labels.go, pkg/kubelet/container/helpers.go (HashContainer)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from kubelet.runtime import (
    CONTAINER_NAME_LABEL,
    Container,
    ContainerState,
    PodSandbox,
    SandboxState,
)
from tinykube.api.core import Container as ContainerSpec
CONTAINER_ATTEMPT_LABEL = "io.kubernetes.container.restartCount"
CONTAINER_HASH_LABEL = "io.kubernetes.container.hash"
SANDBOX_ATTEMPT_LABEL = "io.kubernetes.sandbox.attempt"
TERMINATION_GRACE_LABEL = "io.kubernetes.pod.terminationGracePeriod"
# tinykube: which kubelet owns a sandbox, so kubelets (and tests) sharing one engine
# never take each other's pods for orphans.
NODE_NAME_LABEL = "io.tinykube.node-name"


def container_hash(container: ContainerSpec) -> str:
    """A stable fingerprint of a container spec (upstream hashes the spec the same way):
    its wire form, so a restarted kubelet computes the same hash for the same manifest."""
    encoded = json.dumps(container.to_dict(), sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


@dataclass(frozen=True)
class ContainerRuntimeStatus:
    """One container instance as the engine reports it, with the kubelet's labels decoded."""

    id: str
    name: str
    state: ContainerState
    attempt: int
    sandbox_id: str
    image: str
    image_ref: str
    created_at_ns: int
    started_at_ns: int = 0
    finished_at_ns: int = 0
    exit_code: int = 0
    reason: str = ""
    hash: str = ""
    termination_grace_seconds: int = 30

    @classmethod
    def from_container(cls, container: Container) -> ContainerRuntimeStatus:
        labels = container.labels
        return cls(container.id, labels.get(CONTAINER_NAME_LABEL, container.name), container.state,
                   _int_label(labels, CONTAINER_ATTEMPT_LABEL, 0), container.pod_sandbox_id, container.image,
                   container.image_ref, container.created_at_ns, container.started_at_ns, container.finished_at_ns,
                   container.exit_code, container.reason, labels.get(CONTAINER_HASH_LABEL, ""),
                   _int_label(labels, TERMINATION_GRACE_LABEL, 30))

    @property
    def running(self) -> bool:
        return self.state is ContainerState.RUNNING

    @property
    def exited(self) -> bool:
        return self.state is ContainerState.EXITED

    @property
    def termination_reason(self) -> str:
        """OOMKilled from the engine; otherwise Completed (exit 0) or Error."""
        if self.reason == "OOMKilled":
            return "OOMKilled"
        return "Completed" if self.exit_code == 0 else "Error"


@dataclass
class PodRuntimeStatus:
    """Everything the engine holds for one pod uid."""

    uid: str
    sandboxes: list[PodSandbox] = field(default_factory=list)
    containers: list[ContainerRuntimeStatus] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sandboxes.sort(key=lambda s: (sandbox_attempt(s), s.created_at_ns), reverse=True)
        self.containers.sort(key=lambda c: (c.attempt, c.created_at_ns), reverse=True)

    def find(self, name: str) -> ContainerRuntimeStatus | None:
        """The newest instance of the container `name`."""
        return next((c for c in self.containers if c.name == name), None)

    def instances(self, name: str) -> list[ContainerRuntimeStatus]:
        return [c for c in self.containers if c.name == name]

    @property
    def ready_sandbox(self) -> PodSandbox | None:
        if self.sandboxes and self.sandboxes[0].state is SandboxState.READY:
            return self.sandboxes[0]
        return None

    @property
    def ip(self) -> str:
        sandbox = self.ready_sandbox
        return sandbox.ip if sandbox else ""

    @property
    def running_containers(self) -> list[ContainerRuntimeStatus]:
        return [c for c in self.containers if c.running]


def _int_label(labels: dict[str, str], key: str, default: int) -> int:
    try:
        return int(labels.get(key, default))
    except ValueError:
        return default


def sandbox_attempt(sandbox: PodSandbox) -> int:
    try:
        return max(sandbox.metadata.attempt, int(sandbox.labels.get(SANDBOX_ATTEMPT_LABEL, "0")))
    except ValueError:
        return sandbox.metadata.attempt
