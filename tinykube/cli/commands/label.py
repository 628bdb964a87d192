"""`tinykube label|annotate TYPE NAME key=value key- ... [--overwrite] [-l sel | --all]`.

Both commands compute the new label (or annotation) map, refuse to change an
existing value without `--overwrite`, and send a JSON merge patch of
`metadata.labels` / `metadata.annotations` (a removed key is `null`), optionally
pinned to `--resource-version`. `annotate` reuses everything here.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/label/label.go,
staging/src/k8s.io/kubectl/pkg/cmd/annotate/annotate.go
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from tinykube.cli.context import CLIContext, CLIError, object_ref, select_objects
from tinykube.client import PatchType

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_PREFIX = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
KEY_PATTERN = re.compile(rf"({_PREFIX}/)?{_NAME}")
LABEL_VALUE_PATTERN = re.compile(rf"({_NAME})?")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    add_parser(subparsers, "label", "update the labels on a resource")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], command: str,
               help_text: str) -> None:
    parser = subparsers.add_parser(command, help=help_text)
    parser.add_argument("words", nargs="+", metavar="TYPE NAME | TYPE/NAME ... KEY=VAL ... KEY-")
    parser.add_argument("--overwrite", action="store_true",
                        help="allow changing a value that is already set")
    parser.add_argument("-l", "--selector", help="label selector to filter on")
    parser.add_argument("--all", action="store_true", help="every object of the type")
    parser.add_argument("-A", "--all-namespaces", action="store_true")
    parser.add_argument("--resource-version",
                        help="change the object only if it is still at this resourceVersion")
    parser.add_argument("--list", action="store_true", help=f"print the current {command}s")
    parser.set_defaults(func=run, command_name=command, intermixed_positionals="words")


def parse_changes(words: list[str], labels: bool) -> tuple[list[str], dict[str, str], list[str]]:
    """Split the words into resource arguments, `key=value` settings and `key-` removals."""
    resources: list[str] = []
    settings: dict[str, str] = {}
    removals: list[str] = []
    for word in words:
        if "=" in word:
            key, _, value = word.partition("=")
            if not KEY_PATTERN.fullmatch(key) or (labels and not LABEL_VALUE_PATTERN.fullmatch(value)):
                raise CLIError(f"invalid {'label' if labels else 'annotation'}: {word!r}")
            settings[key] = value
        elif word.endswith("-") and (settings or removals or len(resources) >= 1) and \
                KEY_PATTERN.fullmatch(word[:-1]):
            removals.append(word[:-1])
        elif settings or removals:
            raise CLIError(f"all resources must be specified before {'label' if labels else 'annotation'} "
                           f"changes: {word}")
        else:
            resources.append(word)
    for key in removals:
        if key in settings:
            raise CLIError(f"can not both modify and remove the key {key!r} in the same command")
    return resources, settings, removals


async def run(ctx: CLIContext) -> int:
    args = ctx.args
    labels = args.command_name == "label"
    field = "labels" if labels else "annotations"
    resources, settings, removals = parse_changes(args.words, labels)
    if not (settings or removals or args.list):
        raise CLIError(f"at least one {'label' if labels else 'annotation'} update is required")
    async with ctx.client() as client:
        objects = await select_objects(ctx, client, resources, selector=args.selector,
                                       select_all=args.all, all_namespaces=args.all_namespaces)
        if not objects:
            print(f"No resources found in {ctx.namespace} namespace.", file=ctx.err)
            return 0
        for info, obj in objects:
            meta = obj["metadata"]
            current: dict[str, Any] = dict(meta.get(field) or {})
            if args.list:
                for key, value in sorted(current.items()):
                    print(f"{key}={value}", file=ctx.out)
                continue
            patch_values: dict[str, Any] = {}
            for key, value in settings.items():
                if key in current and current[key] != value and not args.overwrite:
                    raise CLIError(f"'{key}' already has a value ({current[key]}), and "
                                   "--overwrite is false")
                if current.get(key) != value:
                    patch_values[key] = value
            for key in removals:
                if key in current:
                    patch_values[key] = None
                else:
                    print(f'{"label" if labels else "annotation"} "{key}" not found.', file=ctx.err)
            ref = object_ref(info, meta["name"])
            if patch_values or args.resource_version:
                patch: dict[str, Any] = {"metadata": {field: patch_values}}
                if args.resource_version:
                    patch["metadata"]["resourceVersion"] = args.resource_version
                await client.patch(info, meta["name"], patch, patch_type=PatchType.MERGE,
                                   namespace=meta.get("namespace"))
            print(f"{ref} {_verb(labels, patch_values, settings)}", file=ctx.out)
    return 0


def _verb(labels: bool, changed: dict[str, Any], settings: dict[str, str]) -> str:
    if not labels:
        return "annotated"
    if not changed:
        return "not labeled"
    return "labeled" if settings else "unlabeled"
