"""Server-side Table columns of a custom resource: its additionalPrinterColumns.

Every table starts with NAME; the CRD's columns follow, each a JSONPath into the
object (`.spec.replicas`). A CRD without columns gets AGE, as upstream defaults
`additionalPrinterColumns` to one `Age` column on `.metadata.creationTimestamp`.
A path that finds nothing is an empty cell; a `date` column shows the age of the
timestamp it finds, as kubectl does.

Kubernetes counterpart: staging/src/k8s.io/apiextensions-apiserver/pkg/registry/customresource/tableconvertor/tableconvertor.go
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from apiserver.table_printers import (
    AGE, AGE_DESCRIPTION, NAME, Column, TablePrinter, age, get_path, name_of,
    translate_timestamp_since,
)
from tinykube.jsonpath import JSONPath, JSONPathError

Obj = dict[str, Any]

CellFunc = Callable[[Obj, datetime], Any]

# CustomResourceDefinitions themselves: upstream's default table convertor (the
# creation time as a timestamp, which kubectl prints as is).
CRD_PRINTER = TablePrinter(
    (NAME, Column("Created At", "date", AGE_DESCRIPTION)),
    lambda obj, now: [name_of(obj), get_path(obj, "metadata", "creationTimestamp")])


def table_printer(columns: list[dict[str, Any]]) -> TablePrinter:
    """The printer for one version's `additionalPrinterColumns` (wire form)."""
    if not columns:
        return TablePrinter((NAME, AGE), lambda obj, now: [name_of(obj), age(obj, now)])
    defs = [NAME]
    cells: list[CellFunc] = []
    for column in columns:
        defs.append(Column(str(column.get("name", "")), str(column.get("type", "string")),
                           str(column.get("description") or ""), int(column.get("priority") or 0),
                           str(column.get("format") or "")))
        cells.append(_cell(str(column.get("jsonPath", "")), str(column.get("type", "string"))))

    def print_row(obj: Obj, now: datetime) -> list[Any]:
        return [name_of(obj), *(cell(obj, now) for cell in cells)]

    return TablePrinter(tuple(defs), print_row)


def _cell(json_path: str, column_type: str) -> CellFunc:
    try:
        template = JSONPath("{" + json_path + "}")
    except JSONPathError:
        return lambda obj, now: None

    def cell(obj: Obj, now: datetime) -> Any:
        values = template.values(obj)
        if not values or values[0] is None:
            return None
        value = values[0]
        if column_type == "date":
            return translate_timestamp_since(value, now)
        if column_type in ("integer", "number", "boolean") or isinstance(value, (int, float, bool)):
            return value
        return value if isinstance(value, str) else template.render(obj)

    return cell
