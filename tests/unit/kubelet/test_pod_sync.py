"""The real kubelet's pod sync against FakeRuntime and a fake API client.

Each test scripts the engine (exits, OOM kills, missing images, exec results) and
asserts on what a user would see: the status the kubelet writes and what it asks
the runtime to do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from kubelet.kuberuntime.types import NODE_NAME_LABEL
from kubelet.pod_sync import PodSyncConfig, PodSyncer
from kubelet.prober.probers import ProbeResult
from kubelet.runtime import (
    POD_UID_LABEL,
    ContainerState,
    ExecResult,
    PodSandboxConfig,
    PodSandboxMetadata,
)
from kubelet.runtime.fake import FakeRuntime
from tinykube.api.core import Container, Pod, Probe
from tinykube.client.clock import FakeClock
from tinykube.testing.fake_client import FakeClient

Obj = dict[str, Any]


class Runner:
    def __init__(self) -> None:
        self.result = ProbeResult.SUCCESS
        self.addresses: list[str] = []  # the pod IP each probe went to

    async def __call__(self, probe: Probe, *, container: Container, container_id: str,
                       pod_ip: str) -> tuple[ProbeResult, str]:
        self.addresses.append(pod_ip)
        return self.result, "" if self.result is ProbeResult.SUCCESS else "probe failed"


class Node:
    def __init__(self, objects: dict[str, Obj] | None = None, runtime: FakeRuntime | None = None,
                 clock: FakeClock | None = None) -> None:
        self.clock = clock or FakeClock()
        self.runtime = runtime or FakeRuntime("10.244.1.0/24", clock_ns=lambda: int(self.clock.wall() * 1e9))
        self.client, self.runner = FakeClient(), Runner()
        for key, obj in (objects or {}).items():  # "configmaps/settings": {...} in namespace ns
            plural, name = key.split("/")
            self.client.seed(plural, {"metadata": {"name": name, "namespace": "ns"}, **obj})
        config = PodSyncConfig("node-1", host_ip=lambda: "192.168.0.2")
        self.syncer = PodSyncer(self.client, self.runtime, config, clock=self.clock, probe_runner=self.runner)

    @property
    def statuses(self) -> list[Obj]:
        """Every status the kubelet wrote, in order."""
        return [a.body["status"] for a in self.client.writes("pods", "patch") if a.subresource == "status"]

    @property
    def last(self) -> Obj:
        return self.statuses[-1]

    @property
    def deletes(self) -> list[tuple[str, Obj]]:
        return [(f"{a.namespace}/{a.name}", a.body) for a in self.client.writes("pods", "delete")]

    async def sync(self, pod: Obj) -> Obj:
        """Hand the pod (with the latest written status) to its worker and wait for it."""
        if self.statuses:
            pod = {**pod, "status": self.last}
        self.syncer.workers.update_pod(Pod.from_dict(pod))
        await self.syncer.wait_idle()
        return self.last if self.statuses else {}

    def mutations(self) -> list[str]:
        return [c for c, _ in self.runtime.calls if c in ("run_pod_sandbox", "create_container", "start_container",
                                                          "stop_container", "stop_pod_sandbox", "remove_container",
                                                          "remove_pod_sandbox", "pull_image")]


def pod(*containers: Obj, policy: str = "Always", **spec: Any) -> Obj:
    return {"metadata": {"name": "web", "namespace": "ns", "uid": "u1", "resourceVersion": "1"},
            "spec": {"nodeName": "node-1", "restartPolicy": policy, "containers": list(containers), **spec},
            "status": {"phase": "Pending"}}


def app(**fields: Any) -> Obj:
    return {"name": "app", "image": "busybox:1", **fields}


def container_status(status: Obj, name: str = "app") -> Obj:
    return next(s for s in status["containerStatuses"] if s["name"] == name)


def waiting(status: Obj, name: str = "app") -> tuple[str, str]:
    state = container_status(status, name)["state"].get("waiting") or {}
    return state.get("reason", ""), state.get("message", "")


def condition(status: Obj, type_: str) -> str:
    return next(c["status"] for c in status["conditions"] if c["type"] == type_)


async def until(condition_: Callable[[], bool], what: str) -> None:
    for _ in range(500):
        if condition_():
            return
        await asyncio.sleep(0)
    pytest.fail(f"never happened: {what}")


async def test_a_crashing_container_is_restarted_with_growing_backoff() -> None:
    node = Node()
    node.runtime.exit_on_start["app"] = (1, "")
    spec = pod(app())
    status = await node.sync(spec)  # attempt 0 starts and exits at once
    assert container_status(status)["state"]["terminated"]["exitCode"] == 1
    status = await node.sync(spec)  # the first restart is immediate
    assert container_status(status)["restartCount"] == 1
    status = await node.sync(spec)
    assert waiting(status) == ("CrashLoopBackOff", "back-off 10s restarting failed container=app pod=web_ns(u1)")
    assert container_status(status)["lastState"]["terminated"]["reason"] == "Error"
    assert status["phase"] == "Running" and condition(status, "Ready") == "False"
    await node.sync(spec)
    assert node.mutations().count("start_container") == 2  # still backing off
    node.clock.advance(10)  # the backoff ends: the kubelet's own timer resyncs the pod
    await until(lambda: node.mutations().count("start_container") == 3, "the third start")
    await node.syncer.wait_idle()
    status = await node.sync(spec)
    assert waiting(status)[1].startswith("back-off 20s")
    assert container_status(status)["restartCount"] == 2


async def test_an_oom_killed_container_under_never_fails_the_pod() -> None:
    node = Node()
    spec = pod(app(), policy="Never")
    status = await node.sync(spec)
    assert status["phase"] == "Running"
    [container] = node.runtime.running("app")
    node.runtime.exit_container(container.id, 137, "OOMKilled")
    status = await node.sync(spec)
    terminated = container_status(status)["state"]["terminated"]
    assert (terminated["reason"], terminated["exitCode"]) == ("OOMKilled", 137)
    assert status["phase"] == "Failed"
    assert node.mutations()[-1] == "stop_pod_sandbox" and node.mutations().count("start_container") == 1


async def test_onfailure_completes_after_exit_zero() -> None:
    node = Node()
    spec = pod(app(), policy="OnFailure")
    await node.sync(spec)
    node.runtime.exit_container(node.runtime.running("app")[0].id, 0)
    status = await node.sync(spec)
    assert status["phase"] == "Succeeded" and container_status(status)["state"]["terminated"]["reason"] == "Completed"
    assert condition(status, "Ready") == "False"


async def test_a_failing_liveness_probe_kills_and_restarts_the_container() -> None:
    node = Node()
    spec = pod(app(livenessProbe={"exec": {"command": ["true"]}, "initialDelaySeconds": 5, "periodSeconds": 1,
                                  "failureThreshold": 1}))
    await node.sync(spec)
    [first] = node.runtime.running("app")
    node.runner.result = ProbeResult.FAILURE
    await until(lambda: node.clock.pending_timers >= 1, "the probe worker waits out its initial delay")
    node.clock.advance(5)
    await until(lambda: first.state is ContainerState.EXITED, "the container to be killed")
    node.runner.result = ProbeResult.SUCCESS  # the new container's worker probes 5 s from now
    await node.syncer.wait_idle()
    status = await node.sync(spec)
    assert container_status(status)["restartCount"] == 1 and "running" in container_status(status)["state"]
    assert node.runtime.stop_timeouts[first.id] == 30


async def test_readiness_drives_ready_both_ways() -> None:
    node = Node()
    node.runner.result = ProbeResult.FAILURE
    spec = pod(app(readinessProbe={"httpGet": {"port": 80}, "periodSeconds": 1}))
    status = await node.sync(spec)
    assert condition(status, "Ready") == "False" and container_status(status)["ready"] is False
    node.runner.result = ProbeResult.SUCCESS
    node.clock.advance(1)
    await until(lambda: len(node.statuses) == 2, "the probe change to be written")
    assert condition(node.last, "Ready") == "True" and condition(node.last, "ContainersReady") == "True"
    node.runner.result = ProbeResult.FAILURE
    for _ in range(3):  # failureThreshold 3
        await until(lambda: node.clock.pending_timers >= 1, "the probe worker sleeps")
        node.clock.advance(1)
        await asyncio.sleep(0)
    await until(lambda: len(node.statuses) == 3, "unready written")
    assert condition(node.last, "Ready") == "False"
    await node.syncer.stop()


async def test_a_host_network_pod_is_probed_on_the_nodes_address_and_keeps_its_sandbox() -> None:
    node = Node()
    spec = pod(app(readinessProbe={"httpGet": {"port": 8181}, "periodSeconds": 1}), hostNetwork=True)
    status = await node.sync(spec)
    await until(lambda: len(node.statuses) == 2, "the probe result to be written")
    assert node.runner.addresses and set(node.runner.addresses) == {"192.168.0.2"}
    assert condition(node.last, "Ready") == "True" and node.last["podIP"] == "192.168.0.2"
    await node.sync(spec)
    assert [c for c in node.runtime.calls if c[0] == "run_pod_sandbox"] == [("run_pod_sandbox", spec["metadata"]["uid"])]
    assert status["hostIP"] == "192.168.0.2"
    await node.syncer.stop()


async def test_a_missing_image_is_err_image_pull_then_image_pull_backoff() -> None:
    node = Node()
    node.runtime.absent_images.add("ghost:1")
    node.runtime.pull_errors["ghost:1"] = "pull access denied for ghost, repository does not exist"
    spec = pod({"name": "app", "image": "ghost:1"})
    status = await node.sync(spec)
    assert waiting(status) == ("ErrImagePull",
                               'Failed to pull image "ghost:1": pull access denied for ghost, repository does not exist')
    assert status["phase"] == "Pending"
    status = await node.sync(spec)
    assert waiting(status) == ("ImagePullBackOff", 'Back-off pulling image "ghost:1"')
    assert node.mutations().count("pull_image") == 1
    node.clock.advance(10)
    await until(lambda: node.mutations().count("pull_image") == 2, "a second pull after the backoff")


async def test_pull_policies() -> None:
    node = Node()
    node.runtime.absent_images.update({"never:1", "fresh:1"})
    spec = pod({"name": "a", "image": "never:1", "imagePullPolicy": "Never"}, {"name": "b", "image": "fresh:1"},
               {"name": "c", "image": "present:latest"})
    status = await node.sync(spec)
    assert waiting(status, "a") == ("ErrImageNeverPull", 'Container image "never:1" is not present with pull policy of Never')
    assert "running" in container_status(status, "b")["state"]
    assert [arg for call, arg in node.runtime.calls if call == "pull_image"] == ["fresh:1", "present:latest"]


async def test_a_missing_configmap_key_is_create_container_config_error() -> None:
    node = Node({"configmaps/settings": {"data": {"a": "1"}}})
    env = [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "b"}}}]
    spec = pod(app(env=env))
    status = await node.sync(spec)
    assert waiting(status) == ("CreateContainerConfigError", "couldn't find key b in ConfigMap ns/settings")
    node.client.objects[("configmaps", "ns", "settings")]["data"]["b"] = "2"
    status = await node.sync(spec)
    assert "running" in container_status(status)["state"]
    [config] = node.runtime.configs.values()
    assert ("X", "2") in config.envs


async def test_init_containers_run_in_order_before_app_containers() -> None:
    node = Node()
    spec = pod(app(), initContainers=[{"name": "one", "image": "busybox:1"}, {"name": "two", "image": "busybox:1"}])
    status = await node.sync(spec)
    assert "running" in status["initContainerStatuses"][0]["state"] and waiting(status) == ("PodInitializing", "")
    node.runtime.exit_container(node.runtime.running("one")[0].id, 0)
    await node.sync(spec)
    node.runtime.exit_container(node.runtime.running("two")[0].id, 0)
    status = await node.sync(spec)
    assert condition(status, "Initialized") == "True" and status["phase"] == "Running"
    assert [n for n in (c.name for c in node.runtime.configs.values())] == ["one", "two", "app"]


async def test_a_failed_post_start_hook_kills_the_container() -> None:
    node = Node()
    node.runtime.exec_results["app"] = ExecResult(1, b"", b"hook broke")
    spec = pod(app(lifecycle={"postStart": {"exec": {"command": ["setup"]}}}))
    status = await node.sync(spec)
    assert waiting(status) == ("PostStartHookError", "hook broke")
    assert node.mutations()[-1] == "stop_container"


async def test_deletion_runs_pre_stop_then_stops_with_the_grace_period_then_deletes() -> None:
    node = Node()
    spec = pod(app(lifecycle={"preStop": {"exec": {"command": ["drain"]}}}))
    await node.sync(spec)
    deleting = {**spec, "metadata": {**spec["metadata"], "deletionTimestamp": "2026-01-01T00:00:15Z",
                                     "deletionGracePeriodSeconds": 15}}
    await node.sync(deleting)
    calls = [c for c, arg in node.runtime.calls if c in ("exec_sync", "stop_container", "remove_pod_sandbox")]
    assert calls == ["exec_sync", "stop_container", "remove_pod_sandbox"]
    assert list(node.runtime.stop_timeouts.values()) == [15]
    assert node.runtime.containers == {} and node.runtime.sandboxes == {}
    assert node.deletes == [("ns/web", {"gracePeriodSeconds": 0, "preconditions": {"uid": "u1"}})]


async def test_a_restarted_kubelet_keeps_healthy_containers() -> None:
    node = Node()
    node.runtime.exit_on_start["app"] = (1, "")
    spec = pod(app(), app(name="steady"))
    await node.sync(spec)
    del node.runtime.exit_on_start["app"]
    status = await node.sync(spec)  # app restarted once
    before = {s["name"]: (s["containerID"], s["restartCount"]) for s in status["containerStatuses"]}
    calls = len(node.runtime.calls)
    restarted = Node(runtime=node.runtime, clock=node.clock)
    status = await restarted.sync({**spec, "status": status})
    assert [c for c, _ in node.runtime.calls[calls:] if c in ("create_container", "stop_container")] == []
    assert before == {"app": (before["app"][0], 1), "steady": (before["steady"][0], 0)}
    assert restarted.statuses == [] or {
        s["name"]: (s["containerID"], s["restartCount"]) for s in status["containerStatuses"]} == before


async def test_housekeeping_removes_orphans_of_this_node_only() -> None:
    node = Node()
    spec = pod(app())
    await node.sync(spec)
    for uid, owner in (("gone", "node-1"), ("elsewhere", "node-2")):
        await node.runtime.run_pod_sandbox(PodSandboxConfig(PodSandboxMetadata("x", "ns", uid),
                                                            labels={POD_UID_LABEL: uid, NODE_NAME_LABEL: owner}))
    await node.syncer.housekeeping.handle_pod_cleanups()
    await node.syncer.wait_idle()
    assert sorted(s.labels[POD_UID_LABEL] for s in node.runtime.sandboxes.values()) == ["elsewhere", "u1"]


async def test_a_container_death_reported_by_the_engine_resyncs_the_pod() -> None:
    node = Node()
    spec = pod(app())
    await node.sync(spec)
    runner = asyncio.create_task(node.syncer.run(lambda: True, period_seconds=60))
    await until(lambda: node.runtime._event_queues != [], "the event stream to be open")
    node.runtime.exit_container(node.runtime.running("app")[0].id, 2)
    await until(lambda: len(node.runtime.running("app")) == 1, "the container to be restarted")
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    await node.syncer.stop()
