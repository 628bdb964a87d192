"""Running the machine's own tools (ip, iptables, iptables-restore) from asyncio,
and stopping the child processes we started.

Node agents (the kubelet's host-gw agent, kube-proxy) program the node through
these commands; they take a `Runner` so tests can hand in a fake machine.
`stop_child` is how test fixtures, benchmarks and `tinykube up` end a process of
their own: SIGTERM, a grace period, then SIGKILL.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Awaitable, Callable

# Runs a command with optional stdin and returns (exit code, stdout and stderr).
Runner = Callable[[list[str], str | None], Awaitable[tuple[int, str]]]


async def run_command(argv: list[str], stdin: str | None = None) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate(stdin.encode() if stdin is not None else None)
    return process.returncode or 0, output.decode(errors="replace")


def stop_child(process: subprocess.Popen[bytes], timeout_seconds: float = 10.0) -> None:
    """SIGTERM a child we started, wait up to `timeout_seconds`, then SIGKILL it."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
