"""`tinykube scale TYPE NAME | TYPE/NAME --replicas=N [--current-replicas=M] [-l sel | --all]`.

Scaling goes through the `scale` subresource with a JSON merge patch of
`spec.replicas`, as kubectl sends it. `--current-replicas` and `--resource-version`
are preconditions checked against the Scale read first.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/scale/scale.go,
staging/src/k8s.io/kubectl/pkg/scale/scale.go
"""

from __future__ import annotations

import argparse
from typing import Any

from tinykube.cli.context import CLIContext, CLIError, object_ref, select_objects
from tinykube.client import PatchType


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("scale", help="set a new size for a deployment, replica set "
                                                  "or stateful set")
    parser.add_argument("targets", nargs="+", metavar="TYPE NAME | TYPE/NAME")
    parser.add_argument("--replicas", type=int, required=True, help="the new number of replicas")
    parser.add_argument("--current-replicas", type=int, default=-1,
                        help="precondition: scale only if the current size is this")
    parser.add_argument("--resource-version",
                        help="precondition: scale only if the object is at this resourceVersion")
    parser.add_argument("-l", "--selector", help="label selector to filter on")
    parser.add_argument("--all", action="store_true", help="every object of the type")
    parser.set_defaults(func=run, intermixed_positionals="targets")


async def run(ctx: CLIContext) -> int:
    args = ctx.args
    if args.replicas < 0:
        raise CLIError("The --replicas=COUNT flag is required, and COUNT must be greater than "
                       "or equal to 0")
    async with ctx.client() as client:
        objects = await select_objects(ctx, client, args.targets, selector=args.selector,
                                       select_all=args.all)
        if not objects:
            print(f"No resources found in {ctx.namespace} namespace.", file=ctx.err)
            return 0
        for info, obj in objects:
            if "scale" not in info.subresources:
                raise CLIError(f"cannot scale {info.group_resource}: it has no scale subresource")
            meta = obj["metadata"]
            if args.current_replicas >= 0 or args.resource_version:
                scale = await client.get_subresource(info, meta["name"], "scale", meta.get("namespace"))
                replicas = (scale.get("spec") or {}).get("replicas", 0)
                if args.current_replicas >= 0 and replicas != args.current_replicas:
                    raise CLIError(f"Expected replicas to be {args.current_replicas}, was {replicas}")
                actual = (scale.get("metadata") or {}).get("resourceVersion")
                if args.resource_version and actual != args.resource_version:
                    raise CLIError(f"Expected resourceVersion to be {args.resource_version}, "
                                   f"was {actual}")
            patch: dict[str, Any] = {"spec": {"replicas": args.replicas}}
            if args.resource_version:
                patch["metadata"] = {"resourceVersion": args.resource_version}
            await client.patch(info, meta["name"], patch, patch_type=PatchType.MERGE,
                               namespace=meta.get("namespace"), subresource="scale")
            print(f"{object_ref(info, meta['name'])} scaled", file=ctx.out)
    return 0
