"""Change summaries for flow records: "replicas 1→2", "nodeName: node-2".

The write path keeps only `Facts`, a small tuple of the fields a learner watches
change (taken from the old and the new object it already holds: nothing is read
again); the text is made from two Facts when a record is read, off the write path.

Kubernetes counterpart: none (tinykube's flow log)
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Facts(NamedTuple):
    """The observed fields of one object state; None where the kind has no such field."""

    replicas: int | None
    status_replicas: int | None
    ready_replicas: int | None
    node_name: str | None
    phase: str | None
    ready_containers: str | None  # "1/2" for a pod
    restarts: int | None  # a pod's containers' restartCount, summed
    deleting: bool


def facts_of(obj: dict[str, Any]) -> Facts:
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    statuses = status.get("containerStatuses")
    ready = restarts = None
    if statuses is not None:
        ready = f"{sum(1 for s in statuses if s.get('ready'))}/{len(statuses)}"
        restarts = sum(s.get("restartCount") or 0 for s in statuses)
    return Facts(spec.get("replicas"), status.get("replicas"), status.get("readyReplicas"),
                 spec.get("nodeName"), status.get("phase"), ready, restarts,
                 bool((obj.get("metadata") or {}).get("deletionTimestamp")))


def _show(value: object) -> str:
    return "-" if value is None else str(value)


def summarize(event: str, before: Facts | None, after: Facts | None) -> str:
    """The change in words; "" for an update that touched none of the watched fields."""
    if event == "ADDED":
        return "created"
    if event == "DELETED":
        return "deleted"
    if before is None or after is None:
        return ""
    parts: list[str] = []
    for label, old, new in (("replicas", before.replicas, after.replicas),
                            ("status.replicas", before.status_replicas, after.status_replicas),
                            ("readyReplicas", before.ready_replicas, after.ready_replicas),
                            ("phase", before.phase, after.phase),
                            ("ready", before.ready_containers, after.ready_containers)):
        if old != new:
            parts.append(f"{label} {_show(old)}→{_show(new)}")
    if before.restarts is not None and before.restarts != after.restarts:  # not: first statuses
        parts.append(f"restarts {before.restarts}→{_show(after.restarts)}")
    if before.node_name != after.node_name:
        parts.append(f"nodeName: {_show(after.node_name)}")
    if after.deleting and not before.deleting:
        parts.append("deletionTimestamp set")
    return ", ".join(parts)
