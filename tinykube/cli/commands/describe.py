"""`tinykube describe TYPE [NAME_PREFIX] | TYPE/NAME ... [-l selector] [-A]`.

A name that matches no object exactly describes every object whose name starts
with it, as kubectl does; without a name, every object in the namespace (or
matching `-l`) is described. Descriptions are separated by two blank lines.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/describe/describe.go
"""

from __future__ import annotations

import argparse
from typing import Any

from tinykube.api.resources import ResourceInfo
from tinykube.cli.context import CLIContext, CLIError, parse_targets
from tinykube.cli.describe import describe_object
from tinykube.client import NotFound, RESTClient

Obj = dict[str, Any]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("describe", help="show details of a resource or group of resources")
    parser.add_argument("targets", nargs="+", metavar="TYPE [NAME_PREFIX] | TYPE/NAME")
    parser.add_argument("-l", "--selector", help="label selector to filter on")
    parser.add_argument("-A", "--all-namespaces", action="store_true",
                        help="describe objects across all namespaces")
    parser.add_argument("--show-events", default="true", choices=["true", "false"],
                        help="show the events of the object (default true)")
    parser.set_defaults(func=run, intermixed_positionals="targets")


async def run(ctx: CLIContext) -> int:
    args = ctx.args
    async with ctx.client() as client:
        objects = await _find(ctx, client)
        if not objects:
            scope = "" if args.all_namespaces else f" in {ctx.namespace} namespace"
            print(f"No resources found{scope}.", file=ctx.err)
            return 0
        texts = [await describe_object(client, info, obj, args.show_events == "true")
                 for info, obj in objects]
    ctx.out.write("\n\n".join(texts))
    return 0


async def _find(ctx: CLIContext, client: RESTClient) -> list[tuple[ResourceInfo, Obj]]:
    args = ctx.args
    found: list[tuple[ResourceInfo, Obj]] = []
    for info, name in parse_targets(ctx, args.targets):
        namespace = None if args.all_namespaces or not info.namespaced else ctx.namespace
        if name is None:
            items, _ = await client.list(info, namespace, label_selector=args.selector)
            found.extend((info, item) for item in items)
            continue
        if args.selector:
            raise CLIError("name cannot be provided when a selector is specified")
        try:
            found.append((info, await client.get(info, name, namespace or ctx.namespace)))
        except NotFound:
            items, _ = await client.list(info, namespace)
            matches = [item for item in items if item["metadata"]["name"].startswith(name)]
            if not matches:
                raise
            found.extend((info, item) for item in matches)
    return found
