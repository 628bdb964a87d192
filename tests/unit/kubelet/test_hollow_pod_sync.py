"""The hollow kubelet's pod sync against FakeRuntime and a client that records actions."""

from __future__ import annotations

import asyncio
from typing import Any

from kubelet.pod_sync import PodSyncer
from kubelet.runtime.fake import FakeRuntime
from tinykube.client.clock import FakeClock
from tinykube.client.errors import ServerError

Obj = dict[str, Any]
MUTATING = {"run_pod_sandbox", "create_container", "start_container", "stop_container", "stop_pod_sandbox",
            "remove_container", "remove_pod_sandbox"}


class FakeClient:
    def __init__(self) -> None:
        self.actions: list[tuple[str, str, Any]] = []
        self.fail_patches = 0

    async def patch(self, info: Any, name: str, body: Any, *, patch_type: Any = None,
                    namespace: str | None = None, subresource: str | None = None) -> Obj:
        self.actions.append((f"patch {info.plural}/{subresource}", f"{namespace}/{name}", body))
        if self.fail_patches:
            self.fail_patches -= 1
            raise ServerError(500, "InternalError", "etcd is sad")
        return {}

    async def delete(self, info: Any, name: str, namespace: str | None = None, *,
                     grace_period_seconds: int | None = None, preconditions: dict[str, str] | None = None) -> Obj:
        self.actions.append(("delete pods", f"{namespace}/{name}",
                             {"gracePeriodSeconds": grace_period_seconds, "preconditions": preconditions}))
        return {}


def bound_pod(name: str = "web", *, containers: tuple[str, ...] = ("app",), deleting: bool = False) -> Obj:
    meta: Obj = {"name": name, "namespace": "ns", "uid": f"uid-{name}"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:30Z"
    return {"metadata": meta,
            "spec": {"nodeName": "hollow-0", "containers": [{"name": c, "image": "nginx:1.27"} for c in containers]},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}]}}


def new_syncer() -> tuple[PodSyncer, FakeClient, FakeRuntime, FakeClock]:
    client, runtime, clock = FakeClient(), FakeRuntime("10.244.7.0/24"), FakeClock()
    return PodSyncer(client, runtime, "hollow-0", host_ip=lambda: "192.168.1.10", clock=clock), client, runtime, clock


async def test_a_bound_pod_runs_and_reports_running_and_ready() -> None:
    syncer, client, runtime, _ = new_syncer()
    syncer.on_add(bound_pod(containers=("app", "sidecar")))
    await syncer.wait_idle()
    assert [call for call, _ in runtime.calls if call in MUTATING] == [
        "run_pod_sandbox", "create_container", "start_container", "create_container", "start_container"]
    [(verb, key, patch)] = client.actions
    assert (verb, key) == ("patch pods/status", "ns/web")
    status = patch["status"]
    assert (status["phase"], status["podIP"], status["hostIP"]) == ("Running", "10.244.7.2", "192.168.1.10")
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "PodScheduled": "True", "PodReadyToStartContainers": "True", "Initialized": "True",
        "ContainersReady": "True", "Ready": "True"}
    assert [(c["name"], c["ready"], list(c["state"])) for c in status["containerStatuses"]] == [
        ("app", True, ["running"]), ("sidecar", True, ["running"])]


async def test_an_unchanged_pod_is_not_written_again() -> None:
    syncer, client, runtime, _ = new_syncer()
    pod = bound_pod()
    syncer.on_add(pod)
    await syncer.wait_idle()
    reported = {**pod, "status": client.actions[0][2]["status"]}
    syncer.on_update(pod, reported)  # the watch echoes our own status write
    await syncer.wait_idle()
    assert len(client.actions) == 1
    assert [c for c, _ in runtime.calls].count("run_pod_sandbox") == 1


async def test_a_pod_being_deleted_is_stopped_then_deleted_with_grace_zero() -> None:
    syncer, client, runtime, _ = new_syncer()
    syncer.on_add(bound_pod())
    await syncer.wait_idle()
    syncer.on_update(bound_pod(), bound_pod(deleting=True))
    await syncer.wait_idle()
    assert client.actions[-1] == ("delete pods", "ns/web", {"gracePeriodSeconds": 0,
                                                           "preconditions": {"uid": "uid-web"}})
    assert runtime.sandboxes == {} and runtime.containers == {}
    assert [c for c, _ in runtime.calls if c in MUTATING][-4:] == [
        "stop_container", "stop_pod_sandbox", "remove_container", "remove_pod_sandbox"]


async def test_a_pod_removed_from_the_api_is_removed_from_the_runtime() -> None:
    syncer, _, runtime, _ = new_syncer()
    syncer.on_add(bound_pod())
    await syncer.wait_idle()
    syncer.on_delete(bound_pod())
    await syncer.wait_idle()
    assert runtime.sandboxes == {}


async def test_a_pending_kill_is_not_replaced_by_an_older_update() -> None:
    syncer, client, runtime, _ = new_syncer()
    syncer.update_pod(bound_pod(deleting=True))
    syncer.update_pod(bound_pod())  # stale: must not resurrect the pod
    await syncer.wait_idle()
    assert [verb for verb, _, _ in client.actions] == ["delete pods"]
    assert runtime.sandboxes == {}


async def test_a_failed_status_write_is_retried() -> None:
    syncer, client, _, clock = new_syncer()
    client.fail_patches = 1
    syncer.on_add(bound_pod())
    while clock.pending_timers == 0:  # the worker is waiting out its retry delay
        await asyncio.sleep(0)
    clock.advance(syncer.retry_delay_seconds)
    await syncer.wait_idle()
    assert [verb for verb, _, _ in client.actions] == ["patch pods/status", "patch pods/status"]
