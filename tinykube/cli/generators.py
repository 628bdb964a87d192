"""What the commands that generate an object from another share (`expose`, `autoscale`):
the `TYPE NAME` / `TYPE/NAME` argument, `-o` and the one-line report.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/util (resource builder
arguments), staging/src/k8s.io/cli-runtime/pkg/printers (the "created" line)
"""

from __future__ import annotations

import argparse
from typing import Any

from tinykube.api.resources import ResourceInfo
from tinykube.cli.context import CLIContext, CLIError
from tinykube.cli.printers import ObjectPrinter, PrinterError


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("resource", metavar="TYPE[/NAME]")
    parser.add_argument("name", nargs="?")


def target_of(args: argparse.Namespace, usage: str) -> tuple[str, str]:
    """(type, name) from `TYPE NAME` or `TYPE/NAME`; `usage` is shown when NAME is missing."""
    kind, sep, name = args.resource.partition("/")
    if not sep:
        if not args.name:
            raise CLIError(f"you must provide a name: {usage}")
        name = args.name
    return kind, name


def output_printer(output: str | None) -> ObjectPrinter | None:
    if not output:
        return None
    try:
        return ObjectPrinter(output)
    except PrinterError as err:
        raise CLIError(str(err)) from None


def report(ctx: CLIContext, printer: ObjectPrinter | None, info: ResourceInfo, obj: dict[str, Any], done: str,
           dry_run: str | None) -> None:
    """The object under `-o`, else `<resource>/<name> <done>` (plus " (dry run)")."""
    if printer is not None:
        ctx.out.write(printer.render([(info, obj)], True))
        return
    suffix = " (dry run)" if dry_run == "client" else ""
    label = f"{info.kind.lower()}.{info.group}" if info.group else info.kind.lower()
    print(f"{label}/{obj['metadata']['name']} {done}{suffix}", file=ctx.out)
