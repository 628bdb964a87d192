"""A container never reports finishing before it started, in both runtimes.

The engine timestamps below were recorded from a real Docker engine for a container
that ran `exit 0`: its StartedAt is about 0.58 ms after its FinishedAt.
"""

from __future__ import annotations

from typing import Any

import pytest

from kubelet.runtime import (
    ContainerConfig,
    ContainerState,
    PodSandboxConfig,
    PodSandboxMetadata,
    finished_not_before_started,
)
from kubelet.runtime.docker import to_container
from kubelet.runtime.docker_engine import parse_timestamp_ns
from kubelet.runtime.fake import FakeRuntime

RECORDED_STARTED_AT = "2026-12-01T08:29:58.153966624Z"
RECORDED_FINISHED_AT = "2026-12-01T08:29:58.15338778Z"


def inspected(status: str, started_at: str, finished_at: str) -> dict[str, Any]:
    return {"Id": "c1", "Name": "/app", "Created": "2026-12-01T08:29:58.001Z", "Image": "sha256:abc",
            "Config": {"Image": "busybox", "Labels": {}},
            "State": {"Status": status, "StartedAt": started_at, "FinishedAt": finished_at, "ExitCode": 0}}


def test_recorded_engine_times_are_out_of_order() -> None:
    assert parse_timestamp_ns(RECORDED_FINISHED_AT) < parse_timestamp_ns(RECORDED_STARTED_AT)


def test_docker_adapter_clamps_a_finish_before_the_start() -> None:
    container = to_container(inspected("exited", RECORDED_STARTED_AT, RECORDED_FINISHED_AT))
    assert container.started_at_ns == parse_timestamp_ns(RECORDED_STARTED_AT)
    assert container.finished_at_ns == container.started_at_ns


def test_docker_adapter_keeps_ordered_times() -> None:
    container = to_container(inspected("exited", "2026-12-01T08:29:58.1Z", "2026-12-01T08:29:59.2Z"))
    assert container.finished_at_ns - container.started_at_ns == 1_100_000_000


def test_running_container_has_no_finish() -> None:
    container = to_container(inspected("running", RECORDED_STARTED_AT, "0001-01-01T00:00:00Z"))
    assert container.state is ContainerState.RUNNING and container.finished_at_ns == 0


@pytest.mark.parametrize(("started", "finished", "reported"), [
    (100, 0, 0),      # not finished
    (100, 99, 100),   # engine clocks out of order: clamp
    (100, 100, 100),
    (100, 250, 250),
])
def test_finished_not_before_started(started: int, finished: int, reported: int) -> None:
    assert finished_not_before_started(started, finished) == reported


async def test_fake_runtime_clamps_a_clock_that_steps_back() -> None:
    times = iter([500, 1_000, 2_000, 1_500])  # sandbox, create, start, then a clock that stepped back
    runtime = FakeRuntime(clock_ns=lambda: next(times))
    sandbox_id = await runtime.run_pod_sandbox(PodSandboxConfig(PodSandboxMetadata("p", "default", "uid-1")))
    container_id = await runtime.create_container(sandbox_id, ContainerConfig(name="app", image="busybox"),
                                                  PodSandboxConfig(PodSandboxMetadata("p", "default", "uid-1")))
    await runtime.start_container(container_id)
    runtime.exit_container(container_id, exit_code=0)
    status = await runtime.container_status(container_id)
    assert (status.started_at_ns, status.finished_at_ns) == (2_000, 2_000)
