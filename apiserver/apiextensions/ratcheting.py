"""Validation ratcheting: an update is not refused for what it did not change.

When a CRD's schema is tightened, objects stored before may no longer pass it.
Kubernetes (CRDValidationRatcheting, on by default since 1.30) lets such an object
still be updated as long as the invalid parts are left as they were: a schema or
CEL error is dropped when the value at the error's path is the same in the old and
the new object. A value the update changes must pass the schema as usual.

Paths are the errors' field paths (`spec.items[2].name`); list items correlate by
index. Upstream correlates items of `x-kubernetes-list-type: map` lists by their
keys and does not ratchet inside atomic lists (see
docs/differences-from-kubernetes.md).

Kubernetes counterpart: staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/validation/ratcheting.go
"""

from __future__ import annotations

import re
from typing import Any

from tinykube.api.validation import FieldError

_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_ABSENT = object()


def ratchet(problems: list[FieldError], new: dict[str, Any],
            old: dict[str, Any]) -> list[FieldError]:
    """The problems an update is still refused for: those at a path whose value it changed."""
    return [problem for problem in problems if not _unchanged(problem.field, new, old)]


def _unchanged(path: str, new: dict[str, Any], old: dict[str, Any]) -> bool:
    if not path:
        return False  # the whole object: an update that changed nothing is never validated
    return _at(old, path) == _at(new, path)  # absent in both counts as unchanged


def _at(value: Any, path: str) -> Any:
    for name, index in _SEGMENT.findall(path):
        if name:
            if not isinstance(value, dict) or name not in value:
                return _ABSENT
            value = value[name]
        else:
            position = int(index)
            if not isinstance(value, list) or position >= len(value):
                return _ABSENT
            value = value[position]
    return value
