"""`tinykube get`: list or fetch objects and print them as tables or documents.

`get TYPE[,TYPE...] [NAME...]`, `get TYPE/NAME ...` and `get all` resolve names
through the resource table (full name, plural, singular or short name). Tables come
from the server (`printers.TABLE_ACCEPT`), fetched 500 rows at a time like kubectl;
the other formats fetch whole objects. `-w` prints the initial rows, then keeps a
watch open from the list's resourceVersion and prints every change as a new row.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/get/get.go
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from dataclasses import dataclass, field
from typing import Any

from tinykube.api.resources import INDEX, ResourceInfo
from tinykube.cli.context import CLIContext, CLIError
from tinykube.cli.printers import (
    TABLE_ACCEPT, ObjectPrinter, PrinterError, TableLayout, TableOptions, format_cell, print_tables,
    render_rows,
)
from tinykube.client import APIStatusError, NotFound, RESTClient

# `get all` lists these, in kubectl's order.
ALL_KINDS = ("pods", "services", "daemonsets", "deployments", "replicasets", "statefulsets",
             "horizontalpodautoscalers")
PAGE_SIZE = 500


@dataclass
class Request:
    """One kind to fetch, with the names asked for (none: list)."""

    info: ResourceInfo
    names: list[str] = field(default_factory=list)


def resolve_requests(ctx: CLIContext, args: list[str]) -> tuple[list[Request], bool]:
    """Turn `deploy,svc web` or `deploy/web svc/x` into requests; whether kinds show."""
    if not args:
        raise CLIError("You must specify the type of resource to get. Use \"tinykube api-resources\" "
                       "for a complete list of supported resources.")
    requests: list[Request] = []
    if any("/" in a for a in args):
        for arg in args:
            kind, sep, name = arg.partition("/")
            if not sep or not name:
                raise CLIError(f"there is no need to specify a resource type as a separate "
                               f"argument when passing arguments in resource/name form (e.g. "
                               f"'tinykube get resource/<resource_name>' instead of 'tinykube get "
                               f"resource resource/<resource_name>'")
            info = ctx.resource(kind)
            existing = next((r for r in requests if r.info == info), None)
            if existing is None:
                requests.append(Request(info, [name]))
            else:
                existing.names.append(name)
        return requests, True
    kinds, names = args[0].split(","), args[1:]
    for kind in kinds:
        if kind == "all":
            requests.extend(Request(i) for p in ALL_KINDS if (i := INDEX.by_name(p)) is not None)
        else:
            requests.append(Request(ctx.resource(kind), list(names)))
    return requests, len(kinds) > 1 or "all" in kinds


def target_namespace(ctx: CLIContext, info: ResourceInfo) -> str | None:
    if not info.namespaced or ctx.args.all_namespaces:
        return None
    return ctx.namespace


async def fetch_table(client: RESTClient, info: ResourceInfo, namespace: str | None,
                      args: argparse.Namespace) -> dict[str, Any]:
    """A whole list as one Table, following `continue` pages."""
    headers = {"Accept": TABLE_ACCEPT}
    table: dict[str, Any] = {}
    token: str | None = None
    while True:
        page = await client.request("GET", client.path(info, namespace), headers=headers, params={
            "labelSelector": args.selector, "fieldSelector": args.field_selector,
            "limit": PAGE_SIZE, "continue": token})
        if not table:
            table = page
        else:
            table["rows"].extend(page.get("rows") or [])
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            table.setdefault("rows", [])
            return table


async def get_one_table(client: RESTClient, info: ResourceInfo, name: str,
                        namespace: str | None) -> dict[str, Any]:
    table: dict[str, Any] = await client.request(
        "GET", client.path(info, namespace or None, name), headers={"Accept": TABLE_ACCEPT})
    return table


def report_missing(ctx: CLIContext, err: APIStatusError) -> None:
    print(f"Error from server ({err.reason}): {err.message}", file=ctx.err)


async def run_tables(ctx: CLIContext, client: RESTClient, requests: list[Request],
                     options: TableOptions) -> tuple[int, int, list[tuple[ResourceInfo, dict[str, Any]]]]:
    tables: list[tuple[ResourceInfo, dict[str, Any]]] = []
    failures = 0
    for request in requests:
        namespace = target_namespace(ctx, request.info)
        if not request.names:
            tables.append((request.info, await fetch_table(client, request.info, namespace, ctx.args)))
            continue
        merged: dict[str, Any] = {}
        for name in request.names:
            try:
                table = await get_one_table(client, request.info, name, namespace or ctx.namespace)
            except NotFound as err:
                if not ctx.args.ignore_not_found:
                    report_missing(ctx, err)
                    failures += 1
                continue
            if not merged:
                merged = table
            else:
                merged["rows"].extend(table.get("rows") or [])
        if merged:
            tables.append((request.info, merged))
    printed = print_tables(tables, options, ctx.out)
    return printed, failures, tables


async def run_objects(ctx: CLIContext, client: RESTClient, requests: list[Request],
                      printer: ObjectPrinter) -> tuple[int, int, str]:
    objects: list[tuple[ResourceInfo, dict[str, Any]]] = []
    failures = 0
    resource_version = ""
    for request in requests:
        namespace = target_namespace(ctx, request.info)
        if not request.names:
            items, resource_version = await client.list(
                request.info, namespace, label_selector=ctx.args.selector,
                field_selector=ctx.args.field_selector, limit=PAGE_SIZE)
            objects.extend((request.info, item) for item in items)
            continue
        for name in request.names:
            try:
                obj = await client.get(request.info, name, namespace or ctx.namespace)
            except NotFound as err:
                if not ctx.args.ignore_not_found:
                    report_missing(ctx, err)
                    failures += 1
                continue
            obj.setdefault("apiVersion", request.info.api_version)
            obj.setdefault("kind", request.info.kind)
            objects.append((request.info, obj))
            resource_version = str((obj.get("metadata") or {}).get("resourceVersion") or "")
    single = len(requests) == 1 and len(requests[0].names) == 1
    if objects or (not single and not failures and printer.format in ("yaml", "json", "jsonpath")):
        ctx.out.write(printer.render(objects, single))
    return len(objects), failures, resource_version


def no_resources_message(ctx: CLIContext, requests: list[Request]) -> str:
    if ctx.args.all_namespaces or not any(r.info.namespaced for r in requests):
        return "No resources found"
    return f"No resources found in {ctx.namespace} namespace."


class RowStream:
    """Prints watch rows aligned with the columns already on screen."""

    def __init__(self, widths: list[int]) -> None:
        self.widths = widths

    def line(self, cells: list[str]) -> str:
        for i, cell in enumerate(cells[:-1]):
            if i >= len(self.widths):
                self.widths.append(0)
            self.widths[i] = max(self.widths[i], len(cell))
        padded = [cell.ljust(self.widths[i] + 3) for i, cell in enumerate(cells[:-1])]
        return "".join(padded) + (cells[-1] if cells else "")


def column_widths(rows: list[list[str]]) -> list[int]:
    widths: list[int] = []
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            if i >= len(widths):
                widths.append(0)
            widths[i] = max(widths[i], len(cell))
    return widths


async def watch(ctx: CLIContext, client: RESTClient, request: Request, resource_version: str,
                table: dict[str, Any] | None, options: TableOptions,
                printer: ObjectPrinter | None) -> None:
    """Stream changes as new rows (tables) or new documents until interrupted."""
    namespace = target_namespace(ctx, request.info)
    field_selector = ctx.args.field_selector
    if request.names:
        field_selector = ",".join(filter(None, [field_selector, f"metadata.name={request.names[0]}"]))
    layout, stream = None, None
    if printer is None:
        definitions = (table or {}).get("columnDefinitions") or []
        layout = TableLayout(request.info, definitions, options)
        shown = layout.rows(table or {"rows": []})
        stream = RowStream(column_widths(shown))
    events = client.watch(request.info, namespace, resource_version=resource_version or None,
                          label_selector=ctx.args.selector, field_selector=field_selector or None,
                          allow_bookmarks=False,
                          headers={"Accept": TABLE_ACCEPT} if printer is None else None)
    async with contextlib.aclosing(events):
        async for event in events:
            if event.type not in ("ADDED", "MODIFIED", "DELETED"):
                continue
            obj = event.object
            if printer is not None:
                ctx.out.write(printer.render([(request.info, obj)], True))
            else:
                assert layout is not None and stream is not None
                if not layout.definitions and obj.get("columnDefinitions"):
                    layout = TableLayout(request.info, obj["columnDefinitions"], options)
                    ctx.out.write(stream.line(layout.header()) + "\n")
                for row in obj.get("rows") or []:
                    ctx.out.write(stream.line(layout.row(row)) + "\n")
            ctx.out.flush()


async def run(ctx: CLIContext) -> int:
    args = ctx.args
    requests, show_kind = resolve_requests(ctx, args.resources)
    output = args.output or ""
    printer: ObjectPrinter | None = None
    if output not in ("", "wide"):
        try:
            printer = ObjectPrinter(output, no_headers=args.no_headers)
        except PrinterError as err:
            raise CLIError(str(err)) from None
    if args.watch and len(requests) != 1:
        raise CLIError("you may only specify a single resource type")
    options = TableOptions(wide=output == "wide", show_kind=show_kind, no_headers=args.no_headers,
                           show_labels=args.show_labels,
                           show_namespace=bool(args.all_namespaces))
    async with ctx.client() as client:
        table: dict[str, Any] | None = None
        if printer is None:
            if args.watch_only:
                printed, failures, tables = 0, 0, []
                table = await fetch_table(client, requests[0].info,
                                          target_namespace(ctx, requests[0].info), args)
                table["rows"] = []
            else:
                printed, failures, tables = await run_tables(ctx, client, requests, options)
                table = tables[0][1] if tables else None
            resource_version = str(((table or {}).get("metadata") or {}).get("resourceVersion") or "")
        else:
            printed, failures, resource_version = await run_objects(ctx, client, requests, printer)
        quiet = args.watch_only or (printer is not None and printer.format != "name")
        if not printed and not failures and not any(r.names for r in requests) and not quiet:
            print(no_resources_message(ctx, requests), file=ctx.err)
        ctx.out.flush()
        if args.watch or args.watch_only:
            await watch(ctx, client, requests[0], resource_version, table, options, printer)
    return 1 if failures else 0


def add_selector_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-l", "--selector", help="label selector (e.g. -l app=web,tier!=db)")
    parser.add_argument("--field-selector", help="field selector (e.g. metadata.name=web)")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("get", help="display one or many resources",
                                   description=sys.modules[__name__].__doc__.splitlines()[0])
    parser.add_argument("resources", nargs="*", metavar="TYPE[,TYPE...] [NAME...] | TYPE/NAME")
    parser.add_argument("-o", "--output",
                        help="wide|yaml|json|name|jsonpath=TEMPLATE|custom-columns=SPEC")
    add_selector_flags(parser)
    parser.add_argument("-A", "--all-namespaces", action="store_true",
                        help="list across all namespaces")
    parser.add_argument("-w", "--watch", action="store_true",
                        help="after listing, watch for changes")
    parser.add_argument("--watch-only", action="store_true",
                        help="watch for changes without listing first")
    parser.add_argument("--show-labels", action="store_true", help="add a LABELS column")
    parser.add_argument("--no-headers", action="store_true", help="omit column headers")
    parser.add_argument("--ignore-not-found", action="store_true",
                        help="treat a missing named object as no output")
    parser.set_defaults(func=run, intermixed_positionals="resources")


__all__ = ["add_selector_flags", "format_cell", "register", "render_rows", "run"]
