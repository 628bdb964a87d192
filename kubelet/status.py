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
- `status_differs` decides whether the API needs a write at all.

Kubernetes counterpart: pkg/kubelet/kubelet_pods.go (generateAPIPodStatus, getPhase,
convertToAPIContainerStatuses), pkg/kubelet/status/generate.go, pkg/kubelet/status/status_manager.go
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from kubelet.kuberuntime.actions import (
    is_init_container_failed,
    restart_policy,
    should_container_be_restarted,
)
from kubelet.kuberuntime.types import ContainerRuntimeStatus, PodRuntimeStatus
from kubelet.runtime import ContainerState
from tinykube.api.meta import format_rfc3339

Obj = dict[str, Any]
KUBELET_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready")


class ProbeResults(Protocol):
    def is_ready(self, container_id: str, spec: Obj) -> bool: ...

    def is_started(self, container_id: str, spec: Obj) -> bool: ...


def timestamp_ns(ns: int) -> str | None:
    return format_rfc3339(datetime.fromtimestamp(ns / 1e9, tz=UTC)) if ns else None


def _terminated(container: ContainerRuntimeStatus, runtime_name: str) -> Obj:
    return {"terminated": {"exitCode": container.exit_code, "reason": container.termination_reason,
                           "startedAt": timestamp_ns(container.started_at_ns),
                           "finishedAt": timestamp_ns(container.finished_at_ns),
                           "containerID": f"{runtime_name}://{container.id}"}}


def container_statuses(pod: Obj, status: PodRuntimeStatus, specs: list[Obj], *, is_init: bool,
                       waiting_reasons: Mapping[str, tuple[str, str]], probes: ProbeResults,
                       runtime_name: str) -> list[Obj]:
    has_init = bool((pod.get("spec") or {}).get("initContainers"))
    default_reason = "PodInitializing" if has_init else "ContainerCreating"
    result = []
    for spec in specs:
        name = spec["name"]
        out: Obj = {"name": name, "image": spec.get("image", ""), "imageID": "", "restartCount": 0,
                    "ready": False, "started": False, "state": {"waiting": {"reason": default_reason}},
                    "lastState": {}}
        instances = status.instances(name)
        if instances:
            current = instances[0]
            out.update(imageID=current.image_ref, containerID=f"{runtime_name}://{current.id}",
                       restartCount=current.attempt)
            if current.state is ContainerState.RUNNING:
                started = probes.is_started(current.id, spec)
                out.update(state={"running": {"startedAt": timestamp_ns(current.started_at_ns)}}, started=started,
                           ready=started and probes.is_ready(current.id, spec) and not is_init)
            elif current.state is ContainerState.EXITED:
                out["state"] = _terminated(current, runtime_name)
            else:
                out["state"] = {"waiting": {"reason": "ContainerCreating"}}
            if len(instances) > 1 and instances[1].exited:
                out["lastState"] = _terminated(instances[1], runtime_name)
        restartable = (is_init_container_failed(instances[0]) and restart_policy(pod) != "Never"
                       if is_init and instances else should_container_be_restarted(spec, pod, status))
        if name in waiting_reasons and restartable:
            reason, message = waiting_reasons[name]
            if "terminated" in out["state"]:
                out["lastState"] = out["state"]
            out["state"] = {"waiting": {"reason": reason, "message": message}}
        result.append(out)
    return result


def get_phase(pod: Obj, init_statuses: list[Obj], statuses: list[Obj], pod_is_terminal: bool = False) -> str:
    pending_init = failed_init = 0
    for status in init_statuses:
        state, last = status.get("state") or {}, status.get("lastState") or {}
        if "terminated" in state:
            failed_init += state["terminated"]["exitCode"] != 0
        elif "waiting" in state and "terminated" in last:
            failed_init += last["terminated"]["exitCode"] != 0
        else:
            pending_init += 1
    running = waiting = stopped = succeeded = 0
    for status in statuses:
        state, last = status.get("state") or {}, status.get("lastState") or {}
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            succeeded += state["terminated"]["exitCode"] == 0
        elif "terminated" in last:
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


def _condition(type_: str, ok: bool, reason: str = "", message: str = "") -> Obj:
    condition: Obj = {"type": type_, "status": "True" if ok else "False", "lastProbeTime": None}
    if not ok and reason:
        condition.update(reason=reason, message=message)
    return condition


def pod_conditions(phase: str, status: PodRuntimeStatus, init_statuses: list[Obj], statuses: list[Obj],
                   host_network: bool) -> list[Obj]:
    sandbox_ok = status.ready_sandbox is not None and (bool(status.ip) or host_network)
    incomplete = [s["name"] for s in init_statuses
                  if (s.get("state") or {}).get("terminated", {}).get("exitCode", -1) != 0]
    initialized = not incomplete or any(status.find(s["name"]) for s in statuses)
    unready = [s["name"] for s in statuses if not s["ready"]]
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
            ready, {**ready, "type": "Ready"}]


def generate_api_pod_status(pod: Obj, status: PodRuntimeStatus, *, waiting_reasons: Mapping[str, tuple[str, str]],
                            probes: ProbeResults, host_ip: str, now: str, runtime_name: str) -> Obj:
    spec, old = pod.get("spec") or {}, pod.get("status") or {}
    common = {"waiting_reasons": waiting_reasons, "probes": probes, "runtime_name": runtime_name}
    init_statuses = container_statuses(pod, status, spec.get("initContainers") or [], is_init=True, **common)
    statuses = container_statuses(pod, status, spec.get("containers") or [], is_init=False, **common)
    phase = get_phase(pod, init_statuses, statuses, old.get("phase") in ("Succeeded", "Failed"))
    previous = {c.get("type"): c for c in old.get("conditions") or []}
    conditions = [c for c in old.get("conditions") or [] if c.get("type") not in KUBELET_CONDITIONS]
    if "PodScheduled" not in previous:  # bound by spec.nodeName, no scheduler: upstream adds it too
        conditions.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                           "lastTransitionTime": now})
    for condition in pod_conditions(phase, status, init_statuses, statuses, bool(spec.get("hostNetwork"))):
        prior = previous.get(condition["type"]) or {}
        same = prior.get("status") == condition["status"] and prior.get("lastTransitionTime")
        conditions.append({**condition, "lastTransitionTime": prior["lastTransitionTime"] if same else now})
    pod_ip = host_ip if spec.get("hostNetwork") else (status.ip or old.get("podIP") or "")
    result: Obj = {"phase": phase, "conditions": conditions, "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
                   "startTime": old.get("startTime") or now, "containerStatuses": statuses}
    if pod_ip:
        result.update(podIP=pod_ip, podIPs=[{"ip": pod_ip}])
    if init_statuses:
        result["initContainerStatuses"] = init_statuses
    return result


def _normalized(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normalized(v) for k, v in value.items() if v is not None and v != {}}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


def status_differs(old: Obj, new: Obj) -> bool:
    """Whether writing `new` over `old` would change anything a reader sees."""
    def conditions(status: Obj) -> list[Obj]:
        return sorted((_normalized(c) for c in status.get("conditions") or []), key=lambda c: c.get("type", ""))
    merged = {**old, **new}
    return (_normalized({**merged, "conditions": None}) != _normalized({**old, "conditions": None})
            or conditions(merged) != conditions(old))
