"""Node registration, Lease heartbeats and allocatable, against a recording fake client."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubelet.node_status import NodeConfig, NodeStatusManager, subtract_reserved
from kubelet.runtime.fake import FakeRuntime
from tinykube.client.clock import FakeClock
from tinykube.client.errors import AlreadyExists, Conflict, NotFound

Obj = dict[str, Any]


class FakeAPI:
    """A tiny object store keyed by (plural, namespace, name), recording every call."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], Obj] = {}
        self.actions: list[tuple[str, str]] = []
        self.version = 0

    def _key(self, info: Any, name: str, namespace: str | None) -> tuple[str, str, str]:
        return (info.plural, namespace or "", name)

    def _store(self, key: tuple[str, str, str], obj: Obj) -> Obj:
        self.version += 1
        obj = copy.deepcopy(obj)
        obj["metadata"].update(resourceVersion=str(self.version), uid=obj["metadata"].get("uid") or f"uid-{key[2]}")
        self.objects[key] = obj
        return copy.deepcopy(obj)

    async def get(self, info: Any, name: str, namespace: str | None = None) -> Obj:
        self.actions.append((f"get {info.plural}", name))
        key = self._key(info, name, namespace)
        if key not in self.objects:
            raise NotFound(404, "NotFound", f"{name} not found")
        return copy.deepcopy(self.objects[key])

    async def create(self, info: Any, body: Any, namespace: str | None = None) -> Obj:
        self.actions.append((f"create {info.plural}", body["metadata"]["name"]))
        key = self._key(info, body["metadata"]["name"], namespace)
        if key in self.objects:
            raise AlreadyExists(409, "AlreadyExists", "exists")
        return self._store(key, body)

    async def update(self, info: Any, body: Any, namespace: str | None = None) -> Obj:
        self.actions.append((f"update {info.plural}", body["metadata"]["name"]))
        key = self._key(info, body["metadata"]["name"], namespace)
        if self.objects[key]["metadata"]["resourceVersion"] != body["metadata"].get("resourceVersion"):
            raise Conflict(409, "Conflict", "the object has been modified")
        return self._store(key, body)

    async def patch(self, info: Any, name: str, body: Any, *, patch_type: Any = None,
                    namespace: str | None = None, subresource: str | None = None) -> Obj:
        self.actions.append((f"patch {info.plural}/{subresource or ''}", name))
        key = self._key(info, name, namespace)
        obj = copy.deepcopy(self.objects[key])
        for field, value in body.items():
            if isinstance(value, dict) and isinstance(obj.get(field), dict):
                obj[field].update(value)
            else:
                obj[field] = value
        return self._store(key, obj)


def new_manager(api: FakeAPI, clock: FakeClock | None = None, **overrides: Any) -> NodeStatusManager:
    config = NodeConfig("hollow-0", "10.0.0.5", {"cpu": "4", "memory": "8Gi", "pods": "110"},
                        {"cpu": "4", "memory": "8Gi", "pods": "110"}, labels={"tier": "hollow"},
                        taints=[{"key": "gpu", "effect": "NoSchedule"}], **overrides)
    return NodeStatusManager(api, FakeRuntime(), config, clock=clock or FakeClock())


async def test_registration_creates_the_node_with_labels_capacity_and_ready() -> None:
    api = FakeAPI()
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
    api = FakeAPI()
    await new_manager(api).register_node()
    node = api.objects[("nodes", "", "hollow-0")]
    node["status"]["conditions"] = [{"type": "Ready", "status": "Unknown"}]  # the controller gave up on it
    await new_manager(api).register_node()
    ready = {c["type"]: c["status"] for c in api.objects[("nodes", "", "hollow-0")]["status"]["conditions"]}
    assert ready["Ready"] == "True"


async def test_the_lease_is_created_then_renewed_with_a_newer_renew_time() -> None:
    api, clock = FakeAPI(), FakeClock()
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
    api, clock = FakeAPI(), FakeClock()
    manager = new_manager(api, clock)
    await manager.register_node()
    await manager.renew_lease()
    api._store(("leases", "kube-node-lease", "hollow-0"), api.objects[("leases", "kube-node-lease", "hollow-0")])
    clock.advance(10)
    assert not await manager.renew_lease()  # 409: our copy was stale
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
