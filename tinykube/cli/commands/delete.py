"""`tinykube delete`: delete objects by name, from files, by label, or all of a kind.

Each DELETE carries DeleteOptions (`propagationPolicy` from `--cascade`,
`gracePeriodSeconds` from `--grace-period`/`--force`). Unless `--wait=false`, the
command then waits like kubectl: GET the object; a 404 means gone, otherwise list
and watch it by `fieldSelector=metadata.name=<name>` until a DELETED event (or
the name comes back with a different UID, i.e. someone recreated it).

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/delete/delete.go
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from tinykube.api.resources import ResourceInfo
from tinykube.cli.commands.apply import add_file_flags, load, resource_for
from tinykube.cli.commands.get import add_selector_flags, resolve_requests
from tinykube.cli.context import CLIContext, CLIError
from tinykube.cli.printers import kind_prefix
from tinykube.client import APIStatusError, NotFound, RESTClient
from tinykube.component import duration

CASCADE = {"background": "Background", "foreground": "Foreground", "orphan": "Orphan",
           "true": "Background", "false": "Orphan"}


@dataclass
class Target:
    info: ResourceInfo
    namespace: str | None
    name: str
    source: str | None = None  # the file it came from, for messages


def parse_bool(value: str) -> bool:
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean value {value!r}")


def describe(target: Target) -> str:
    return f'{kind_prefix(target.info)} "{target.name}"'


async def collect_targets(ctx: CLIContext, client: RESTClient) -> list[Target]:
    args = ctx.args
    if args.filename:
        targets = []
        for manifest in load(ctx):
            info = resource_for(manifest, ctx)
            metadata = manifest.obj.get("metadata") or {}
            namespace = (metadata.get("namespace") or ctx.namespace) if info.namespaced else None
            targets.append(Target(info, namespace, str(metadata.get("name")), manifest.source))
        return targets
    requests, _ = resolve_requests(ctx, args.resources)
    targets = []
    for request in requests:
        namespace = None if not request.info.namespaced else (
            None if args.all_namespaces else ctx.namespace)
        if request.names:
            if args.all or args.selector:
                raise CLIError("names cannot be provided when a selector is specified")
            targets.extend(Target(request.info, namespace or ctx.namespace if request.info.namespaced
                                  else None, name) for name in request.names)
            continue
        if not (args.all or args.selector or args.field_selector):
            raise CLIError("resource(s) were provided, but no name was specified")
        items, _ = await client.list(request.info, namespace, label_selector=args.selector,
                                     field_selector=args.field_selector)
        targets.extend(Target(request.info, (i.get("metadata") or {}).get("namespace"),
                              str(i["metadata"]["name"])) for i in items)
    return targets


async def wait_for_deletion(client: RESTClient, target: Target, uid: str | None) -> None:
    """Return once the object is gone (or replaced by one with another UID)."""
    selector = f"metadata.name={target.name}"
    while True:
        try:
            live = await client.get(target.info, target.name, target.namespace)
        except NotFound:
            return
        if uid and (live.get("metadata") or {}).get("uid") != uid:
            return
        items, resource_version = await client.list(target.info, target.namespace,
                                                    field_selector=selector)
        if not items or uid and items[0]["metadata"].get("uid") != uid:
            return
        events = client.watch(target.info, target.namespace, resource_version=resource_version,
                              field_selector=selector)
        async with contextlib.aclosing(events):
            async for event in events:
                metadata = event.object.get("metadata") or {}
                if event.type == "DELETED" or uid and metadata.get("uid") not in (None, uid):
                    return


async def run(ctx: CLIContext) -> int:
    args = ctx.args
    grace = args.grace_period
    if args.force:
        grace = 0 if grace < 0 else grace
        print("Warning: Immediate deletion does not wait for confirmation that the running "
              "resource has been terminated. The resource may continue to run on the cluster "
              "indefinitely.", file=ctx.err)
    elif args.now:
        grace = 1
    policy = CASCADE.get(args.cascade.lower())
    if policy is None:
        raise CLIError(f'invalid cascade value ({args.cascade}). Must be "background", '
                       '"foreground", or "orphan"')
    failures = 0
    async with ctx.client() as client:
        targets = await collect_targets(ctx, client)
        if not targets and not args.filename:
            print("No resources found", file=ctx.err)
            return 0
        deleted: list[tuple[Target, str | None]] = []
        for target in targets:
            try:
                result: dict[str, Any] = await client.delete(
                    target.info, target.name, target.namespace,
                    grace_period_seconds=None if grace < 0 else grace, propagation_policy=policy)
            except APIStatusError as err:
                if isinstance(err, NotFound) and args.ignore_not_found:
                    continue
                if err.code == 401:
                    raise
                where = f'error when deleting "{target.source}": ' if target.source else ""
                print(f"Error from server ({err.reason}): {where}{err.message}", file=ctx.err)
                failures += 1
                continue
            uid = (result.get("metadata") or {}).get("uid") if result.get("kind") != "Status" else None
            print(f"{describe(target)} deleted", file=ctx.out)
            ctx.out.flush()
            deleted.append((target, uid))
        if args.wait and deleted:
            waits = [wait_for_deletion(client, target, uid) for target, uid in deleted]
            try:
                await asyncio.wait_for(asyncio.gather(*waits), timeout=args.timeout or None)
            except TimeoutError:
                raise CLIError(f"timed out waiting for the condition after {args.timeout:g}s") from None
    return 1 if failures else 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("delete", help="delete resources by name, file, label or --all",
                                   description="Delete objects and wait until they are gone.")
    parser.add_argument("resources", nargs="*", metavar="TYPE [NAME...] | TYPE/NAME")
    add_file_flags(parser, "delete")
    add_selector_flags(parser)
    parser.add_argument("--all", action="store_true", help="delete every object of the kind")
    parser.add_argument("-A", "--all-namespaces", action="store_true",
                        help="with -l or --all, across all namespaces")
    parser.add_argument("--wait", type=parse_bool, nargs="?", const=True, default=True,
                        metavar="true|false", help="wait until the objects are gone (default true)")
    parser.add_argument("--timeout", type=duration, default=0.0,
                        help="how long to wait for deletion, e.g. 30s, 2m (0: forever)")
    parser.add_argument("--grace-period", type=int, default=-1,
                        help="seconds the object has to shut down (-1: its own default)")
    parser.add_argument("--force", action="store_true",
                        help="delete immediately (grace period 0)")
    parser.add_argument("--now", action="store_true", help="grace period of 1 second")
    parser.add_argument("--ignore-not-found", action="store_true",
                        help="a missing object is not an error")
    parser.add_argument("--cascade", default="background",
                        help="background|foreground|orphan: what happens to dependents")
    parser.set_defaults(func=run, intermixed_positionals="resources")
