"""The flow log: ring bounds, resume and 410, the recording storage, the wire form."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver.flow.log import CALLER, Caller, Expired, FlowLog, WatchIdentity, WriteRecord, seq_of
from apiserver.flow.routes import encode
from apiserver.flow.storage import FlowStorage
from apiserver.flow.summary import facts_of
from apiserver.storage.memory import MemoryStorage
from tinykube.api.resources import DEPLOYMENTS, PODS

WATCH = WatchIdentity(Caller("admin", "tinykube-scheduler"), "pods", "", "", "spec.nodeName=")


def write(flow_log: FlowLog, revision: int, uid: str = "u1") -> WriteRecord:
    record = WriteRecord(flow_log.next_seq(), 1_000 * revision, Caller("admin", "tinykube"), PODS,
                         "demo", "web", uid, revision, "ADDED", (), None, None)
    flow_log.record_write(record)
    return record


def test_the_ring_keeps_the_newest_records_and_numbers_them_in_order() -> None:
    flow_log = FlowLog(size=3)
    for revision in range(1, 6):
        write(flow_log, revision)
    assert [seq_of(r) for r in flow_log.since(2)] == [3, 4, 5]
    assert [seq_of(r) for r in flow_log.since(4)] == [5]
    assert flow_log.since(5) == []
    # the writes that left the ring no longer name a delivery's object
    assert flow_log.write_at(1) is None and flow_log.write_at(5) is not None


def test_resuming_before_the_oldest_record_is_expired() -> None:
    flow_log = FlowLog(size=3)
    for revision in range(1, 6):
        write(flow_log, revision)
    with pytest.raises(Expired) as raised:
        flow_log.since(1)  # record 2 is gone
    assert (raised.value.requested, raised.value.oldest) == (1, 3)


def test_deliveries_are_numbered_with_the_writes_and_skip_end_markers() -> None:
    flow_log = FlowLog(size=10)
    write(flow_log, 7)
    flow_log.record_deliveries(WATCH, [("ADDED", {}, 7), None])
    records = flow_log.since(0)
    assert [seq_of(r) for r in records] == [1, 2]
    delivery = records[1]
    assert isinstance(delivery, tuple) and delivery[2:] == (WATCH, "ADDED", 7)


def test_a_size_of_zero_turns_the_log_off() -> None:
    assert not FlowLog(size=0).enabled


async def test_the_storage_records_creates_changing_updates_and_deletes_only() -> None:
    flow_log = FlowLog(size=100)
    storage = FlowStorage(MemoryStorage(), DEPLOYMENTS, flow_log)
    key = "/registry/deployments/demo/web"
    token = CALLER.set(Caller("admin", "tinykube", "PATCH", "/apis/apps/v1/namespaces/demo/deployments/web/scale"))
    try:
        await storage.create(key, {"metadata": {"name": "web", "namespace": "demo", "uid": "d1"},
                                   "spec": {"replicas": 1}})

        async def scale(current: dict[str, Any]) -> dict[str, Any]:
            current["spec"]["replicas"] = 2  # changes `current` in place, as a caller may
            return current

        async def unchanged(current: dict[str, Any]) -> dict[str, Any]:
            return current

        await storage.guaranteed_update(key, scale)
        await storage.guaranteed_update(key, unchanged)  # no write, no record
        await storage.delete(key)
    finally:
        CALLER.reset(token)
    records = [encode(r, flow_log) for r in flow_log.since(0)]
    assert [(r["event"], r["change"]) for r in records] == [
        ("ADDED", "created"), ("MODIFIED", "replicas 1→2"), ("DELETED", "deleted")]
    scaled = records[1]
    assert (scaled["user"], scaled["userAgent"], scaled["verb"], scaled["subresource"]) == \
        ("admin", "tinykube", "patch", "scale")
    assert scaled["object"] == {"group": "apps", "resource": "deployments", "kind": "Deployment",
                                "namespace": "demo", "name": "web", "uid": "d1",
                                "resourceVersion": scaled["object"]["resourceVersion"]}
    assert int(records[2]["object"]["resourceVersion"]) > int(scaled["object"]["resourceVersion"])


async def test_a_failed_update_records_nothing() -> None:
    flow_log = FlowLog(size=10)
    storage = FlowStorage(MemoryStorage(), PODS, flow_log)
    await storage.create("/registry/pods/demo/web", {"metadata": {"name": "web", "namespace": "demo"}})

    async def refuse(current: dict[str, Any]) -> dict[str, Any]:
        raise ValueError("no")

    with pytest.raises(ValueError):
        await storage.guaranteed_update("/registry/pods/demo/web", refuse)
    assert len(flow_log.since(0)) == 1


def test_a_delivery_names_its_object_and_latency_through_the_write() -> None:
    flow_log = FlowLog(size=10)
    record = WriteRecord(flow_log.next_seq(), 1_000_000, Caller("admin", "tinykube-scheduler", "POST",
                         "/api/v1/namespaces/demo/pods/web/binding"), PODS, "demo", "web", "p1", 42,
                         "MODIFIED", (("r1", "ReplicaSet", "web-1"),),
                         facts_of({"spec": {}}), facts_of({"spec": {"nodeName": "node-a"}}))
    flow_log.record_write(record)
    flow_log._append((flow_log.next_seq(), 3_500_000, WATCH, "MODIFIED", 42))
    written, delivered = (encode(r, flow_log) for r in flow_log.since(0))
    assert (written["verb"], written["subresource"], written["change"]) == \
        ("create", "binding", "nodeName: node-a")
    assert written["ownerReferences"] == [{"uid": "r1", "kind": "ReplicaSet", "name": "web-1"}]
    assert delivered["type"] == "Delivery" and delivered["object"]["uid"] == "p1"
    assert delivered["latencySeconds"] == 0.0025
    assert delivered["watch"]["fieldSelector"] == "spec.nodeName="
    assert delivered["metadata"]["resourceVersion"] == "2"
