"""compute_pod_actions as a table: pod spec + what the engine shows → what to do."""

from __future__ import annotations

from typing import Any

import pytest

from kubelet.kuberuntime.actions import PodActions, compute_pod_actions
from kubelet.kuberuntime.types import (
    ContainerRuntimeStatus,
    PodRuntimeStatus,
    container_hash,
)
from kubelet.runtime import ContainerState, PodSandbox, PodSandboxMetadata, SandboxState
from tinykube.api.core import Container, Pod

Obj = dict[str, Any]
R, X, C = ContainerState.RUNNING, ContainerState.EXITED, ContainerState.CREATED


def pod(policy: str = "Always", containers: tuple[str, ...] = ("app",), inits: tuple[str, ...] = (),
        deleting: bool = False) -> Obj:
    meta: Obj = {"name": "web", "namespace": "ns", "uid": "u1"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta, "spec": {
        "restartPolicy": policy, "containers": [{"name": c, "image": "busybox:1"} for c in containers],
        "initContainers": [{"name": c, "image": "busybox:1"} for c in inits]}}


def host_network(obj: Obj) -> Obj:
    obj["spec"]["hostNetwork"] = True
    return obj


def sandbox(ready: bool = True, attempt: int = 0, ip: str = "10.0.0.2") -> PodSandbox:
    return PodSandbox(f"sb{attempt}", PodSandboxMetadata("web", "ns", "u1", attempt),
                      SandboxState.READY if ready else SandboxState.NOT_READY, attempt, ip)


def ctr(name: str, state: ContainerState, exit_code: int = 0, attempt: int = 0, hash_: str | None = None) -> ContainerRuntimeStatus:
    spec_hash = container_hash(Container(name=name, image="busybox:1")) if hash_ is None else hash_
    return ContainerRuntimeStatus(f"{name}-{attempt}", name, state, attempt, "sb0", "busybox:1", "sha256:1",
                                  attempt + 1, exit_code=exit_code, hash=spec_hash)


def actions(**fields: Any) -> PodActions:
    return PodActions(**{"sandbox_id": "sb0", **fields})


CASES = [
    ("new pod: sandbox and every container",
     pod(containers=("a", "b")), [], [],
     PodActions(kill_pod=True, create_sandbox=True, containers_to_start=["a", "b"])),
    ("new pod with init containers: the first init container only",
     pod(inits=("i1", "i2")), [], [],
     PodActions(kill_pod=True, create_sandbox=True, next_init_container="i1")),
    ("all running: nothing to do",
     pod(), [sandbox()], [ctr("app", R)], actions()),
    ("Always: an exited container is restarted",
     pod(), [sandbox()], [ctr("app", X, 0)], actions(containers_to_start=["app"])),
    ("OnFailure: exit 0 is not restarted, so the pod is killed",
     pod("OnFailure"), [sandbox()], [ctr("app", X, 0)], actions(kill_pod=True)),
    ("OnFailure: exit 1 is restarted",
     pod("OnFailure"), [sandbox()], [ctr("app", X, 1)], actions(containers_to_start=["app"])),
    ("Never: exit 1 stays down, the pod is killed",
     pod("Never"), [sandbox()], [ctr("app", X, 1)], actions(kill_pod=True)),
    ("Never: the other container keeps running",
     pod("Never", ("a", "b")), [sandbox()], [ctr("a", X, 1), ctr("b", R)], actions()),
    ("a created but never started container is started",
     pod("Never"), [sandbox()], [ctr("app", C)], actions(containers_to_start=["app"])),
    ("sandbox died: new sandbox with the next attempt, all containers again",
     pod(), [sandbox(ready=False, attempt=2)], [ctr("app", X, 137)],
     PodActions(kill_pod=True, create_sandbox=True, sandbox_id="sb2", attempt=3, containers_to_start=["app"])),
    ("sandbox died under Never after running: no new sandbox",
     pod("Never"), [sandbox(ready=False)], [ctr("app", X, 0)],
     PodActions(kill_pod=True, sandbox_id="sb0", attempt=1)),
    ("sandbox died under OnFailure with everything succeeded: no new sandbox",
     pod("OnFailure"), [sandbox(ready=False)], [ctr("app", X, 0)],
     PodActions(kill_pod=True, sandbox_id="sb0", attempt=1)),
    ("a sandbox without an IP is replaced",
     pod(), [sandbox(ip="")], [], PodActions(kill_pod=True, create_sandbox=True, sandbox_id="sb0", attempt=1,
                                             containers_to_start=["app"])),
    ("a host-network sandbox has no IP of its own and is kept",
     host_network(pod()), [sandbox(ip="")], [ctr("app", R)], actions()),
    ("init i1 running: wait",
     pod(inits=("i1", "i2")), [sandbox()], [ctr("i1", R)], actions()),
    ("init i1 done: start i2",
     pod(inits=("i1", "i2")), [sandbox()], [ctr("i1", X, 0)], actions(next_init_container="i2")),
    ("init all done: start the app containers",
     pod(inits=("i1", "i2")), [sandbox()], [ctr("i1", X, 0), ctr("i2", X, 0)],
     actions(containers_to_start=["app"])),
    ("init failed under Always: retried",
     pod(inits=("i1",)), [sandbox()], [ctr("i1", X, 2)], actions(next_init_container="i1")),
    ("init failed under Never: the pod is killed",
     pod("Never", inits=("i1",)), [sandbox()], [ctr("i1", X, 2)], actions(kill_pod=True)),
    ("app running after init: init containers are not rerun",
     pod(inits=("i1",)), [sandbox()], [ctr("app", R)], actions()),
    ("spec changed (new image): killed and restarted",
     pod(), [sandbox()], [ctr("app", R, hash_="old")], "kill:app:SpecChanged+start"),
    ("liveness failed: killed and restarted",
     pod(), [sandbox()], [ctr("app", R)], "liveness"),
    ("being deleted: nothing is restarted",
     pod(deleting=True), [sandbox()], [ctr("app", X, 1)], actions(kill_pod=True)),
]


@pytest.mark.parametrize(("name", "spec", "sandboxes", "containers", "want"), CASES, ids=[c[0] for c in CASES])
def test_compute_pod_actions(name: str, spec: Obj, sandboxes: list[PodSandbox],
                             containers: list[ContainerRuntimeStatus], want: PodActions | str) -> None:
    status = PodRuntimeStatus("u1", sandboxes, containers)
    liveness = {"app-0": "HTTP probe failed"} if want == "liveness" else {}
    got = compute_pod_actions(Pod.from_dict(spec), status, liveness_failed=liveness)
    if isinstance(want, str):
        [(cid, kill)] = got.containers_to_kill.items()
        assert cid == "app-0" and got.containers_to_start == ["app"] and not got.kill_pod
        assert kill.reason == ("SpecChanged" if want.startswith("kill") else "LivenessProbe")
        assert kill.message.endswith(", will be restarted")
        return
    assert got == want


def test_liveness_failure_under_never_kills_without_restart() -> None:
    status = PodRuntimeStatus("u1", [sandbox()], [ctr("app", R)])
    got = compute_pod_actions(Pod.from_dict(pod("Never")), status, liveness_failed={"app-0": "boom"})
    assert got.containers_to_start == [] and got.kill_pod
    assert got.containers_to_kill["app-0"].message == "Container app failed liveness probe"


def test_the_newest_instance_decides() -> None:
    status = PodRuntimeStatus("u1", [sandbox()], [ctr("app", X, 1, attempt=0), ctr("app", R, attempt=1)])
    assert compute_pod_actions(Pod.from_dict(pod()), status) == actions()
