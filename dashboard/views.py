"""The dashboard's view models: what each page shows, computed from cached objects.

Pure functions of typed objects from the informers' caches (never mutated), each
returning plain JSON-ready dicts the browser draws as they are:

- `overview(nodes, pods)`: one box per node with its pods as chips, plus the pods
  no node has taken yet, the way the seed draws a cluster;
- `workloads(...)`: Deployments, StatefulSets, DaemonSets and Jobs with ready over
  desired and a health word;
- `recent_events(events)`: the newest events first.

A chip's `state` is one closed word the page colours: ready, not-ready, pending,
succeeded, failed or terminating.

Kubernetes counterpart: none in Kubernetes itself; the columns follow
staging/src/k8s.io/kubectl/pkg/cmd/get (printers of pods, deployments, jobs) and
the Kubernetes Dashboard's workload status
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Any

from tinykube.api.apps import DaemonSet, Deployment, StatefulSet
from tinykube.api.batch import Job
from tinykube.api.core import Event, Node, Pod
from tinykube.api.meta import Condition, get_condition

MAX_EVENTS = 100


class ChipState(str, Enum):
    READY = "ready"
    NOT_READY = "not-ready"
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TERMINATING = "terminating"


class Health(str, Enum):
    HEALTHY = "healthy"
    PROGRESSING = "progressing"
    DEGRADED = "degraded"


def _condition_true(conditions: Sequence[Condition] | None, type_: str) -> bool:
    condition = get_condition(conditions, type_)
    return condition is not None and condition.status == "True"


def chip_state(pod: Pod) -> ChipState:
    if pod.metadata.deletion_timestamp:
        return ChipState.TERMINATING
    phase = (pod.status.phase if pod.status else None) or "Pending"
    if phase == "Succeeded":
        return ChipState.SUCCEEDED
    if phase == "Failed":
        return ChipState.FAILED
    if phase == "Running":
        ready = _condition_true(pod.status.conditions if pod.status else None, "Ready")
        return ChipState.READY if ready else ChipState.NOT_READY
    return ChipState.PENDING


def pod_chip(pod: Pod) -> dict[str, Any]:
    containers = len(pod.spec.containers) if pod.spec else 0
    statuses = (pod.status.container_statuses if pod.status else None) or []
    return {"namespace": pod.metadata.namespace or "", "name": pod.metadata.name or "",
            "phase": (pod.status.phase if pod.status else None) or "Pending",
            "state": chip_state(pod).value,
            "ready": f"{sum(1 for s in statuses if s.ready)}/{containers}",
            "restarts": sum(s.restart_count for s in statuses),
            "containers": [c.name for c in pod.spec.containers] if pod.spec else []}


def _sort_key(pod: Pod) -> tuple[str, str]:
    return pod.metadata.namespace or "", pod.metadata.name or ""


def overview(nodes: Iterable[Node], pods: Iterable[Pod]) -> dict[str, Any]:
    """Node boxes (by name) with their pods' chips (by namespace/name); pods on a
    node the cache does not hold get a box of their own, marked unknown."""
    by_node: dict[str, list[Pod]] = {}
    unscheduled: list[Pod] = []
    for pod in pods:
        node_name = pod.spec.node_name if pod.spec else None
        if node_name:
            by_node.setdefault(node_name, []).append(pod)
        else:
            unscheduled.append(pod)
    boxes = []
    known = {node.metadata.name or "": node for node in nodes}
    for name in sorted(known.keys() | by_node.keys()):
        node = known.get(name)
        if node is None:
            status = "Unknown"
        else:
            ready = _condition_true(node.status.conditions if node.status else None, "Ready")
            status = "Ready" if ready else "NotReady"
            if node.spec is not None and node.spec.unschedulable:
                status += ",SchedulingDisabled"
        boxes.append({"name": name, "status": status,
                      "pods": [pod_chip(p) for p in sorted(by_node.get(name, []), key=_sort_key)]})
    return {"nodes": boxes, "unscheduled": [pod_chip(p) for p in sorted(unscheduled, key=_sort_key)]}


def _health(ready: int, desired: int) -> Health:
    if ready >= desired:
        return Health.HEALTHY
    return Health.PROGRESSING if ready > 0 else Health.DEGRADED


def _row(kind: str, resource: str, obj: Any, ready: int, desired: int, health: Health,
         *, scalable: bool, restartable: bool) -> dict[str, Any]:
    return {"kind": kind, "resource": resource, "namespace": obj.metadata.namespace or "",
            "name": obj.metadata.name or "", "ready": ready, "desired": desired,
            "health": health.value, "scalable": scalable, "restartable": restartable}


def job_health(job: Job) -> Health:
    conditions = job.status.conditions if job.status else None
    if _condition_true(conditions, "Failed"):
        return Health.DEGRADED
    if _condition_true(conditions, "Complete"):
        return Health.HEALTHY
    return Health.PROGRESSING


def workloads(deployments: Iterable[Deployment], stateful_sets: Iterable[StatefulSet],
              daemon_sets: Iterable[DaemonSet], jobs: Iterable[Job]) -> list[dict[str, Any]]:
    """One row per workload: Deployments and StatefulSets count ready replicas
    against spec.replicas (default 1), DaemonSets ready against desired scheduled,
    Jobs succeeded against completions (default 1) with their conditions' health."""
    rows = []
    for d in deployments:
        desired = d.spec.replicas if d.spec and d.spec.replicas is not None else 1
        ready = (d.status.ready_replicas if d.status else None) or 0
        rows.append(_row("Deployment", "deployments.apps", d, ready, desired,
                         _health(ready, desired), scalable=True, restartable=True))
    for s in stateful_sets:
        desired = s.spec.replicas if s.spec and s.spec.replicas is not None else 1
        ready = (s.status.ready_replicas if s.status else None) or 0
        rows.append(_row("StatefulSet", "statefulsets.apps", s, ready, desired,
                         _health(ready, desired), scalable=True, restartable=True))
    for ds in daemon_sets:
        desired = ds.status.desired_number_scheduled if ds.status else 0
        ready = ds.status.number_ready if ds.status else 0
        rows.append(_row("DaemonSet", "daemonsets.apps", ds, ready, desired,
                         _health(ready, desired), scalable=False, restartable=True))
    for j in jobs:
        desired = j.spec.completions if j.spec and j.spec.completions is not None else 1
        succeeded = (j.status.succeeded if j.status else None) or 0
        rows.append(_row("Job", "jobs.batch", j, succeeded, desired, job_health(j),
                         scalable=False, restartable=False))
    rows.sort(key=lambda r: (r["namespace"], r["kind"], r["name"]))
    return rows


def _event_time(event: Event) -> str:
    return (event.last_timestamp or event.event_time or event.first_timestamp
            or event.metadata.creation_timestamp or "")


def recent_events(events: Iterable[Event], limit: int = MAX_EVENTS) -> list[dict[str, Any]]:
    """The newest `limit` events, newest first (RFC 3339 times sort as text)."""
    newest = sorted(events, key=_event_time, reverse=True)[:limit]
    return [{"namespace": e.metadata.namespace or "", "type": e.type or "Normal",
             "reason": e.reason or "", "message": e.message or "", "count": e.count or 1,
             "object": f"{(e.involved_object.kind or '').lower()}/{e.involved_object.name or ''}",
             "time": _event_time(e)} for e in newest]
