"""The pod status the kubelet reports: generated from the engine's view, never guessed.

- containerStatuses / initContainerStatuses: the newest instance of each
  container gives `state` (running with startedAt; terminated with exitCode,
  reason OOMKilled/Error/Completed, startedAt, finishedAt, containerID), the one
  before it `lastState`; restartCount is the newest instance's attempt (a label on
  the container, so it survives a kubelet restart). A container the sync could
  not start (CrashLoopBackOff, ErrImagePull, ImagePullBackOff,
  CreateContainerConfigError, ...) and that is due to be restarted shows
  `waiting` with that reason and message, its last run moving to `lastState`.
  One never created shows waiting ContainerCreating (PodInitializing in a pod
  with init containers).
- phase follows upstream's getPhase; conditions PodReadyToStartContainers,
  Initialized, ContainersReady and Ready keep their lastTransitionTime unless
  their status changes; other conditions (PodScheduled) are kept as they are, and
  PodScheduled=True is added to a pod bound without a scheduler (as upstream).
- The result is the pod's whole status: a copy of the old one with the kubelet's
  fields set, so fields the kubelet does not own (qosClass, ...) ride along.
- `status_differs` decides whether the API needs a write at all.

Kubernetes counterpart: pkg/kubelet/kubelet_pods.go (generateAPIPodStatus, getPhase,
convertToAPIContainerStatuses), pkg/kubelet/status/generate.go
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from kubelet.kuberuntime.actions import (
    is_init_container_failed,
    pod_spec,
    restart_policy,
    should_container_be_restarted,
)
from kubelet.kuberuntime.types import ContainerRuntimeStatus, PodRuntimeStatus
from kubelet.runtime import ContainerState as RuntimeState
from tinykube.api.core import (
    Container,
    ContainerState,
    ContainerStateRunning,
    ContainerStateTerminated,
    ContainerStateWaiting,
    ContainerStatus,
    Pod,
    PodCondition,
    PodIP,
    PodStatus,
)
from tinykube.api.meta import format_rfc3339
from tinykube.api.registry import deep_copy

KUBELET_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready")
TERMINAL_PHASES = ("Succeeded", "Failed")


class ProbeResults(Protocol):
    def is_ready(self, container_id: str, spec: Container) -> bool: ...

    def is_started(self, container_id: str, spec: Container) -> bool: ...


def timestamp_ns(ns: int) -> str | None:
    return format_rfc3339(datetime.fromtimestamp(ns / 1e9, tz=UTC)) if ns else None


def _terminated(container: ContainerRuntimeStatus, runtime_name: str) -> ContainerState:
    return ContainerState(terminated=ContainerStateTerminated(
        exit_code=container.exit_code, reason=container.termination_reason,
        started_at=timestamp_ns(container.started_at_ns), finished_at=timestamp_ns(container.finished_at_ns),
        container_id=f"{runtime_name}://{container.id}"))


def _waiting(reason: str, message: str | None = None) -> ContainerState:
    return ContainerState(waiting=ContainerStateWaiting(reason=reason, message=message))


def container_statuses(pod: Pod, status: PodRuntimeStatus, specs: list[Container], *, is_init: bool,
                       waiting_reasons: Mapping[str, tuple[str, str]], probes: ProbeResults,
                       runtime_name: str) -> list[ContainerStatus]:
    default_reason = "PodInitializing" if pod_spec(pod).init_containers else "ContainerCreating"
    result = []
    for spec in specs:
        name = spec.name
        out = ContainerStatus(name=name, image=spec.image or "", image_id="", restart_count=0, ready=False,
                              started=False, state=_waiting(default_reason), last_state=ContainerState())
        instances = status.instances(name)
        if instances:
            current = instances[0]
            out.image_id, out.restart_count = current.image_ref, current.attempt
            out.container_id = f"{runtime_name}://{current.id}"
            if current.state is RuntimeState.RUNNING:
                started = probes.is_started(current.id, spec)
                out.state = ContainerState(running=ContainerStateRunning(
                    started_at=timestamp_ns(current.started_at_ns)))
                out.started = started
                out.ready = started and probes.is_ready(current.id, spec) and not is_init
            elif current.state is RuntimeState.EXITED:
                out.state = _terminated(current, runtime_name)
            else:
                out.state = _waiting("ContainerCreating")
            if len(instances) > 1 and instances[1].exited:
                out.last_state = _terminated(instances[1], runtime_name)
        restartable = (is_init_container_failed(instances[0]) and restart_policy(pod) != "Never"
                       if is_init and instances else should_container_be_restarted(spec, pod, status))
        if name in waiting_reasons and restartable:
            reason, message = waiting_reasons[name]
            if out.state is not None and out.state.terminated is not None:
                out.last_state = out.state
            out.state = _waiting(reason, message)
        result.append(out)
    return result


def _states(status: ContainerStatus) -> tuple[ContainerState, ContainerState]:
    return status.state or ContainerState(), status.last_state or ContainerState()


def get_phase(pod: Pod, init_statuses: list[ContainerStatus], statuses: list[ContainerStatus],
              pod_is_terminal: bool = False) -> str:
    pending_init = failed_init = 0
    for status in init_statuses:
        state, last = _states(status)
        if state.terminated is not None:
            failed_init += state.terminated.exit_code != 0
        elif state.waiting is not None and last.terminated is not None:
            failed_init += last.terminated.exit_code != 0
        else:
            pending_init += 1
    running = waiting = stopped = succeeded = 0
    for status in statuses:
        state, last = _states(status)
        if state.running is not None:
            running += 1
        elif state.terminated is not None:
            stopped += 1
            succeeded += state.terminated.exit_code == 0
        elif last.terminated is not None:
            stopped += 1
        else:
            waiting += 1
    policy = restart_policy(pod)
    if failed_init and policy == "Never":
        return "Failed"
    if pending_init or waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if pod_is_terminal:
            return "Succeeded" if stopped == succeeded else "Failed"
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        return "Failed" if policy == "Never" else "Running"
    return "Pending"


def _condition(type_: str, ok: bool, reason: str = "", message: str = "") -> PodCondition:
    condition = PodCondition(type=type_, status="True" if ok else "False")
    if not ok and reason:
        condition.reason, condition.message = reason, message
    return condition


def pod_conditions(phase: str, status: PodRuntimeStatus, init_statuses: list[ContainerStatus],
                   statuses: list[ContainerStatus], host_network: bool) -> list[PodCondition]:
    sandbox_ok = status.ready_sandbox is not None and (bool(status.ip) or host_network)
    incomplete = [s.name for s in init_statuses
                  if not (s.state and s.state.terminated and s.state.terminated.exit_code == 0)]
    initialized = not incomplete or any(status.find(s.name) for s in statuses)
    unready = [s.name for s in statuses if not s.ready]
    if phase == "Succeeded":
        ready = _condition("ContainersReady", False, "PodCompleted")
    elif not initialized:
        ready = _condition("ContainersReady", False, "ContainersNotInitialized",
                           f"containers with incomplete status: [{' '.join(incomplete)}]")
    else:
        ready = _condition("ContainersReady", not unready, "ContainersNotReady",
                           f"containers with unready status: [{' '.join(unready)}]")
    return [_condition("PodReadyToStartContainers", sandbox_ok),
            _condition("Initialized", initialized, "ContainersNotInitialized",
                       f"containers with incomplete status: [{' '.join(incomplete)}]"),
            ready, ready.model_copy(update={"type": "Ready"})]


def generate_api_pod_status(pod: Pod, status: PodRuntimeStatus, *, waiting_reasons: Mapping[str, tuple[str, str]],
                            probes: ProbeResults, host_ip: str, now: str, runtime_name: str) -> PodStatus:
    spec = pod_spec(pod)
    old = pod.status or PodStatus()
    common: dict[str, Any] = {"waiting_reasons": waiting_reasons, "probes": probes, "runtime_name": runtime_name}
    init_statuses = container_statuses(pod, status, spec.init_containers or [], is_init=True, **common)
    statuses = container_statuses(pod, status, spec.containers, is_init=False, **common)
    phase = get_phase(pod, init_statuses, statuses, old.phase in TERMINAL_PHASES)
    previous = {c.type: c for c in old.conditions or []}
    conditions = [deep_copy(c) for c in old.conditions or [] if c.type not in KUBELET_CONDITIONS]
    if "PodScheduled" not in previous:  # bound by spec.nodeName, no scheduler: upstream adds it too
        conditions.append(PodCondition(type="PodScheduled", status="True", last_transition_time=now))
    for condition in pod_conditions(phase, status, init_statuses, statuses, bool(spec.host_network)):
        prior = previous.get(condition.type)
        same = prior is not None and prior.status == condition.status and prior.last_transition_time
        condition.last_transition_time = prior.last_transition_time if same and prior else now
        conditions.append(condition)
    result = deep_copy(old)
    result.phase, result.conditions, result.container_statuses = phase, conditions, statuses
    result.host_ip, result.host_ips = host_ip, [PodIP(ip=host_ip)]
    result.start_time = old.start_time or now
    pod_ip = host_ip if spec.host_network else (status.ip or old.pod_ip or "")
    if pod_ip:
        result.pod_ip, result.pod_ips = pod_ip, [PodIP(ip=pod_ip)]
    if init_statuses:
        result.init_container_statuses = init_statuses
    return result


def _normalized(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normalized(v) for k, v in value.items() if v is not None and v != {}}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


def status_differs(old: PodStatus, new: PodStatus) -> bool:
    """Whether writing `new` over `old` (a merge patch) would change anything a reader sees."""
    def conditions(status: dict[str, Any]) -> list[dict[str, Any]]:
        return sorted((_normalized(c) for c in status.get("conditions") or []), key=lambda c: c.get("type", ""))
    before, after = old.to_dict(), new.to_dict()
    merged = {**before, **after}
    return (_normalized({**merged, "conditions": None}) != _normalized({**before, "conditions": None})
            or conditions(merged) != conditions(before))
