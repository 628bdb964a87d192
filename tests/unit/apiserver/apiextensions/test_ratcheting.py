"""Validation ratcheting: errors at values an update left unchanged are dropped."""

from __future__ import annotations

from apiserver.apiextensions import schemas
from apiserver.apiextensions.ratcheting import ratchet

SCHEMA = {"type": "object", "properties": {"spec": {"type": "object", "required": ["color"],
    "properties": {
        "name": {"type": "string", "maxLength": 3},
        "color": {"type": "string", "enum": ["red", "blue"]},
        "ports": {"type": "array", "items": {"type": "integer", "maximum": 100}},
        "size": {"type": "integer"}}}}}


def problems_of_update(new: dict, old: dict) -> list[str]:
    return [p.field for p in ratchet(schemas.validate(new, SCHEMA, old), new, old)]


def test_unchanged_invalid_values_do_not_block_an_update_of_other_fields() -> None:
    old = {"spec": {"name": "toolong", "color": "green", "ports": [500, 1], "size": 1}}
    new = {"spec": {"name": "toolong", "color": "green", "ports": [500, 1], "size": 2}}
    assert schemas.validate(new, SCHEMA, old)  # invalid as a whole
    assert problems_of_update(new, old) == []


def test_a_changed_value_must_pass_the_schema() -> None:
    old = {"spec": {"name": "toolong", "color": "red", "ports": [500]}}
    new = {"spec": {"name": "stilltoolong", "color": "green", "ports": [500, 200]}}
    assert sorted(problems_of_update(new, old)) == ["spec.color", "spec.name", "spec.ports[1]"]


def test_a_required_field_missing_before_may_stay_missing_but_not_be_removed() -> None:
    assert problems_of_update({"spec": {"size": 2}}, {"spec": {"size": 1}}) == []
    assert problems_of_update({"spec": {"size": 2}}, {"spec": {"color": "red"}}) == ["spec.color"]
