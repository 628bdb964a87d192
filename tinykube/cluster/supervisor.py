"""`python -m tinykube.cluster.supervisor`: the processes of one control-plane node.

An HA compose cluster's control-plane container (cp-1, cp-2, ...) is a machine of
its own running etcd, an API server, a controller manager and a scheduler, as a
kubeadm control-plane node runs them as static pods. This supervisor is that
node's kubelet for them: it starts each `--run NAME=COMMAND` (a shell command, in
order), restarts one that exits after a back-off (1 s doubling to 10 s, reset after
a minute up), prefixes each output line with its name, and on SIGTERM stops every
child (SIGTERM, then SIGKILL after a grace period) in reverse order.

    python -m tinykube.cluster.supervisor --run "etcd=etcd --name=cp-1 ..." \
        --run "apiserver=python -m apiserver ..."

Kubernetes counterpart: pkg/kubelet/config/file.go (static pods), the kubelet's restart back-off
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import dataclass

from tinykube.component import component_parser, run_until_signalled

log = logging.getLogger("supervisor")

INITIAL_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 10.0
HEALTHY_RUN_SECONDS = 60.0  # a child up this long starts its back-off afresh
STOP_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class Program:
    name: str
    command: str


def parse_program(text: str) -> Program:
    name, sep, command = text.partition("=")
    if not sep or not name or not command.strip():
        raise argparse.ArgumentTypeError(f"want NAME=COMMAND, got {text!r}")
    return Program(name, command)


async def _copy_output(name: str, stream: asyncio.StreamReader) -> None:
    while line := await stream.readline():
        sys.stdout.write(f"[{name}] {line.decode(errors='replace')}")
        sys.stdout.flush()


async def supervise(program: Program) -> None:
    """Run `program` forever, restarting it with back-off; on cancel, stop it."""
    backoff = INITIAL_BACKOFF_SECONDS
    loop = asyncio.get_running_loop()
    while True:
        process = await asyncio.create_subprocess_shell(
            f"exec {program.command}", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        assert process.stdout is not None
        copier = asyncio.create_task(_copy_output(program.name, process.stdout))
        started = loop.time()
        log.info("started program=%s pid=%d", program.name, process.pid)
        try:
            code = await process.wait()
        except asyncio.CancelledError:
            await _stop(process)
            await copier
            raise
        await copier
        if loop.time() - started >= HEALTHY_RUN_SECONDS:
            backoff = INITIAL_BACKOFF_SECONDS
        log.warning("exited program=%s code=%s restart_in=%.0fs", program.name, code, backoff)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), STOP_GRACE_SECONDS)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()


async def run(programs: list[Program], stopping: asyncio.Event) -> int:
    tasks = [asyncio.create_task(supervise(p), name=p.name) for p in programs]
    try:
        await asyncio.gather(*tasks)
        return 1
    finally:
        for task in reversed(tasks):  # the API server stops before its etcd
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def main(argv: list[str] | None = None) -> None:
    parser = component_parser("python -m tinykube.cluster.supervisor", __doc__)
    parser.add_argument("--run", type=parse_program, action="append", required=True,
                        metavar="NAME=COMMAND", help="a program to keep running (repeatable, in order)")
    args = parser.parse_args(argv)
    sys.exit(run_until_signalled(lambda stopping: run(args.run, stopping), verbosity=args.v))


if __name__ == "__main__":
    main()
