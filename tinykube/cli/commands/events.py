"""`tinykube events [--for TYPE/NAME] [--types=Warning,Normal] [-A] [-w]`.

Lists core/v1 Events oldest first with kubectl's columns
LAST SEEN, TYPE, REASON, OBJECT, MESSAGE (NAMESPACE first with `-A`). `--for`
narrows to one object by field selector on involvedObject; `-w` prints the list
and then each new or changed event as it arrives.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/events/events.go,
staging/src/k8s.io/kubectl/pkg/cmd/events/event_printer.go
"""

from __future__ import annotations

import argparse
import contextlib
from typing import Any

from tinykube.cli.context import CLIContext, CLIError
from tinykube.cli.describe.events import EVENTS, interval, sort_key
from tinykube.cli.describe.format import align_tabs
from tinykube.client import Gone

Obj = dict[str, Any]
HEADERS = ("LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("events", help="list events")
    parser.add_argument("--for", dest="for_", metavar="TYPE/NAME",
                        help="only the events about this object")
    parser.add_argument("--types", default="", help="comma-separated event types (Normal,Warning)")
    parser.add_argument("-A", "--all-namespaces", action="store_true")
    parser.add_argument("-w", "--watch", action="store_true", help="stream new events")
    parser.add_argument("--no-headers", action="store_true")
    parser.set_defaults(func=run)


def row(event: Obj, all_namespaces: bool) -> str:
    involved = event.get("involvedObject") or {}
    cells = [interval(event), str(event.get("type", "")), str(event.get("reason", "")),
             f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
             str(event.get("message", "")).strip()]
    if all_namespaces:
        cells.insert(0, (event.get("metadata") or {}).get("namespace", ""))
    return "\t".join(cells)


def table(lines: list[str]) -> str:
    return align_tabs("\n".join(lines), padding=3, min_width=6)


async def run(ctx: CLIContext) -> int:
    args = ctx.args
    types = {t.strip().lower() for t in args.types.split(",") if t.strip()}
    for name in types - {"normal", "warning"}:
        raise CLIError(f"valid --types are Normal or Warning, not {name!r}")
    field_selector = None
    if args.for_:
        kind, _, name = args.for_.partition("/")
        if not name:
            raise CLIError("--for must be in resource/name form")
        field_selector = f"involvedObject.kind={ctx.resource(kind).kind},involvedObject.name={name}"
    namespace = None if args.all_namespaces else ctx.namespace

    def wanted(event: Obj) -> bool:
        return not types or str(event.get("type", "")).lower() in types

    header = ("NAMESPACE\t" if args.all_namespaces else "") + "\t".join(HEADERS)
    async with ctx.client() as client:
        items, resource_version = await client.list(EVENTS, namespace, field_selector=field_selector)
        events = sorted(filter(wanted, items), key=sort_key)
        if events:
            lines = ([] if args.no_headers else [header]) + [row(e, args.all_namespaces) for e in events]
            print(table(lines), file=ctx.out, flush=True)
        elif not args.watch:
            where = "" if args.all_namespaces else f" in {ctx.namespace} namespace"
            print(f"No events found{where}.", file=ctx.err)
            return 0
        if not args.watch:
            return 0
        printed_header = bool(events) or args.no_headers
        while True:
            with contextlib.suppress(Gone):
                async with contextlib.aclosing(client.watch(
                        EVENTS, namespace, resource_version=resource_version,
                        field_selector=field_selector)) as stream:
                    async for event in stream:
                        resource_version = (event.object.get("metadata") or {}).get(
                            "resourceVersion", resource_version)
                        if event.type not in ("ADDED", "MODIFIED") or not wanted(event.object):
                            continue
                        lines = [row(event.object, args.all_namespaces)]
                        if not printed_header:
                            lines.insert(0, header)
                            printed_header = True
                        print(table(lines), file=ctx.out, flush=True)
                    continue
            _, resource_version = await client.list(EVENTS, namespace, field_selector=field_selector)
