"""On a hollow node, `sh -c 'echo WORDS > /proc/1/fd/1'` writes to the container's log,
as it does in a real container, so a followed log has lines to show."""

from __future__ import annotations

import pytest

from kubelet.runtime import ContainerConfig, PodSandboxConfig, PodSandboxMetadata
from kubelet.runtime.fake import FakeRuntime


async def running(runtime: FakeRuntime) -> str:
    sandbox = PodSandboxConfig(PodSandboxMetadata("p", "default", "uid-1"))
    sandbox_id = await runtime.run_pod_sandbox(sandbox)
    container_id = await runtime.create_container(sandbox_id, ContainerConfig(name="main", image="busybox"),
                                                  sandbox)
    await runtime.start_container(container_id)
    return container_id


async def test_an_echo_to_the_main_process_stdout_is_logged() -> None:
    runtime = FakeRuntime()
    container_id = await running(runtime)
    await runtime.exec(container_id, ["sh", "-c", "echo 'hello there' > /proc/1/fd/1"], tty=False, stdin=False)
    logs = [line async for line in runtime.container_logs(container_id, follow=False, tail_lines=None,
                                                          since_seconds=None, timestamps=False)]
    assert logs == [b"hello there\n"]


@pytest.mark.parametrize("command", [["sh", "-c", "echo hi"], ["sh", "-c", "echo hi > /tmp/x"],
                                     ["echo", "hi", ">", "/proc/1/fd/1"], ["sh", "-c", "echo 'unclosed"]])
async def test_other_commands_leave_the_log_alone(command: list[str]) -> None:
    runtime = FakeRuntime()
    container_id = await running(runtime)
    await runtime.exec(container_id, command, tty=False, stdin=False)
    logs = [line async for line in runtime.container_logs(container_id, follow=False, tail_lines=None,
                                                          since_seconds=None, timestamps=False)]
    assert logs == []
