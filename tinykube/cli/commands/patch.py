"""`tinykube patch TYPE NAME | TYPE/NAME (-p PATCH | --patch-file FILE) [--type strategic|merge|json]`.

The patch may be JSON or YAML. The object is read first so the answer can say
`patched (no change)` when the server's copy did not move (same resourceVersion),
as kubectl does.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/patch/patch.go
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from tinykube.cli.context import CLIContext, CLIError, object_ref, select_objects
from tinykube.client import PatchType


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("patch", help="update fields of a resource")
    parser.add_argument("targets", nargs="+", metavar="TYPE NAME | TYPE/NAME")
    parser.add_argument("-p", "--patch", help="the patch, JSON or YAML")
    parser.add_argument("--patch-file", help="a file holding the patch")
    parser.add_argument("--type", default="strategic", choices=["strategic", "merge", "json"],
                        help="the kind of patch (default strategic)")
    parser.add_argument("--subresource", choices=["status", "scale"],
                        help="patch this subresource instead of the object")
    parser.set_defaults(func=run, intermixed_positionals="targets")


def load_patch(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise CLIError(f"unable to parse {text!r}: {err}") from None


async def run(ctx: CLIContext) -> int:
    args = ctx.args
    if bool(args.patch) == bool(args.patch_file):
        raise CLIError("must specify exactly one of --patch or --patch-file")
    text = args.patch if args.patch else _read(args.patch_file)
    body = load_patch(text)
    if args.type == "json" and not isinstance(body, list):
        raise CLIError("a json patch must be a list of operations")
    if args.type != "json" and not isinstance(body, dict):
        raise CLIError(f"a {args.type} patch must be an object")
    async with ctx.client() as client:
        objects = await select_objects(ctx, client, args.targets)
        for info, obj in objects:
            meta = obj["metadata"]
            before = meta.get("resourceVersion")
            if args.subresource:
                before = (await client.get_subresource(info, meta["name"], args.subresource,
                                                       meta.get("namespace")))["metadata"].get(
                    "resourceVersion")
            result = await client.patch(info, meta["name"], body, patch_type=PatchType(args.type),
                                        namespace=meta.get("namespace"),
                                        subresource=args.subresource)
            unchanged = (result.get("metadata") or {}).get("resourceVersion") == before
            print(f"{object_ref(info, meta['name'])} patched{' (no change)' if unchanged else ''}",
                  file=ctx.out)
    return 0


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as err:
        raise CLIError(f"unable to read {path}: {err.strerror}") from None
