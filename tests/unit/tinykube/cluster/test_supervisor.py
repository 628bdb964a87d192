"""The control-plane node's supervisor: a program that exits is started again, and a
cancelled supervisor stops its program."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import pytest

from tinykube.cluster import supervisor
from tinykube.cluster.supervisor import Program, parse_program, supervise


async def wait_for(condition, what: str, timeout_seconds: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout_seconds):
        while not condition():
            await asyncio.sleep(0.02)


async def test_a_program_that_exits_is_restarted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervisor, "INITIAL_BACKOFF_SECONDS", 0.01)
    runs = tmp_path / "runs"
    task = asyncio.create_task(supervise(Program("once", f"sh -c 'echo run >> {runs}'")))
    await wait_for(lambda: runs.exists() and len(runs.read_text().splitlines()) >= 3, "three runs")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_cancelling_stops_the_program(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    task = asyncio.create_task(supervise(Program("sleeper", f"sh -c 'echo $$ > {pid_file}; exec sleep 600'")))
    await wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), "the program to start")
    pid = int(pid_file.read_text())
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_parse_program() -> None:
    assert parse_program("etcd=etcd --name=a") == Program("etcd", "etcd --name=a")
    with pytest.raises(argparse.ArgumentTypeError):
        parse_program("no-command")
