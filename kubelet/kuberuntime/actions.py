"""compute_pod_actions: what must change so the runtime matches the pod spec.

A pure function of the pod (spec) and what the engine shows (`PodRuntimeStatus`),
plus which running containers failed their liveness/startup probe:

1. No ready sandbox → kill whatever is left and create a new sandbox, then start
   from the first init container (or every app container). A pod with
   restartPolicy Never whose sandbox died after containers ran gets no new one.
2. Init containers run one at a time, in order; a failed one is retried (with
   backoff) unless restartPolicy is Never, which fails the whole pod.
3. App containers that are not running are started when the restart policy says
   so (Always; OnFailure after a non-zero exit; Never only before the first run).
   A running container whose spec changed or whose liveness/startup probe failed
   is killed, and restarted unless the policy is Never.
4. Nothing left running and nothing to start → kill the pod (stop the sandbox).

Kubernetes counterpart: pkg/kubelet/kuberuntime/kuberuntime_manager.go (computePodActions,
podSandboxChanged, findNextInitContainerToRun), pkg/kubelet/container/helpers.go
(ShouldContainerBeRestarted)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kubelet.kuberuntime.types import (
    ContainerRuntimeStatus,
    PodRuntimeStatus,
    container_hash,
    sandbox_attempt,
)
from kubelet.runtime import ContainerState, SandboxState
from tinykube.api.core import Container, Pod, PodSpec

REASON_LIVENESS_PROBE = "LivenessProbe"
REASON_STARTUP_PROBE = "StartupProbe"
REASON_SPEC_CHANGED = "SpecChanged"


@dataclass(frozen=True)
class ContainerToKill:
    name: str
    message: str
    reason: str


@dataclass
class PodActions:
    """The outcome of `compute_pod_actions` (upstream podActions)."""

    kill_pod: bool = False
    create_sandbox: bool = False
    sandbox_id: str = ""
    attempt: int = 0
    next_init_container: str | None = None
    containers_to_start: list[str] = field(default_factory=list)
    containers_to_kill: dict[str, ContainerToKill] = field(default_factory=dict)

    def has_work(self) -> bool:
        return bool(self.kill_pod or self.create_sandbox or self.next_init_container
                    or self.containers_to_start or self.containers_to_kill)


def pod_spec(pod: Pod) -> PodSpec:
    return pod.spec or PodSpec()


def restart_policy(pod: Pod) -> str:
    return pod_spec(pod).restart_policy or "Always"


def should_restart_on_failure(pod: Pod) -> bool:
    return restart_policy(pod) != "Never"


def should_container_be_restarted(container: Container, pod: Pod, status: PodRuntimeStatus) -> bool:
    if pod.metadata.deletion_timestamp:
        return False
    current = status.find(container.name)
    if current is None:
        return True
    if current.state is ContainerState.RUNNING:
        return False
    if current.state in (ContainerState.UNKNOWN, ContainerState.CREATED):
        return True
    policy = restart_policy(pod)
    if policy == "Never":
        return False
    return not (policy == "OnFailure" and current.exit_code == 0)


def is_init_container_failed(status: ContainerRuntimeStatus) -> bool:
    return status.state is ContainerState.UNKNOWN or (status.exited and status.exit_code != 0)


def _running(name: str, status: PodRuntimeStatus) -> bool:
    current = status.find(name)
    return current is not None and current.running


def find_next_init_container_to_run(pod: Pod, status: PodRuntimeStatus
                                    ) -> tuple[ContainerRuntimeStatus | None, str | None, bool]:
    """(status of the last failed init container, next init container name, all done)."""
    spec = pod_spec(pod)
    inits = [c.name for c in spec.init_containers or []]
    if not inits:
        return None, None, True
    if any(_running(c.name, status) for c in spec.containers):
        return None, None, True  # app containers run: init finished earlier
    for name in reversed(inits):
        current = status.find(name)
        if current is not None and is_init_container_failed(current):
            return current, name, False
    for index in range(len(inits) - 1, -1, -1):
        current = status.find(inits[index])
        if current is None:
            continue
        if current.running or current.state is ContainerState.CREATED:
            return None, None, False
        if current.exited:
            if index == len(inits) - 1:
                return None, None, True
            return None, inits[index + 1], False
    return None, inits[0], False


def pod_sandbox_changed(status: PodRuntimeStatus, host_network: bool = False) -> tuple[bool, int, str]:
    """(create a new sandbox?, its attempt, the current sandbox id). A sandbox without
    an IP is broken, unless the pod uses the node's network (it has none of its own)."""
    if not status.sandboxes:
        return True, 0, ""
    newest = status.sandboxes[0]
    ready = sum(1 for s in status.sandboxes if s.state is SandboxState.READY)
    attempt = sandbox_attempt(newest)
    if ready > 1 or newest.state is not SandboxState.READY or (not newest.ip and not host_network):
        return True, attempt + 1, newest.id
    return False, attempt, newest.id


def _succeeded(name: str, status: PodRuntimeStatus) -> bool:
    current = status.find(name)
    return current is not None and current.exited and current.exit_code == 0


def compute_pod_actions(pod: Pod, status: PodRuntimeStatus, *,
                        liveness_failed: Mapping[str, str] | None = None,
                        startup_failed: Mapping[str, str] | None = None) -> PodActions:
    """What to do for `pod` (the failed-probe maps are container id → probe message)."""
    spec = pod_spec(pod)
    containers = spec.containers
    inits = spec.init_containers or []
    create, attempt, sandbox_id = pod_sandbox_changed(status, bool(spec.host_network))
    actions = PodActions(kill_pod=create, create_sandbox=create, sandbox_id=sandbox_id, attempt=attempt)

    if create:
        if not should_restart_on_failure(pod) and attempt != 0 and status.containers:
            actions.create_sandbox = False  # it ran once and must not run again
            return actions
        if inits:
            actions.next_init_container = inits[0].name
            return actions
        actions.containers_to_start = [
            c.name for c in containers
            if not (restart_policy(pod) == "OnFailure" and _succeeded(c.name, status))]
        if not actions.containers_to_start:
            actions.create_sandbox = False
        return actions

    if inits:
        last_failed, next_init, done = find_next_init_container_to_run(pod, status)
        if not done:
            if next_init is not None:
                if last_failed is not None and not should_restart_on_failure(pod):
                    actions.kill_pod = True
                else:
                    actions.next_init_container = next_init
            return actions

    keep = 0
    for container in containers:
        current = status.find(container.name)
        if current is None or not current.running:
            if should_container_be_restarted(container, pod, status):
                actions.containers_to_start.append(container.name)
            continue
        if current.hash and current.hash != container_hash(container):
            message, reason = f"Container {container.name} definition changed", REASON_SPEC_CHANGED
        elif current.id in (liveness_failed or {}):
            message = f"Container {container.name} failed liveness probe"
            reason = REASON_LIVENESS_PROBE
        elif current.id in (startup_failed or {}):
            message = f"Container {container.name} failed startup probe"
            reason = REASON_STARTUP_PROBE
        else:
            keep += 1
            continue
        if should_restart_on_failure(pod):
            message += ", will be restarted"
            actions.containers_to_start.append(container.name)
        actions.containers_to_kill[current.id] = ContainerToKill(container.name, message, reason)

    if keep == 0 and not actions.containers_to_start:
        actions.kill_pod = True
    return actions
