"""Pod status generation: phase (getPhase), container states and conditions, as tables."""

from __future__ import annotations

from typing import Any

import pytest

from kubelet.kuberuntime.types import ContainerRuntimeStatus, PodRuntimeStatus
from kubelet.runtime import ContainerState, PodSandbox, PodSandboxMetadata, SandboxState
from kubelet.status.generate import generate_api_pod_status, get_phase, status_differs
from tinykube.api.core import Container, ContainerStatus, Pod, PodStatus

Obj = dict[str, Any]
R, X = ContainerState.RUNNING, ContainerState.EXITED
NOW = "2026-01-01T00:00:10Z"


class Probes:
    def __init__(self, unready: tuple[str, ...] = ()) -> None:
        self.unready = unready

    def is_ready(self, container_id: str, spec: Container) -> bool:
        return container_id not in self.unready

    def is_started(self, container_id: str, spec: Container) -> bool:
        return True


def pod(policy: str = "Always", containers: tuple[str, ...] = ("app",), inits: tuple[str, ...] = (),
        status: Obj | None = None) -> Obj:
    return {"metadata": {"name": "web", "namespace": "ns", "uid": "u1"},
            "spec": {"restartPolicy": policy, "containers": [{"name": c, "image": "img:1"} for c in containers],
                     "initContainers": [{"name": c, "image": "img:1"} for c in inits]},
            "status": status or {}}


def ctr(name: str, state: ContainerState, exit_code: int = 0, attempt: int = 0, reason: str = "") -> ContainerRuntimeStatus:
    return ContainerRuntimeStatus(f"{name}{attempt}", name, state, attempt, "sb", "img:1", "sha256:abc",
                                  attempt + 1, started_at_ns=1_767_225_600 * 10**9,
                                  finished_at_ns=1_767_225_605 * 10**9 if state is X else 0,
                                  exit_code=exit_code, reason=reason)


def runtime_status(*containers: ContainerRuntimeStatus, ready: bool = True) -> PodRuntimeStatus:
    sandbox = PodSandbox("sb", PodSandboxMetadata("web", "ns", "u1"),
                         SandboxState.READY if ready else SandboxState.NOT_READY, 1, "10.0.0.5")
    return PodRuntimeStatus("u1", [sandbox], list(containers))


def generate(spec: Obj, status: PodRuntimeStatus, reasons: dict[str, tuple[str, str]] | None = None,
             unready: tuple[str, ...] = ()) -> Obj:
    return generate_api_pod_status(Pod.from_dict(spec), status, waiting_reasons=reasons or {},
                                   probes=Probes(unready), host_ip="192.168.0.2", now=NOW,
                                   runtime_name="docker").to_dict()


PHASES = [
    ("nothing created yet", pod(), [], {}, "Pending"),
    ("running", pod(), [ctr("app", R)], {}, "Running"),
    ("Always, exited 0: restarting, still Running", pod(), [ctr("app", X, 0)], {}, "Running"),
    ("OnFailure, exited 0: Succeeded", pod("OnFailure"), [ctr("app", X, 0)], {}, "Succeeded"),
    ("OnFailure, exited 1: restarting, Running", pod("OnFailure"), [ctr("app", X, 1)], {}, "Running"),
    ("Never, exited 1: Failed", pod("Never"), [ctr("app", X, 1)], {}, "Failed"),
    ("Never, one exited 0 one running: Running", pod("Never", ("a", "b")), [ctr("a", X, 0), ctr("b", R)], {},
     "Running"),
    ("Never, both exited, one failed: Failed", pod("Never", ("a", "b")), [ctr("a", X, 0), ctr("b", X, 2)], {},
     "Failed"),
    ("crash loop waiting with lastState: Running", pod(), [ctr("app", X, 1)],
     {"app": ("CrashLoopBackOff", "back-off 10s")}, "Running"),
    ("image pull error before the first run: Pending", pod(), [],
     {"app": ("ErrImagePull", "not found")}, "Pending"),
    ("init container running: Pending", pod(inits=("init",)), [ctr("init", R)], {}, "Pending"),
    ("init container failed under Never: Failed", pod("Never", inits=("init",)), [ctr("init", X, 1)], {}, "Failed"),
    ("init done, app running: Running", pod(inits=("init",)), [ctr("init", X, 0), ctr("app", R)], {}, "Running"),
]


@pytest.mark.parametrize(("name", "spec", "containers", "reasons", "phase"), PHASES, ids=[p[0] for p in PHASES])
def test_phase(name: str, spec: Obj, containers: list[ContainerRuntimeStatus],
               reasons: dict[str, tuple[str, str]], phase: str) -> None:
    assert generate(spec, runtime_status(*containers), reasons)["phase"] == phase


def test_a_terminal_pod_stays_terminal_by_exit_codes() -> None:
    statuses = [ContainerStatus.from_dict({"name": "app", "state": {"terminated": {"exitCode": 0}}})]
    assert get_phase(Pod.from_dict(pod()), [], statuses, pod_is_terminal=True) == "Succeeded"


def test_a_running_container_status() -> None:
    status = generate(pod(), runtime_status(ctr("app", R, attempt=2), ctr("app", X, 137, attempt=1, reason="OOMKilled")))
    [app] = status["containerStatuses"]
    assert app == {
        "name": "app", "image": "img:1", "imageID": "sha256:abc", "containerID": "docker://app2",
        "restartCount": 2, "ready": True, "started": True,
        "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}},
        "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": "2026-01-01T00:00:00Z",
                                     "finishedAt": "2026-01-01T00:00:05Z", "containerID": "docker://app1"}}}
    assert (status["podIP"], status["hostIP"], status["startTime"]) == ("10.0.0.5", "192.168.0.2", NOW)


def test_a_crash_looping_container_waits_with_its_last_run_in_last_state() -> None:
    status = generate(pod(), runtime_status(ctr("app", X, 1, attempt=3)),
                      {"app": ("CrashLoopBackOff", "back-off 40s restarting failed container=app")})
    [app] = status["containerStatuses"]
    assert app["state"] == {"waiting": {"reason": "CrashLoopBackOff",
                                        "message": "back-off 40s restarting failed container=app"}}
    assert app["lastState"]["terminated"]["exitCode"] == 1 and app["lastState"]["terminated"]["reason"] == "Error"
    assert app["restartCount"] == 3


def test_a_reason_is_not_shown_for_a_container_that_will_not_restart() -> None:
    status = generate(pod("Never"), runtime_status(ctr("app", X, 0)), {"app": ("CrashLoopBackOff", "x")})
    assert status["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"


@pytest.mark.parametrize(("has_init", "reason"), [(False, "ContainerCreating"), (True, "PodInitializing")])
def test_a_container_not_yet_created_waits(has_init: bool, reason: str) -> None:
    spec = pod(inits=("init",) if has_init else ())
    status = generate(spec, runtime_status())
    assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": reason}}


def test_conditions_follow_readiness_and_keep_transition_times() -> None:
    first = generate(pod(containers=("a", "b")), runtime_status(ctr("a", R), ctr("b", R)), unready=("b0",))
    conditions = {c["type"]: c for c in first["conditions"]}
    assert {t: c["status"] for t, c in conditions.items()} == {
        "PodScheduled": "True", "PodReadyToStartContainers": "True", "Initialized": "True",
        "ContainersReady": "False", "Ready": "False"}
    assert conditions["Ready"]["message"] == "containers with unready status: [b]"
    old = {**first, "conditions": [{**c, "lastTransitionTime": "2026-01-01T00:00:00Z"} for c in first["conditions"]]}
    second = generate(pod(containers=("a", "b"), status=old), runtime_status(ctr("a", R), ctr("b", R)))
    times = {c["type"]: (c["status"], c["lastTransitionTime"]) for c in second["conditions"]}
    assert times["Initialized"] == ("True", "2026-01-01T00:00:00Z")  # unchanged: time kept
    assert times["Ready"] == ("True", NOW)  # flipped: new time


def test_initialized_is_false_while_init_containers_run() -> None:
    status = generate(pod(inits=("init",)), runtime_status(ctr("init", R)))
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Initialized"]["status"] == "False"
    assert conditions["Initialized"]["message"] == "containers with incomplete status: [init]"
    assert status["initContainerStatuses"][0]["state"]["running"]


def test_status_differs_ignores_what_the_kubelet_does_not_own() -> None:
    new = generate(pod(), runtime_status(ctr("app", R)))
    old = {**new, "qosClass": "BestEffort", "conditions": list(reversed(new["conditions"]))}
    assert not status_differs(PodStatus.from_dict(old), PodStatus.from_dict(new))
    assert status_differs(PodStatus.from_dict(old), PodStatus.from_dict({**new, "phase": "Failed"}))
