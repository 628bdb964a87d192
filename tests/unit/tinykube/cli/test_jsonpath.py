"""kubectl's JSONPath subset."""

from __future__ import annotations

from typing import Any

import pytest

from tinykube.jsonpath import JSONPath, JSONPathError

DATA: dict[str, Any] = {"kind": "List", "items": [
    {"metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "x"}},
     "spec": {"replicas": 3},
     "status": {"conditions": [{"type": "Ready", "status": "True"},
                               {"type": "Other", "status": "False"}]}},
    {"metadata": {"name": "b"}, "spec": {"replicas": 1, "paused": True}},
]}


@pytest.mark.parametrize(("template", "expected"), [
    ("{.items[*].metadata.name}", "a b"),
    ("{.items[0].spec.replicas}", "3"),
    ("{.items[-1].metadata.name}", "b"),
    ("{.items[0:1].metadata.name}", "a"),
    ('{range .items[*]}{.metadata.name}{"\\t"}{.spec.replicas}{"\\n"}{end}', "a\t3\nb\t1\n"),
    ('{.items[0].status.conditions[?(@.type=="Ready")].status}', "True"),
    ("{.items[?(@.spec.replicas>2)].metadata.name}", "a"),
    ("{.items[?(@.status)].metadata.name}", "a"),
    ("{.items[0].metadata.labels.app\\.kubernetes\\.io/name}", "x"),
    ("{.items[0].metadata.labels['app.kubernetes.io/name']}", "x"),
    ("{.items[1].spec.paused}", "true"),
    ("{.items[1].metadata}", '{"name":"b"}'),
    ("name={.items[0].metadata.name}!", "name=a!"),
    ("{.missing.key}", ""),
    ("{..name}", "a b"),
])
def test_render(template: str, expected: str) -> None:
    assert JSONPath(template).render(DATA) == expected


@pytest.mark.parametrize("template", ["{.items[*", "{range .items[*]}{.x}", "{end}", "{.a"])
def test_malformed_templates_are_rejected(template: str) -> None:
    with pytest.raises(JSONPathError):
        JSONPath(template)
