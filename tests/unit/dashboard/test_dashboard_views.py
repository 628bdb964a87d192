"""The dashboard's view models: node boxes with pod chips, workload health, events."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard.views import chip_state, overview, recent_events, workloads
from tinykube.api.apps import (DaemonSet, DaemonSetStatus, Deployment, DeploymentSpec,
                               DeploymentStatus, StatefulSet, StatefulSetSpec, StatefulSetStatus)
from tinykube.api.batch import Job, JobCondition, JobSpec, JobStatus
from tinykube.api.core import (Container, ContainerStatus, Event, Node, NodeCondition, NodeSpec,
                               NodeStatus, ObjectReference, Pod, PodCondition, PodSpec, PodStatus)
from tinykube.api.meta import ObjectMeta


def pod(name: str, node: str | None = None, phase: str | None = "Running", ready: bool = True,
        deleting: bool = False, namespace: str = "shop") -> Pod:
    conditions = [PodCondition(type="Ready", status="True" if ready else "False")]
    return Pod(metadata=ObjectMeta(name=name, namespace=namespace,
                                   deletion_timestamp="2026-01-01T00:00:00Z" if deleting else None),
               spec=PodSpec(node_name=node, containers=[Container(name="app", image="nginx")]),
               status=PodStatus(phase=phase, conditions=conditions,
                                container_statuses=[ContainerStatus(name="app", ready=ready,
                                                                     restart_count=2)]))


def node(name: str, ready: bool = True, unschedulable: bool = False) -> Node:
    return Node(metadata=ObjectMeta(name=name), spec=NodeSpec(unschedulable=unschedulable or None),
                status=NodeStatus(conditions=[NodeCondition(type="Ready",
                                                            status="True" if ready else "False")]))


@pytest.mark.parametrize(("the_pod", "state"), [
    (pod("a"), "ready"),
    (pod("a", ready=False), "not-ready"),
    (pod("a", phase="Pending", ready=False), "pending"),
    (pod("a", phase=None, ready=False), "pending"),
    (pod("a", phase="Succeeded", ready=False), "succeeded"),
    (pod("a", phase="Failed", ready=False), "failed"),
    (pod("a", deleting=True), "terminating"),
])
def test_a_chip_is_coloured_by_phase_and_readiness(the_pod: Pod, state: str) -> None:
    assert chip_state(the_pod).value == state


def test_the_overview_draws_each_node_with_its_pods_and_the_unscheduled_apart() -> None:
    view = overview([node("node-b", ready=False), node("node-a", unschedulable=True)],
                    [pod("web-2", "node-a"), pod("web-1", "node-a", namespace="alpha"),
                     pod("db-0", "node-b", ready=False), pod("new", None, phase="Pending"),
                     pod("lost", "node-gone")])
    assert [(n["name"], n["status"], [p["name"] for p in n["pods"]]) for n in view["nodes"]] == [
        ("node-a", "Ready,SchedulingDisabled", ["web-1", "web-2"]),
        ("node-b", "NotReady", ["db-0"]),
        ("node-gone", "Unknown", ["lost"]),
    ]
    assert [p["name"] for p in view["unscheduled"]] == ["new"]
    chip: dict[str, Any] = view["nodes"][0]["pods"][1]
    assert chip == {"namespace": "shop", "name": "web-2", "phase": "Running", "state": "ready",
                    "ready": "1/1", "restarts": 2, "containers": ["app"]}


def test_workloads_count_ready_against_desired_with_a_health_word() -> None:
    def meta(name: str) -> ObjectMeta:
        return ObjectMeta(name=name, namespace="shop")

    rows = workloads(
        [Deployment(metadata=meta("web"), spec=DeploymentSpec(replicas=3),
                    status=DeploymentStatus(ready_replicas=3)),
         Deployment(metadata=meta("api"), spec=DeploymentSpec(), status=DeploymentStatus())],
        [StatefulSet(metadata=meta("db"), spec=StatefulSetSpec(replicas=3),
                     status=StatefulSetStatus(replicas=3, ready_replicas=1))],
        [DaemonSet(metadata=meta("agent"),
                   status=DaemonSetStatus(desired_number_scheduled=3, number_ready=3))],
        [Job(metadata=meta("once"), spec=JobSpec(completions=2),
             status=JobStatus(succeeded=1, conditions=[JobCondition(type="Failed", status="True")])),
         Job(metadata=meta("done"), spec=JobSpec(),
             status=JobStatus(succeeded=1, conditions=[JobCondition(type="Complete", status="True")]))])
    assert [(r["kind"], r["name"], r["ready"], r["desired"], r["health"], r["scalable"], r["restartable"])
            for r in rows] == [
        ("DaemonSet", "agent", 3, 3, "healthy", False, True),
        ("Deployment", "api", 0, 1, "degraded", True, True),
        ("Deployment", "web", 3, 3, "healthy", True, True),
        ("Job", "done", 1, 1, "healthy", False, False),
        ("Job", "once", 1, 2, "degraded", False, False),
        ("StatefulSet", "db", 1, 3, "progressing", True, True),
    ]
    assert rows[2]["resource"] == "deployments.apps"


def test_events_come_newest_first_and_are_bounded() -> None:
    def event(name: str, last: str, kind: str = "Pod") -> Event:
        return Event(metadata=ObjectMeta(name=name, namespace="shop"), reason="Scheduled",
                     message=f"m-{name}", type="Normal", count=1, last_timestamp=last,
                     involved_object=ObjectReference(kind=kind, name="web-1"))

    events = [event("old", "2026-01-01T00:00:01Z"), event("new", "2026-01-01T00:00:03Z", "Deployment"),
              event("mid", "2026-01-01T00:00:02Z")]
    assert [e["message"] for e in recent_events(events)] == ["m-new", "m-mid", "m-old"]
    assert recent_events(events)[0]["object"] == "deployment/web-1"
    assert [e["message"] for e in recent_events(events, limit=1)] == ["m-new"]
