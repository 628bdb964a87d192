"""`tinykube trace TYPE/NAME [-n NS] [--follow] [-o json] [--settle 3s] [-- COMMAND ARGS...]`.

Watches the API server's flow log (`flow.tinykube.io/v1alpha1/flowrecords`) for
the causal chain rooted at one object — its own writes, its descendants' by
owner reference (Deployment -> ReplicaSet -> Pods), and every watch delivery of
them — and prints it live. With a COMMAND, the command starts once the flow
watch is on (the server's first BOOKMARK says so); the trace ends when the
command has ended and the chain has been quiet for `--settle`, or, with
`--follow`, on Ctrl-C. The exit code is the command's.

The chain is known by uid up front when the object exists (it and its current
descendants: the server filters with `?uids=`), else by name until its first
write. Only the API is used, so it works against any tinykube cluster.

Kubernetes counterpart: none (tinykube's own command); reading a watch stream
as kubectl's `get --watch` does, staging/src/k8s.io/kubectl/pkg/cmd/get/get.go
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from typing import Any, TextIO

from tinykube.api.resources import INDEX, PODS, REPLICA_SETS
from tinykube.cli.context import CLIContext, CLIError, parse_targets
from tinykube.cli.trace_render import Renderer
from tinykube.client import Gone, NotFound, RESTClient, TransportError
from tinykube.client.errors import error_from_status
from tinykube.component import duration
from tinykube.flow.chain import API_VERSION, ChainFilter
from tinykube.flow.order import WritesFirst

FLOW_RECORDS_PATH = f"/apis/{API_VERSION}/flowrecords"
# Kinds whose objects a root may own, parents before children (Jobs once served).
DESCENDANT_KINDS = tuple(info for info in (INDEX.by_name("jobs.batch"), REPLICA_SETS, PODS)
                         if info is not None)
RECONNECT_SECONDS = 1.0
HOLD_SECONDS = 1.0  # how long a delivery waits for its write to be printed first


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "trace", help="show, live, the writes and watch events that follow from an object",
        usage="tinykube trace TYPE/NAME [-n NS] [-f] [-o json] [--settle 3s] [-- COMMAND ARGS...]")
    # One word: a second positional would take the first word of `-- COMMAND`.
    parser.add_argument("target", metavar="TYPE/NAME")
    parser.add_argument("-f", "--follow", action="store_true",
                        help="keep tracing until Ctrl-C")
    parser.add_argument("-o", "--output", choices=["json"], help="json: one record per line")
    parser.add_argument("--settle", type=duration, default=3.0,
                        help="end after the chain has been quiet this long (default 3s)")
    parser.set_defaults(func=run, takes_extra_args=True, extra_args=[])


async def descendants(client: RESTClient, namespace: str, root_uid: str) -> set[str]:
    """The uids of the root and of what it owns now, down the owner references."""
    uids = {root_uid}
    for info in DESCENDANT_KINDS:
        items, _ = await client.list(info, namespace)
        for item in items:
            refs = (item.get("metadata") or {}).get("ownerReferences") or ()
            if any(ref.get("uid") in uids for ref in refs):
                uids.add(item["metadata"]["uid"])
    return uids


async def _lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[dict[str, Any]]:
    buffer = b""
    async for chunk in chunks:
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if line.strip():
                yield json.loads(line)


class Tracer:
    """Follows the flow watch, prints what belongs to the chain, notes the last time."""

    def __init__(self, ctx: CLIContext, client: RESTClient, chain: ChainFilter) -> None:
        self.ctx = ctx
        self.client = client
        self.chain = chain
        colour = ctx.out.isatty() and not os.environ.get("NO_COLOR")
        self.renderer = Renderer(colour)
        self.json = ctx.args.output == "json"
        self.watching = asyncio.Event()
        self.last_activity = time.monotonic()
        self.cursor: str | None = None
        self.order = WritesFirst(HOLD_SECONDS)

    def show(self, record: dict[str, Any]) -> None:
        """Print a record of the chain, each delivery after its write (WritesFirst)."""
        if not self.chain.matches(record):
            self._release(False)
            return
        self.last_activity = time.monotonic()
        for shown in self.order.push(record):
            self.print(shown)

    def _release(self, everything: bool) -> None:
        for delivery in self.order.due(everything):
            self.print(delivery)

    def print(self, record: dict[str, Any]) -> None:
        text = json.dumps(record, separators=(",", ":")) if self.json else self.renderer.line(record)
        print(text, file=self.ctx.out, flush=True)

    async def follow(self) -> None:
        while True:
            params = {"watch": "true", "resourceVersion": self.cursor,
                      "uids": ",".join(sorted(self.chain.uids)) or None}
            try:
                async for event in _lines(self.client.stream(FLOW_RECORDS_PATH, params)):
                    kind, obj = event.get("type"), event.get("object") or {}
                    if kind == "ERROR":
                        raise error_from_status(obj)
                    self.cursor = (obj.get("metadata") or {}).get("resourceVersion") or self.cursor
                    if kind == "BOOKMARK":
                        self.watching.set()
                    else:
                        self.show(obj)
            except Gone:
                self.ctx.print_warning("the flow log moved past this trace; records were missed")
                self.cursor = None
            except TransportError:
                if not self.watching.is_set():
                    raise
                await asyncio.sleep(RECONNECT_SECONDS)

    async def quiet(self, settle_seconds: float) -> None:
        """Returns once nothing of the chain has been seen for `settle_seconds`."""
        self.last_activity = max(self.last_activity, time.monotonic())
        while (left := self.last_activity + settle_seconds - time.monotonic()) > 0:
            await asyncio.sleep(left)
        self._release(True)


async def _run_command(argv: list[str], out: TextIO) -> int:
    """Run the command, relaying its output a whole line at a time to `out`, so
    it never splits a trace line."""
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    except OSError as err:
        raise CLIError(f"cannot run {argv[0]}: {err}") from err
    assert process.stdout is not None
    async for line in process.stdout:
        print(line.decode(errors="replace").rstrip("\n"), file=out, flush=True)
    return await process.wait()


async def run(ctx: CLIContext) -> int:
    args = ctx.args
    if "/" not in args.target:
        raise CLIError("trace takes one object as TYPE/NAME (deployment/web)")
    targets = parse_targets(ctx, [args.target])
    info, name = targets[0]
    assert name is not None
    namespace = ctx.namespace if info.namespaced else ""
    async with ctx.client() as client:
        chain = ChainFilter(root=(info.plural, namespace, name))
        try:
            root = await client.get(info, name, namespace or None)
            uid = root["metadata"]["uid"]
            chain.uids = await descendants(client, namespace, uid) if namespace else {uid}
        except NotFound:
            if not args.extra_args and not args.follow:
                raise
        tracer = Tracer(ctx, client, chain)
        watch = asyncio.create_task(tracer.follow())
        started = asyncio.create_task(tracer.watching.wait())
        try:
            await asyncio.wait([watch, started], return_when=asyncio.FIRST_COMPLETED)
            if watch.done():
                watch.result()  # raises what ended it
            # With -o json, stdout is records only: the command's output goes to stderr.
            command_out = ctx.err if tracer.json else ctx.out
            code = await _run_command(args.extra_args, command_out) if args.extra_args else 0
            if args.follow:
                await watch
            await tracer.quiet(args.settle)
            return code
        finally:
            for task in (watch, started):
                task.cancel()
            await asyncio.gather(watch, started, return_exceptions=True)
