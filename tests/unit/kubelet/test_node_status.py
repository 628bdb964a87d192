"""Node registration, Lease heartbeats and allocatable, against the shared fake API client."""

from __future__ import annotations

from typing import Any

import pytest

from kubelet.node_status import NodeConfig, NodeStatusManager, subtract_reserved
from kubelet.runtime.fake import FakeRuntime
from tinykube.api.core import Taint
from tinykube.client.clock import FakeClock
from tinykube.client.errors import Conflict
from tinykube.testing.fake_client import FakeClient


def new_manager(api: FakeClient, clock: FakeClock | None = None, **overrides: Any) -> NodeStatusManager:
    config = NodeConfig("hollow-0", "10.0.0.5", {"cpu": "4", "memory": "8Gi", "pods": "110"},
                        {"cpu": "4", "memory": "8Gi", "pods": "110"}, labels={"tier": "hollow"},
                        taints=[Taint(key="gpu", effect="NoSchedule")], **overrides)
    return NodeStatusManager(api, FakeRuntime(), config, clock=clock or FakeClock())


async def test_registration_creates_the_node_with_labels_capacity_and_ready() -> None:
    api = FakeClient()
    await new_manager(api).register_node()
    node = api.objects[("nodes", "", "hollow-0")]
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "hollow-0"
    assert node["metadata"]["labels"]["kubernetes.io/os"] == "linux"
    assert node["metadata"]["labels"]["tier"] == "hollow"
    assert node["spec"]["taints"] == [{"key": "gpu", "effect": "NoSchedule"}]
    assert node["status"]["allocatable"] == {"cpu": "4", "memory": "8Gi", "pods": "110"}
    assert {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"] == "True"
    assert {"type": "InternalIP", "address": "10.0.0.5"} in node["status"]["addresses"]


async def test_a_restarted_kubelet_rewrites_the_status_of_its_existing_node() -> None:
    api = FakeClient()
    await new_manager(api).register_node()
    node = api.objects[("nodes", "", "hollow-0")]
    node["status"]["conditions"] = [{"type": "Ready", "status": "Unknown"}]  # the controller gave up on it
    await new_manager(api).register_node()
    ready = {c["type"]: c["status"] for c in api.objects[("nodes", "", "hollow-0")]["status"]["conditions"]}
    assert ready["Ready"] == "True"


async def test_the_lease_is_created_then_renewed_with_a_newer_renew_time() -> None:
    api, clock = FakeClient(), FakeClock()
    manager = new_manager(api, clock, lease_duration_seconds=40)
    await manager.register_node()
    assert manager.lease_renew_interval_seconds == 10
    assert await manager.renew_lease()
    lease = api.objects[("leases", "kube-node-lease", "hollow-0")]
    assert lease["spec"]["holderIdentity"] == "hollow-0" and lease["spec"]["leaseDurationSeconds"] == 40
    assert lease["metadata"]["ownerReferences"][0]["kind"] == "Node"
    first = lease["spec"]["renewTime"]
    clock.advance(10)
    assert await manager.renew_lease()
    assert api.objects[("leases", "kube-node-lease", "hollow-0")]["spec"]["renewTime"] > first


async def test_a_conflicting_lease_write_is_reread_and_retried() -> None:
    api, clock = FakeClient(), FakeClock()
    manager = new_manager(api, clock)
    await manager.register_node()
    await manager.renew_lease()
    api.fail[("update", "leases")] = Conflict(409, "Conflict", "the object has been modified")
    clock.advance(10)
    assert not await manager.renew_lease()  # 409: our copy was stale
    del api.fail[("update", "leases")]
    assert await manager.renew_lease()


@pytest.mark.parametrize(("capacity", "reserved", "expected"), [
    ({"cpu": "4", "memory": "8Gi"}, [], {"cpu": "4000m", "memory": str(8 * 2**30)}),
    ({"cpu": "4", "memory": "8Gi", "pods": "110"}, [{"cpu": "500m", "memory": "1Gi"}, {"cpu": "250m"}],
     {"cpu": "3250m", "memory": str(7 * 2**30), "pods": "110"}),
    ({"cpu": "1", "memory": "1Gi"}, [{"cpu": "2"}], {"cpu": "0m", "memory": str(2**30)}),
])
def test_allocatable_is_capacity_minus_reserved(capacity: dict[str, str], reserved: list[dict[str, str]],
                                                expected: dict[str, str]) -> None:
    assert subtract_reserved(capacity, *reserved) == expected
