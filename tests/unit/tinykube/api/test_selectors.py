"""Label and field selector parsing, printing and matching."""

from __future__ import annotations

import pytest

from tinykube.api.selectors import (
    FieldRequirement,
    LabelSelector,
    Operator,
    Requirement,
    SelectorError,
    label_selector_from_dict,
    parse_field_selector,
    parse_label_selector,
)

LABELS = {"app": "web", "tier": "frontend", "env": "prod", "owner": "ann", "replicas": "3"}


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("", ""),
        ("app=web", "app=web"),
        ("app==web", "app==web"),
        ("app = web , tier != db", "app=web,tier!=db"),
        ("app=web,tier!=db,env in (a,b),!legacy,owner",
         "app=web,env in (a,b),!legacy,owner,tier!=db"),
        ("env notin ( b , a , a )", "env notin (a,b)"),
        ("  owner  ", "owner"),
        ("! legacy", "!legacy"),
        ("a=", "a="),
        ("a in ()", "a in ()"),
        ("a in (,x)", "a in (,x)"),
        ("in in (in,notin)", "in in (in,notin)"),
        ("example.com/app=web", "example.com/app=web"),
        ("replicas>2", "replicas>2"),
        ("replicas<2", "replicas<2"),
    ],
)
def test_parse_label_selector_canonical_form(text: str, canonical: str) -> None:
    assert str(parse_label_selector(text)) == canonical


def test_parse_builds_sorted_requirements() -> None:
    selector = parse_label_selector("z=1,env in (b,a),!x")
    assert selector.requirements == (
        Requirement("env", Operator.IN, ("a", "b")),
        Requirement("x", Operator.DOES_NOT_EXIST, ()),
        Requirement("z", Operator.EQUALS, ("1",)),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app=db", False),
        ("app!=db", True),
        ("missing!=x", True),  # != matches when the label is absent
        ("env in (prod,dev)", True),
        ("env in (dev)", False),
        ("missing in (x)", False),
        ("env notin (dev)", True),
        ("env notin (prod)", False),
        ("missing notin (x)", True),
        ("owner", True),
        ("missing", False),
        ("!missing", True),
        ("!owner", False),
        ("app=web,tier=frontend", True),
        ("app=web,tier=backend", False),
        ("replicas>2", True),
        ("replicas<2", False),
        ("app>1", False),  # not an integer
    ],
)
def test_label_selector_matches(text: str, expected: bool) -> None:
    assert parse_label_selector(text).matches(LABELS) is expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("app=web tier", "found 'tier', expected: ',' or 'end of string'"),
        ("!app=web", "found '=', expected: ',' or 'end of string'"),
        ("app in (web", "unable to parse requirement: found ''"),
        ("app in web", "found 'web' expected: '('"),
        ("app in (a b)", "found 'b', expected: ',' or ')'"),
        ("app,", "expected: identifier after ','"),
        (",app", "expected: !, identifier, or 'end of string'"),
        ("app web", "unable to parse requirement: found 'web', expected: in, notin"),
        ("app=(", "found '(', expected: identifier"),
        ("app!web", "found '!', expected"),
        ("=web", "found '=', expected: !, identifier"),
        ("Bad Key=1", "found 'Key'"),
        ("bad_/key=1", "invalid label key"),
        ("-app=web", "invalid label key"),
        ("app=-web", "invalid label value"),
        ("app=" + "a" * 64, "must be no more than 63 characters"),
        ("replicas>two", "the value must be an integer"),
    ],
)
def test_parse_label_selector_errors(text: str, fragment: str) -> None:
    with pytest.raises(SelectorError) as excinfo:
        parse_label_selector(text)
    assert fragment in str(excinfo.value)


def test_selector_error_is_a_value_error() -> None:
    assert issubclass(SelectorError, ValueError)


def test_empty_selector_matches_everything() -> None:
    selector = parse_label_selector("")
    assert selector.empty()
    assert selector.matches({}) and selector.matches(None) and selector.matches(LABELS)


@pytest.mark.parametrize(
    ("api_form", "canonical", "expected"),
    [
        ({}, "", True),
        ({"matchLabels": {}}, "", True),
        ({"matchLabels": {"tier": "frontend", "app": "web"}}, "app=web,tier=frontend", True),
        ({"matchLabels": {"app": "db"}}, "app=db", False),
        ({"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]}]},
         "env in (dev,prod)", True),
        ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]},
         "env notin (prod)", False),
        ({"matchExpressions": [{"key": "owner", "operator": "Exists"}]}, "owner", True),
        ({"matchExpressions": [{"key": "owner", "operator": "DoesNotExist"}]}, "!owner", False),
        ({"matchLabels": {"app": "web"},
          "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]},
         "app=web,env in (prod)", True),
    ],
)
def test_label_selector_from_dict(api_form: dict, canonical: str, expected: bool) -> None:
    selector = label_selector_from_dict(api_form)
    assert str(selector) == canonical
    assert selector.matches(LABELS) is expected


def test_nil_api_selector_matches_nothing() -> None:
    selector = label_selector_from_dict(None)
    assert not selector.empty()
    assert not selector.matches({}) and not selector.matches(LABELS)
    assert selector == LabelSelector(match_nothing=True)


@pytest.mark.parametrize(
    ("api_form", "fragment"),
    [
        ({"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["x"]}]},
         "'Equals' is not a valid label selector operator"),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]},
         "values set can't be empty"),
        ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
         "values set must be empty"),
        ({"matchLabels": {"bad key": "x"}}, "invalid label key"),
        ({"matchLabels": {"a": "bad value"}}, "invalid label value"),
        ("app=web", "must be an object"),
    ],
)
def test_label_selector_from_dict_errors(api_form: object, fragment: str) -> None:
    with pytest.raises(SelectorError) as excinfo:
        label_selector_from_dict(api_form)  # type: ignore[arg-type]
    assert fragment in str(excinfo.value)


# -- field selectors ------------------------------------------------------------------

FIELDS = {"metadata.name": "web", "metadata.namespace": "default", "status.phase": "Running"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("metadata.name=web", True),
        ("metadata.name==web", True),
        ("metadata.name=db", False),
        ("metadata.name!=db", True),
        ("status.phase!=Running", False),
        ("metadata.name=web,status.phase=Running", True),
        ("metadata.name=web,status.phase=Pending", False),
        ("spec.nodeName=", True),  # a missing field reads as ""
        ("spec.nodeName!=", False),
        (",metadata.name=web,", True),  # empty terms are skipped
    ],
)
def test_field_selector_matches(text: str, expected: bool) -> None:
    assert parse_field_selector(text).matches(FIELDS) is expected


def test_field_selector_requirements_and_helpers() -> None:
    selector = parse_field_selector("status.phase!=Running,metadata.name=web")
    assert selector.requirements == (
        FieldRequirement("metadata.name", Operator.EQUALS, "web"),
        FieldRequirement("status.phase", Operator.NOT_EQUALS, "Running"),
    )
    assert selector.fields_used() == {"metadata.name", "status.phase"}
    assert selector.requires_exact_match("metadata.name") == "web"
    assert selector.requires_exact_match("status.phase") is None
    assert str(selector) == "metadata.name=web,status.phase!=Running"
    assert parse_field_selector("").empty()


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (r"metadata.name=a\,b", "a,b"),
        (r"metadata.name=a\=b", "a=b"),
        (r"metadata.name=a\\b", "a\\b"),
    ],
)
def test_field_selector_escapes(text: str, value: str) -> None:
    selector = parse_field_selector(text)
    assert selector.requirements[0].value == value
    assert str(selector) == text


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"),
        ("a=b,c", "can't understand 'c'"),
        ("a=b=c", "unescaped character '='"),
        (r"a=b\x", "invalid escape sequence: \\x"),
        ("a=b\\", "invalid escape sequence: \\"),
    ],
)
def test_field_selector_errors(text: str, fragment: str) -> None:
    with pytest.raises(SelectorError) as excinfo:
        parse_field_selector(text)
    assert fragment in str(excinfo.value)
