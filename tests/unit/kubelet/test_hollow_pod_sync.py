"""The hollow kubelet's pod sync against FakeRuntime and the shared fake API client."""

from __future__ import annotations

from typing import Any

from kubelet.pod_sync import PodSyncConfig, PodSyncer
from kubelet.runtime.fake import FakeRuntime
from tinykube.api.core import Pod
from tinykube.client.clock import FakeClock
from tinykube.client.errors import ServerError
from tinykube.testing.fake_client import Action, FakeClient

Obj = dict[str, Any]
MUTATING = {"run_pod_sandbox", "create_container", "start_container", "stop_container", "stop_pod_sandbox",
            "remove_container", "remove_pod_sandbox"}


def bound_pod(name: str = "web", *, containers: tuple[str, ...] = ("app",), deleting: bool = False,
              status: Obj | None = None) -> Pod:
    meta: Obj = {"name": name, "namespace": "ns", "uid": f"uid-{name}"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:30Z"
    return Pod.from_dict({
        "metadata": meta,
        "spec": {"nodeName": "hollow-0", "containers": [{"name": c, "image": "nginx:1.27"} for c in containers]},
        "status": status or {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}]}})


def summary(action: Action) -> tuple[str, str, str]:
    """("patch pods/status", "ns/web", body) as a reader would say it."""
    what = f"{action.verb} {action.resource}" + (f"/{action.subresource}" if action.subresource else "")
    return what, f"{action.namespace}/{action.name}", action.body


def new_syncer() -> tuple[PodSyncer, FakeClient, FakeRuntime, FakeClock]:
    client, runtime, clock = FakeClient(), FakeRuntime("10.244.7.0/24"), FakeClock()
    config = PodSyncConfig("hollow-0", host_ip=lambda: "192.168.1.10", runtime_name="fake")
    return PodSyncer(client, runtime, config, clock=clock), client, runtime, clock


async def test_a_bound_pod_runs_and_reports_running_and_ready() -> None:
    syncer, client, runtime, _ = new_syncer()
    syncer.on_add(bound_pod(containers=("app", "sidecar")))
    await syncer.wait_idle()
    assert [call for call, _ in runtime.calls if call in MUTATING] == [
        "run_pod_sandbox", "create_container", "start_container", "create_container", "start_container"]
    [(verb, key, patch)] = map(summary, client.actions)
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
    reported = bound_pod(status=client.actions[0].body["status"])
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
    assert summary(client.actions[-1]) == ("delete pods", "ns/web", {"gracePeriodSeconds": 0,
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
    syncer.workers.update_pod(bound_pod(deleting=True))
    syncer.workers.update_pod(bound_pod())  # stale: must not resurrect the pod
    await syncer.wait_idle()
    assert [summary(a)[0] for a in client.actions] == ["delete pods"]
    assert runtime.sandboxes == {}


async def test_a_failed_status_write_is_retried() -> None:
    syncer, client, _, clock = new_syncer()
    client.fail[("patch", "pods")] = ServerError(500, "InternalError", "etcd is sad")
    syncer.on_add(bound_pod())
    await syncer.wait_idle()
    assert client.actions == [] and clock.pending_timers == 1  # the retry waits out its backoff
    del client.fail[("patch", "pods")]
    clock.advance(syncer.workers.retry_backoff.initial_seconds)
    await syncer.wait_idle()
    assert [summary(a)[0] for a in client.actions] == ["patch pods/status"]
