"""EventRecorder: Event shape, aggregation of repeats, and never failing the caller."""

from __future__ import annotations

from typing import Any

from tinykube.api import ObjectMeta, Pod
from tinykube.api.resources import ResourceInfo
from tinykube.client.clock import FakeClock
from tinykube.client.errors import NotFound, ServerError
from tinykube.client.events import EventRecorder

Obj = dict[str, Any]

POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "web-1", "namespace": "team-a", "uid": "u-1", "resourceVersion": "5"}}


class FakeEvents:
    def __init__(self) -> None:
        self.actions: list[tuple[str, str, str, Obj]] = []
        self.fail_next: Exception | None = None

    async def create(self, info: ResourceInfo, body: Obj, namespace: str | None = None) -> Obj:
        self._maybe_fail()
        self.actions.append(("create", namespace or "", body["metadata"]["name"], body))
        return body

    async def patch(self, info: ResourceInfo, name: str, body: Obj, *, patch_type: Any = None,
                    namespace: str | None = None) -> Obj:
        self._maybe_fail()
        self.actions.append(("patch", namespace or "", name, body))
        return body

    def _maybe_fail(self) -> None:
        if self.fail_next is not None:
            err, self.fail_next = self.fail_next, None
            raise err


async def test_an_event_describes_the_object_and_the_component() -> None:
    sink, clock = FakeEvents(), FakeClock(wall_start=1_767_225_600.25)
    recorder = EventRecorder(sink, "replicaset-controller", host="cp-1", clock=clock)
    recorder.event(POD, "Normal", "SuccessfulCreate", "Created pod: web-1")
    await recorder.flush()
    [(verb, namespace, name, body)] = sink.actions
    assert (verb, namespace) == ("create", "team-a")
    assert name == f"web-1.{1_767_225_600_250_000_000:x}"
    assert body["involvedObject"] == {"apiVersion": "v1", "kind": "Pod", "namespace": "team-a",
                                      "name": "web-1", "uid": "u-1", "resourceVersion": "5"}
    assert (body["type"], body["reason"], body["message"], body["count"]) == \
        ("Normal", "SuccessfulCreate", "Created pod: web-1", 1)
    assert body["source"] == {"component": "replicaset-controller", "host": "cp-1"}
    assert body["firstTimestamp"] == body["lastTimestamp"] == "2026-01-01T00:00:00Z"
    await recorder.shut_down()


async def test_repeats_within_ten_minutes_patch_count_and_last_timestamp() -> None:
    sink, clock = FakeEvents(), FakeClock()
    recorder = EventRecorder(sink, "kubelet", clock=clock)
    recorder.event(POD, "Warning", "BackOff", "Back-off restarting failed container")
    clock.advance(60)
    recorder.event(POD, "Warning", "BackOff", "Back-off restarting failed container")
    clock.advance(540)
    recorder.event(POD, "Warning", "BackOff", "Back-off restarting failed container")
    recorder.event(POD, "Warning", "BackOff", "a different message")
    await recorder.flush()
    first = sink.actions[0][2]
    assert [(a[0], a[2]) for a in sink.actions[:3]] == [("create", first), ("patch", first),
                                                         ("patch", first)]
    assert sink.actions[1][3] == {"count": 2, "lastTimestamp": "2026-01-01T00:01:00Z"}
    assert sink.actions[2][3]["count"] == 3
    assert sink.actions[3][0] == "create" and sink.actions[3][2] != first
    clock.advance(601)  # the window is measured from the last repeat
    recorder.event(POD, "Warning", "BackOff", "Back-off restarting failed container")
    await recorder.flush()
    assert sink.actions[4][0] == "create"
    await recorder.shut_down()


async def test_a_vanished_event_is_created_again() -> None:
    sink, clock = FakeEvents(), FakeClock()
    recorder = EventRecorder(sink, "scheduler", clock=clock)
    recorder.event(POD, "Normal", "Scheduled", "assigned")
    await recorder.flush()
    sink.fail_next = NotFound(404, "NotFound", "gone")
    clock.advance(1)
    recorder.event(POD, "Normal", "Scheduled", "assigned")
    await recorder.flush()
    assert [a[0] for a in sink.actions] == ["create", "create"]
    await recorder.shut_down()


async def test_errors_never_reach_the_caller() -> None:
    sink, clock = FakeEvents(), FakeClock()
    recorder = EventRecorder(sink, "scheduler", clock=clock)
    sink.fail_next = ServerError(500, "InternalError", "etcd down")
    recorder.event(POD, "Normal", "Scheduled", "dropped")
    recorder.event(POD, "Sideways", "Odd", "invalid type")  # dropped with a log line
    recorder.event({"metadata": {}}, "Normal", "NoKind", "no kind")  # dropped too
    recorder.event(POD, "Normal", "Scheduled", "written")
    await recorder.flush()
    assert [a[3]["message"] for a in sink.actions] == ["written"]
    await recorder.shut_down()


async def test_cluster_scoped_and_typed_objects() -> None:
    sink, clock = FakeEvents(), FakeClock()
    recorder = EventRecorder(sink, "node-controller", clock=clock)
    recorder.event({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"}},
                   "Normal", "RegisteredNode", "registered")
    recorder.event(Pod(metadata=ObjectMeta(name="p", namespace="ns")), "Normal", "Pulled", "ok")
    await recorder.flush()
    assert [(a[1], a[3]["involvedObject"]["kind"]) for a in sink.actions] == \
        [("default", "Node"), ("ns", "Pod")]
    assert sink.actions[0][2] != sink.actions[1][2]
    await recorder.shut_down()
