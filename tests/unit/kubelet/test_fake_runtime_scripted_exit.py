"""The fake runtime runs a container for FAKE_RUN_SECONDS and exits with FAKE_EXIT_CODE,
so Jobs on hollow nodes finish the way a pod spec says."""

from __future__ import annotations

import asyncio

from kubelet.runtime import ContainerConfig, ContainerState, PodSandboxConfig, PodSandboxMetadata
from kubelet.runtime.fake import FakeRuntime


async def start(runtime: FakeRuntime, envs: tuple[tuple[str, str], ...]) -> str:
    sandbox = PodSandboxConfig(PodSandboxMetadata("p", "default", "uid-1"))
    sandbox_id = await runtime.run_pod_sandbox(sandbox)
    container_id = await runtime.create_container(sandbox_id, ContainerConfig(name="main", image="busybox",
                                                                              envs=envs), sandbox)
    await runtime.start_container(container_id)
    return container_id


async def test_exit_code_at_once() -> None:
    runtime = FakeRuntime()
    container = runtime.containers[await start(runtime, (("FAKE_EXIT_CODE", "3"),))]
    assert (container.state, container.exit_code, container.reason) == (ContainerState.EXITED, 3, "Error")


async def test_runs_for_the_given_seconds_then_succeeds() -> None:
    runtime = FakeRuntime()
    events = runtime.events()
    container_id = await start(runtime, (("FAKE_RUN_SECONDS", "0.05"),))
    assert runtime.containers[container_id].state is ContainerState.RUNNING
    event = await asyncio.wait_for(anext(events), timeout=10)
    assert (event.container_id, event.kind) == (container_id, "die")
    container = runtime.containers[container_id]
    assert (container.state, container.exit_code, container.reason) == (ContainerState.EXITED, 0, "Completed")
    await events.aclose()


async def test_without_the_variables_it_runs_until_stopped() -> None:
    runtime = FakeRuntime()
    container_id = await start(runtime, (("OTHER", "1"),))
    assert runtime.containers[container_id].state is ContainerState.RUNNING
