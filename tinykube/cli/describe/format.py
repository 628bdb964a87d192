"""Layout helpers for `describe` and friends: an indenting writer, Go's tabwriter, ages.

kubectl builds describe output as lines of `Key:\tvalue` at indentation levels and
pipes them through a tabwriter, which aligns each run of consecutive lines that
share a tab-terminated column. `PrefixWriter` + `align_tabs` reproduce that, so
`Name:`, `Namespace:` and `Labels:` line up exactly as kubectl's do.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/describe/describe.go (PrefixWriter),
text/tabwriter (Go), staging/src/k8s.io/apimachinery/pkg/util/duration/duration.go
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from tinykube.api.meta import parse_rfc3339

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Annotations kubectl describe never shows: they repeat the object itself.
SKIPPED_ANNOTATIONS = frozenset({LAST_APPLIED})


class PrefixWriter:
    """Collects `level`-indented, tab-separated lines (two spaces per level)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, level: int, text: str) -> None:
        self.lines.append("  " * level + text)

    def write_header(self, level: int, *titles: str) -> None:
        """A table's column titles, underlined with dashes of the same widths."""
        self.write(level, "\t".join(titles))
        self.write(level, "\t".join("-" * len(title) for title in titles))

    def write_optional(self, level: int, label: str, value: Any) -> None:
        """`Label:<tab>value` only when there is a value; a list is comma-joined."""
        if value:
            self.write(level, f"{label}:\t{','.join(value) if isinstance(value, list) else value}")

    def text(self) -> str:
        return align_tabs("\n".join(self.lines) + "\n")


def align_tabs(text: str, padding: int = 2, min_width: int = 0) -> str:
    """Go's tabwriter (padding `padding`, padchar ' '): every tab-terminated
    cell is padded to the widest cell of its column block; a block is a run of
    consecutive lines that have a cell in that column."""
    rows = [line.split("\t") for line in text.split("\n")]
    widths: list[list[int]] = [[0] * (len(row) - 1) for row in rows]

    def format_block(column: int, start: int, end: int) -> None:
        i = start
        while i < end:
            if column >= len(rows[i]) - 1:
                i += 1
                continue
            j, width = i, 0
            while j < end and column < len(rows[j]) - 1:
                width = max(width, len(rows[j][column]) + padding, min_width)
                j += 1
            for k in range(i, j):
                widths[k][column] = width
            format_block(column + 1, i, j)
            i = j

    format_block(0, 0, len(rows))
    out = []
    for row, row_widths in zip(rows, widths, strict=True):
        cells = [cell.ljust(width) for cell, width in zip(row, row_widths, strict=False)]
        out.append("".join(cells) + row[-1])
    return "\n".join(out)


def human_duration(seconds: float) -> str:
    """kubectl's age format: 45s, 3m20s, 95m, 5h3m, 30h, 3d4h, 400d, 3y20d."""
    if seconds < -1:
        return "<invalid>"
    s = max(int(seconds), 0)
    minutes, hours, days = s // 60, s // 3600, s // 86400
    if s < 120:
        return f"{s}s"
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    if days < 365 * 8:
        return f"{days // 365}y{days % 365}d" if days % 365 else f"{days // 365}y"
    return f"{days // 365}y"


def age_since(timestamp: str | None, now: datetime | None = None) -> str:
    """The age of an RFC 3339 timestamp, `<unknown>` when there is none."""
    if not timestamp:
        return "<unknown>"
    now = now or datetime.now(timezone.utc)
    return human_duration((now - parse_rfc3339(timestamp)).total_seconds())


def format_time(timestamp: str | None) -> str:
    """A timestamp the way describe prints one: `Mon, 02 Jan 2006 15:04:05 +0000`."""
    if not timestamp:
        return "<unset>"
    return parse_rfc3339(timestamp).strftime("%a, %d %b %Y %H:%M:%S %z")


def write_map(w: PrefixWriter, level: int, title: str, values: Mapping[str, Any] | None,
              skip: frozenset[str] = frozenset(), separator: str = "=") -> None:
    """`Labels:  a=b` with later pairs on their own aligned lines, or `<none>`
    (annotations use `key: value`, as kubectl prints them)."""
    pairs = sorted((k, v) for k, v in (values or {}).items() if k not in skip)
    if not pairs:
        w.write(level, f"{title}:\t<none>")
        return
    for index, (key, value) in enumerate(pairs):
        text = value if isinstance(value, str) else json.dumps(value)
        w.write(level, f"{title + ':' if index == 0 else ''}\t{key}{separator}{text}")


def write_object_meta(w: PrefixWriter, obj: Mapping[str, Any], namespaced: bool = True) -> None:
    """Name, Namespace, Labels and Annotations: the head of every describe."""
    meta = obj.get("metadata") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}")
    if namespaced:
        w.write(0, f"Namespace:\t{meta.get('namespace', '')}")
    write_map(w, 0, "Labels", meta.get("labels"))
    write_map(w, 0, "Annotations", meta.get("annotations"), SKIPPED_ANNOTATIONS, ": ")


def controller_of(obj: Mapping[str, Any]) -> str | None:
    """`ReplicaSet/web-abc` for the controlling owner, if any."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return f"{ref.get('kind')}/{ref.get('name')}"
    return None


def label_selector_text(selector: Mapping[str, Any] | None) -> str:
    """A LabelSelector as `a=b,c in (d)`; `<none>` when empty."""
    if not selector:
        return "<none>"
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for req in selector.get("matchExpressions") or []:
        op, key, values = req.get("operator"), req.get("key"), req.get("values") or []
        if op == "Exists":
            parts.append(str(key))
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
        else:
            parts.append(f"{key} {'in' if op == 'In' else 'notin'} ({','.join(values)})")
    return ",".join(parts) or "<none>"
