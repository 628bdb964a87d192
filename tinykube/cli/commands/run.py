"""`tinykube run NAME --image=IMG`: create one bare Pod, like `kubectl run`.

The pod is labelled `run=NAME` and its single container is called NAME; arguments
after `--` become the container's args (or its command with `--command`).

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/run/run.go
"""

from __future__ import annotations

import argparse
from typing import Any

from tinykube.cli.commands.create import add_output_flags, create_objects
from tinykube.cli.context import CLIContext, CLIError


def parse_pairs(values: list[str], what: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        for item in value.split(",") if what == "labels" else [value]:
            key, sep, val = item.partition("=")
            if not sep or not key:
                raise CLIError(f"invalid {what} {item!r}, expected key=value")
            pairs[key] = val
    return pairs


def build_pod(args: argparse.Namespace) -> dict[str, Any]:
    if not args.image:
        raise CLIError("required flag(s) \"image\" not set")
    labels = parse_pairs(args.labels or [], "labels") or {"run": args.name}
    container: dict[str, Any] = {"name": args.name, "image": args.image}
    extra = list(getattr(args, "extra_args", []) or [])
    if extra:
        container["command" if args.command else "args"] = extra
    if args.port is not None:
        container["ports"] = [{"containerPort": args.port}]
    env = parse_pairs(args.env or [], "env")
    if env:
        container["env"] = [{"name": k, "value": v} for k, v in env.items()]
    if args.image_pull_policy:
        container["imagePullPolicy"] = args.image_pull_policy
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": args.name, "labels": labels},
            "spec": {"containers": [container], "restartPolicy": args.restart}}


async def run(ctx: CLIContext) -> int:
    return await create_objects(ctx, [(build_pod(ctx.args), None)])


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("run", help="run a particular image in a pod",
                                   usage="tinykube run NAME --image=IMAGE [options] [-- ARG...]",
                                   description="Create a bare Pod running IMAGE.")
    parser.add_argument("name")
    parser.add_argument("--image", help="the container image")
    parser.add_argument("--port", type=int, help="the port the container exposes")
    parser.add_argument("-l", "--labels", action="append", help="k=v[,k=v] (default run=NAME)")
    parser.add_argument("--env", action="append", help="K=V environment variable (repeatable)")
    parser.add_argument("--restart", default="Always", choices=("Always", "OnFailure", "Never"))
    parser.add_argument("--image-pull-policy", choices=("Always", "IfNotPresent", "Never"))
    parser.add_argument("--command", action="store_true",
                        help="the arguments after -- are the command, not args")
    add_output_flags(parser)
    parser.set_defaults(func=run, takes_extra_args=True)
