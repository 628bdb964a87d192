"""Printing objects: server-side tables and `-o yaml|json|name|jsonpath=|custom-columns=`.

Like kubectl 1.32, tinykube has no per-kind columns of its own: `get` asks the API
server for a `meta.k8s.io/v1 Table` (`TABLE_ACCEPT`) and lays its rows out with
kubectl's tab writer (columns padded to the widest cell plus three spaces, headers
upper-cased). Priority-1 columns appear only with `-o wide`; `-A` adds NAMESPACE
from each row's PartialObjectMetadata, `--show-labels` adds LABELS. When several
kinds are printed, names carry the `kind.group/` prefix (`deployment.apps/web`).

The other formats work on whole objects: one object prints as itself, several as a
`v1 List` (JSON indented by four spaces, keys sorted, as Go's encoder does).

Kubernetes counterpart: staging/src/k8s.io/cli-runtime/pkg/printers/tableprinter.go,
staging/src/k8s.io/kubectl/pkg/cmd/get/customcolumn.go
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, TextIO

import yaml

from tinykube.api.resources import ResourceInfo
from tinykube.jsonpath import JSONPath, JSONPathError, format_value

TABLE_ACCEPT = ("application/json;as=Table;v=v1;g=meta.k8s.io,"
                "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")
PADDING = 3

Obj = dict[str, Any]


class PrinterError(Exception):
    """A bad `-o` value; the message is shown as `error: ...`."""


def kind_prefix(info: ResourceInfo) -> str:
    """`deployment.apps` / `pod`: how kubectl names a kind in `-o name` and messages."""
    return f"{info.kind.lower()}.{info.group}" if info.group else info.kind.lower()


def object_name(info: ResourceInfo, obj: Obj) -> str:
    return f"{kind_prefix(info)}/{(obj.get('metadata') or {}).get('name', '')}"


def format_labels(labels: dict[str, str] | None) -> str:
    if not labels:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def format_cell(cell: Any) -> str:
    if cell is None:
        return "<none>"
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def render_rows(rows: list[list[str]]) -> str:
    """kubectl's tabwriter: every column but the last padded to its widest cell + 3."""
    if not rows:
        return ""
    widths = [0] * max(len(r) for r in rows)
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths[i], len(cell))
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i] + PADDING) for i, cell in enumerate(row[:-1])]
        lines.append("".join(cells) + (row[-1] if row else ""))
    return "\n".join(lines) + "\n"


@dataclass
class TableOptions:
    wide: bool = False
    show_namespace: bool = False
    show_labels: bool = False
    show_kind: bool = False
    no_headers: bool = False


@dataclass
class TableLayout:
    """The columns chosen from one Table's definitions; turns rows into cell lists."""

    info: ResourceInfo
    definitions: list[Obj]
    options: TableOptions
    indices: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.indices = [i for i, c in enumerate(self.definitions)
                        if self.options.wide or int(c.get("priority") or 0) == 0]

    def header(self) -> list[str]:
        names = [str(self.definitions[i].get("name", "")).upper() for i in self.indices]
        if self.options.show_namespace:
            names.insert(0, "NAMESPACE")
        if self.options.show_labels:
            names.append("LABELS")
        return names

    def row(self, row: Obj) -> list[str]:
        cells = row.get("cells") or []
        metadata = (row.get("object") or {}).get("metadata") or {}
        values = [format_cell(cells[i]) if i < len(cells) else "" for i in self.indices]
        name_index = next((n for n, i in enumerate(self.indices)
                           if self.definitions[i].get("format") == "name"), None)
        if self.options.show_kind and name_index is not None:
            values[name_index] = f"{kind_prefix(self.info)}/{values[name_index]}"
        if self.options.show_namespace:
            values.insert(0, str(metadata.get("namespace", "")))
        if self.options.show_labels:
            values.append(format_labels(metadata.get("labels")))
        return values

    def rows(self, table: Obj) -> list[list[str]]:
        body = [self.row(r) for r in table.get("rows") or []]
        return body if self.options.no_headers else [self.header(), *body]


def print_tables(tables: list[tuple[ResourceInfo, Obj]], options: TableOptions, out: TextIO) -> int:
    """Print each non-empty table (a blank line between kinds); the number of rows."""
    printed = 0
    for info, table in tables:
        if not table.get("rows"):
            continue
        layout = TableLayout(info, table.get("columnDefinitions") or [], options)
        if printed:
            out.write("\n")
        out.write(render_rows(layout.rows(table)))
        printed += len(table["rows"])
    return printed


def as_list(objects: list[Obj]) -> Obj:
    return {"apiVersion": "v1", "kind": "List", "items": objects,
            "metadata": {"resourceVersion": ""}}


def dump_json(obj: Any) -> str:
    return json.dumps(obj, indent=4, sort_keys=True, ensure_ascii=False) + "\n"


def dump_yaml(obj: Any) -> str:
    return str(yaml.safe_dump(obj, default_flow_style=False, sort_keys=True, allow_unicode=True))


def parse_custom_columns(spec: str) -> list[tuple[str, JSONPath]]:
    columns = []
    for part in spec.split(","):
        header, sep, path = part.partition(":")
        if not sep or not header:
            raise PrinterError(f'unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>')
        expr = path if path.startswith("{") else "{" + (path if path.startswith(".") else "." + path) + "}"
        try:
            columns.append((header, JSONPath(expr)))
        except JSONPathError as err:
            raise PrinterError(f"error parsing jsonpath {path}: {err}") from None
    return columns


def custom_columns_rows(columns: list[tuple[str, JSONPath]], objects: list[Obj],
                        no_headers: bool = False) -> list[list[str]]:
    rows = [] if no_headers else [[header for header, _ in columns]]
    for obj in objects:
        row = []
        for _, path in columns:
            values = path.values(obj)
            row.append(",".join(format_value(v) for v in values) if values else "<none>")
        rows.append(row)
    return rows


class ObjectPrinter:
    """Prints whole objects in one of the non-table formats."""

    FORMATS = ("yaml", "json", "name", "jsonpath", "custom-columns", "go-template")

    def __init__(self, output: str, no_headers: bool = False) -> None:
        self.format, _, self.argument = output.partition("=")
        self.no_headers = no_headers
        if self.format in ("jsonpath", "jsonpath-as-json"):
            try:
                self.jsonpath = JSONPath(self.argument)
            except JSONPathError as err:
                raise PrinterError(f"error parsing jsonpath {self.argument}, {err}") from None
        elif self.format == "custom-columns":
            self.columns = parse_custom_columns(self.argument)
        elif self.format not in ("yaml", "json", "name"):
            raise PrinterError(f'unable to match a printer suitable for the output format "{output}", '
                               "allowed formats are: custom-columns,json,jsonpath,name,wide,yaml")

    def render(self, objects: list[tuple[ResourceInfo, Obj]], single: bool) -> str:
        plain = [obj for _, obj in objects]
        data: Any = plain[0] if single and len(plain) == 1 else as_list(plain)
        if self.format == "yaml":
            return dump_yaml(data)
        if self.format == "json":
            return dump_json(data)
        if self.format == "name":
            return "".join(object_name(info, obj) + "\n" for info, obj in objects)
        if self.format in ("jsonpath", "jsonpath-as-json"):
            return self.jsonpath.render(data)
        return render_rows(custom_columns_rows(self.columns, plain, self.no_headers))
