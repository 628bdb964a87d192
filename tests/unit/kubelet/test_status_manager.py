"""The status manager writes a pod's status only when it changed."""

from __future__ import annotations

from typing import Any

from kubelet.status.status_manager import StatusManager
from tinykube.api.core import Pod, PodStatus
from tinykube.client.errors import NotFound
from tinykube.testing.fake_client import FakeClient


def pod(version: str = "1", status: dict[str, Any] | None = None) -> Pod:
    return Pod.from_dict({"metadata": {"name": "web", "namespace": "ns", "uid": "u1", "resourceVersion": version},
                          "spec": {"containers": [{"name": "app"}]},
                          "status": status or {"phase": "Pending", "qosClass": "BestEffort"}})


RUNNING = PodStatus.from_dict({"phase": "Running", "podIP": "10.0.0.5", "qosClass": "BestEffort"})


async def test_a_changed_status_is_patched_with_the_uid_precondition() -> None:
    client = FakeClient()
    assert await StatusManager(client).set_pod_status(pod(), RUNNING)
    [action] = client.actions
    assert (action.verb, action.resource, action.subresource, action.namespace, action.name) == (
        "patch", "pods", "status", "ns", "web")
    assert action.body == {"metadata": {"uid": "u1"}, "status": RUNNING.to_dict()}


async def test_no_write_when_the_status_is_unchanged() -> None:
    client = FakeClient()
    manager = StatusManager(client)
    assert not await manager.set_pod_status(pod(status=RUNNING.to_dict()), RUNNING)  # the API has it already
    assert client.actions == []


async def test_no_second_write_of_what_was_written_for_the_same_version() -> None:
    client = FakeClient()
    manager = StatusManager(client)
    assert await manager.set_pod_status(pod(), RUNNING)
    assert not await manager.set_pod_status(pod(), RUNNING)  # the informer has not caught up yet
    assert len(client.actions) == 1


async def test_a_newer_pod_version_is_compared_with_its_own_status() -> None:
    client = FakeClient()
    manager = StatusManager(client)
    await manager.set_pod_status(pod("1"), RUNNING)
    # someone else reset the status meanwhile: the kubelet writes its view again
    assert await manager.set_pod_status(pod("2", {"phase": "Pending"}), RUNNING)
    assert len(client.actions) == 2


async def test_a_pod_already_gone_is_not_an_error() -> None:
    client = FakeClient()
    client.fail[("patch", "pods")] = NotFound(404, "NotFound", 'pods "web" not found')
    assert not await StatusManager(client).set_pod_status(pod(), RUNNING)
