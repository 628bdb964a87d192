"""kubectl's JSONPath templates: `-o jsonpath=...` and the cells of `custom-columns`.

A template mixes literal text with `{...}` expressions:

- `{.metadata.name}`, `{.spec.containers[0].image}`, `{.items[*].metadata.name}`,
  `['key.with.dots']` or `\\.` for keys with dots, `[-1]`, `[0:2]`, `.*`, `..name`
  (recursive descent);
- filters: `{.status.conditions[?(@.type=="Ready")].status}` with `== != < > <= >=`
  or bare `@.field` for "present";
- `{range .items[*]}...{end}` repeats its body per element; `{"\\n"}` is a literal.

As in `kubectl get`, a missing key yields nothing instead of an error. Several
results of one expression are joined by spaces; maps and lists print as JSON,
strings raw, booleans as `true`/`false`.

Kubernetes counterpart: staging/src/k8s.io/client-go/util/jsonpath/jsonpath.go
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any


class JSONPathError(Exception):
    """A template that does not parse."""


@dataclass
class Step:
    """One step of a path: `kind` is field, index, slice, wildcard, filter or recursive."""

    kind: str
    value: Any = None


@dataclass
class Node:
    """A template node: literal text, an expression, or a range with its body."""

    kind: str  # "text", "expr", "range"
    text: str = ""
    steps: list[Step] = field(default_factory=list)
    body: list[Node] = field(default_factory=list)


_MISSING = object()


# --- parsing ---------------------------------------------------------------------------

def _split_template(template: str) -> list[tuple[str, str]]:
    """[("text", ...), ("expr", inside-of-braces), ...]; braces inside quotes are text."""
    parts: list[tuple[str, str]] = []
    i, literal = 0, []
    while i < len(template):
        char = template[i]
        if char != "{":
            literal.append(char)
            i += 1
            continue
        if literal:
            parts.append(("text", "".join(literal)))
            literal = []
        depth, j, quote = 1, i + 1, ""
        while j < len(template) and depth:
            c = template[j]
            if quote:
                if c == "\\":
                    j += 1
                elif c == quote:
                    quote = ""
            elif c in "\"'":
                quote = c
            elif c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            j += 1
        if depth:
            raise JSONPathError(f"unclosed action in template {template!r}")
        parts.append(("expr", template[i + 1:j - 1].strip()))
        i = j
    if literal:
        parts.append(("text", "".join(literal)))
    return parts


_FILTER = re.compile(r"^\s*@((?:\.[^\s=!<>]+|\[[^\]]+\])*)\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*$")


def _literal(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _bracket(inner: str) -> Step:
    inner = inner.strip()
    if inner == "*":
        return Step("wildcard")
    if inner.startswith("?(") and inner.endswith(")"):
        match = _FILTER.match(inner[2:-1])
        if match is None:
            raise JSONPathError(f"unsupported filter [{inner}]")
        path, op, value = match.groups()
        return Step("filter", (parse_path(path or ""), op, _literal(value) if op else None))
    if inner[:1] in "\"'":
        return Step("field", [_literal(k) for k in inner.split(",")][0])
    if ":" in inner:
        bounds = [int(b) if b.strip() else None for b in inner.split(":")[:2]]
        return Step("slice", (bounds[0], bounds[1]))
    try:
        return Step("index", int(inner))
    except ValueError:
        raise JSONPathError(f"invalid array index [{inner}]") from None


def parse_path(path: str) -> list[Step]:
    """`.a.b[0][*]..c` → steps; a leading `$` is allowed."""
    steps: list[Step] = []
    i = 1 if path.startswith("$") else 0
    while i < len(path):
        char = path[i]
        if char == ".":
            if path.startswith("..", i):
                steps.append(Step("recursive"))
                i += 2
                continue
            i += 1
            name: list[str] = []
            while i < len(path) and path[i] not in ".[":
                if path[i] == "\\" and i + 1 < len(path):
                    i += 1
                name.append(path[i])
                i += 1
            key = "".join(name)
            if key == "*":
                steps.append(Step("wildcard"))
            elif key:
                steps.append(Step("field", key))
        elif char == "[":
            end, quote, depth, j = -1, "", 0, i + 1
            while j < len(path):
                c = path[j]
                if quote:
                    if c == quote:
                        quote = ""
                elif c in "\"'":
                    quote = c
                elif c in "([":
                    depth += 1
                elif c == ")" or c == "]" and depth:
                    depth -= 1
                elif c == "]":
                    end = j
                    break
                j += 1
            if end < 0:
                raise JSONPathError(f"unterminated [ in {path!r}")
            steps.append(_bracket(path[i + 1:end]))
            i = end + 1
        elif char.isspace():
            i += 1
        else:
            # A bare word at the start (`{metadata.name}`) is a field, like kubectl's
            # relaxed syntax.
            name = []
            while i < len(path) and path[i] not in ".[":
                name.append(path[i])
                i += 1
            steps.append(Step("field", "".join(name)))
    return steps


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}


def _unescape(text: str) -> str:
    """The value of a quoted literal such as `{"\\n"}`."""
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), text)


def parse_template(template: str) -> list[Node]:
    root: list[Node] = []
    stack: list[list[Node]] = [root]
    for kind, text in _split_template(template):
        if kind == "text":
            stack[-1].append(Node("text", text=text))
        elif text == "end":
            if len(stack) == 1:
                raise JSONPathError("{end} without a matching {range}")
            stack.pop()
        elif text.startswith("range "):
            node = Node("range", steps=parse_path(text[len("range "):].strip()))
            stack[-1].append(node)
            stack.append(node.body)
        elif text[:1] in "\"'":
            stack[-1].append(Node("text", text=_unescape(text[1:-1])))
        else:
            stack[-1].append(Node("expr", steps=parse_path(text)))
    if len(stack) != 1:
        raise JSONPathError("{range} without a matching {end}")
    return root


# --- evaluation --------------------------------------------------------------------------

def _children(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return list(value)
    return []


def _descendants(value: Any) -> list[Any]:
    found = [value]
    for child in _children(value):
        found.extend(_descendants(child))
    return found


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == "==":
        return bool(left == right or str(left) == str(right))
    if op == "!=":
        return not _compare(left, "==", right)
    try:
        return bool({"<": left < right, ">": left > right, "<=": left <= right,
                     ">=": left >= right}[op])
    except TypeError:
        return False


def _apply(step: Step, value: Any) -> list[Any]:
    if step.kind == "field":
        if isinstance(value, dict) and step.value in value:
            return [value[step.value]]
        return []
    if step.kind == "wildcard":
        return _children(value)
    if step.kind == "recursive":
        return _descendants(value)
    if not isinstance(value, list):
        return []
    if step.kind == "index":
        index = step.value
        return [value[index]] if -len(value) <= index < len(value) else []
    if step.kind == "slice":
        start, stop = step.value
        return value[start:stop]
    path, op, literal = step.value
    kept = []
    for item in value:
        results = evaluate(path, item)
        if op is None and results or op and any(_compare(r, op, literal) for r in results):
            kept.append(item)
    return kept


def evaluate(steps: list[Step], data: Any) -> list[Any]:
    current = [data]
    for index, step in enumerate(steps):
        if step.kind == "recursive" and index + 1 < len(steps):
            current = [d for value in current for d in _descendants(value)]
            continue
        current = [result for value in current for result in _apply(step, value)]
    return current


def format_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _render(nodes: list[Node], data: Any, out: list[str]) -> None:
    for node in nodes:
        if node.kind == "text":
            out.append(node.text)
        elif node.kind == "expr":
            out.append(" ".join(format_value(v) for v in evaluate(node.steps, data)))
        else:
            for item in evaluate(node.steps, data):
                _render(node.body, item, out)


class JSONPath:
    """A parsed template; `render(data)` returns the text."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.nodes = parse_template(template)

    def render(self, data: Any) -> str:
        out: list[str] = []
        _render(self.nodes, data, out)
        return "".join(out)

    def values(self, data: Any) -> list[Any]:
        """The results of a template that is one expression (custom-columns cells)."""
        values: list[Any] = []
        for node in self.nodes:
            if node.kind == "expr":
                values.extend(evaluate(node.steps, data))
        return values
