"""Reading manifests for `apply`, `create` and `delete`: `-f FILE|DIR|-` with `-R`.

A source is a file, a directory (its `.yaml`, `.yml` and `.json` files, recursing
into subdirectories only with `-R`) or `-` for standard input. A file may hold
several YAML documents separated by `---`, a JSON object, or a `v1 List`, whose
items are unpacked. Empty documents are skipped, as kubectl skips them.

YAML is parsed the way kubectl's sigs.k8s.io/yaml parses it: timestamps stay
strings (a `2024-01-01` label value must not become a date). Errors name the file
and the line, in kubectl's words: `error parsing FILE: error converting YAML to
JSON: yaml: line N: ...`.

Kubernetes counterpart: staging/src/k8s.io/cli-runtime/pkg/resource/visitor.go
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class ManifestError(Exception):
    """A manifest that cannot be read or parsed; the message is one line for the user."""


@dataclass
class Manifest:
    """One object read from a source, with where it came from (for messages)."""

    source: str
    index: int
    obj: dict[str, Any]


class _KubeLoader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver (Go's YAML keeps them as strings)."""


_KubeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


# PyYAML's wording → go-yaml's, so messages read like kubectl's.
_GO_YAML_PROBLEMS = {
    "mapping values are not allowed here": "mapping values are not allowed in this context",
    "found character '\\t' that cannot start any token":
        "found character that cannot start any token",
}


def _yaml_error(source: str, err: yaml.YAMLError) -> ManifestError:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    problem = _GO_YAML_PROBLEMS.get(problem, problem)
    line = f"line {mark.line + 1}: " if mark is not None else ""
    return ManifestError(f"error parsing {source}: error converting YAML to JSON: yaml: {line}{problem}")


def parse_documents(text: str, source: str) -> list[dict[str, Any]]:
    """Every object in `text` (YAML stream or JSON); `v1 List`s are unpacked."""
    stripped = text.lstrip()
    documents: list[Any]
    if stripped.startswith(("{", "[")):
        try:
            documents = [json.loads(text)]
        except json.JSONDecodeError as err:
            raise ManifestError(f"error parsing {source}: line {err.lineno}: {err.msg}") from None
    else:
        try:
            documents = list(yaml.load_all(text, Loader=_KubeLoader))  # noqa: S506 (safe loader)
        except yaml.YAMLError as err:
            raise _yaml_error(source, err) from None
    objects: list[dict[str, Any]] = []
    for document in documents:
        if document is None:
            continue
        if not isinstance(document, dict):
            raise ManifestError(f"error parsing {source}: expected an object, got "
                                f"{type(document).__name__}")
        if document.get("kind", "").endswith("List") and isinstance(document.get("items"), list):
            objects.extend(item for item in document["items"] if isinstance(item, dict))
            continue
        if not document.get("kind"):
            raise ManifestError(f"error validating data: kind not set in {source}")
        if not document.get("apiVersion"):
            raise ManifestError(f"error validating data: apiVersion not set in {source}")
        objects.append(document)
    return objects


def expand_paths(filename: str, recursive: bool) -> list[Path]:
    """The files a `-f` argument names, sorted like kubectl walks a directory."""
    path = Path(filename)
    if not path.exists():
        raise ManifestError(f'the path "{filename}" does not exist')
    if path.is_file():
        return [path]
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in path.glob(pattern) if p.is_file() and p.suffix in MANIFEST_SUFFIXES)


def read_manifests(filenames: list[str], recursive: bool = False,
                   stdin: TextIO | None = None) -> Iterator[Manifest]:
    """Objects from every `-f` source in order; raises ManifestError on the first bad file."""
    for filename in filenames:
        if filename == "-":
            text = (stdin or sys.stdin).read()
            for index, obj in enumerate(parse_documents(text, "STDIN")):
                yield Manifest("STDIN", index, obj)
            continue
        paths = expand_paths(filename, recursive)
        for path in paths:
            try:
                text = path.read_text()
            except OSError as err:
                raise ManifestError(f"cannot read {path}: {err.strerror}") from None
            for index, obj in enumerate(parse_documents(text, str(path))):
                yield Manifest(str(path), index, obj)
