"""Name validators and object metadata validation."""

from __future__ import annotations

from typing import Any

import pytest

from tinykube.api.validation import (
    FieldError,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_label_value,
    validate_object_meta,
    validate_object_meta_update,
)

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
    "regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name' or '123-abc', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
    "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name' or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
QNAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName' or 'my.name' or '123-abc', regex used "
    "for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        ("example.com", []),
        ("a", []),
        ("web-1", []),
        ("1.2.3", []),
        ("a" * 253, []),
        ("Web", [SUBDOMAIN_MSG]),
        ("-web", [SUBDOMAIN_MSG]),
        ("web.", [SUBDOMAIN_MSG]),
        ("web..x", [SUBDOMAIN_MSG]),
        ("web_1", [SUBDOMAIN_MSG]),
        ("", [SUBDOMAIN_MSG]),
        ("web\n", [SUBDOMAIN_MSG]),  # anchored like Go: a trailing newline is not ignored
        ("a" * 254, ["must be no more than 253 characters"]),
    ],
)
def test_is_dns1123_subdomain(value: str, errors: list[str]) -> None:
    assert is_dns1123_subdomain(value) == errors


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        ("default", []),
        ("kube-system", []),
        ("0abc", []),
        ("a" * 63, []),
        ("a.b", ["must not contain dots"]),
        ("A", [LABEL_MSG]),
        ("a-", [LABEL_MSG]),
        ("a" * 64, ["must be no more than 63 characters"]),
    ],
)
def test_is_dns1123_label(value: str, errors: list[str]) -> None:
    assert is_dns1123_label(value) == errors


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        ("my-svc", []),
        ("a1", []),
        ("1abc", [DNS1035_MSG]),
        ("a.b", [DNS1035_MSG]),
        ("a" * 64, ["must be no more than 63 characters"]),
    ],
)
def test_is_dns1035_label(value: str, errors: list[str]) -> None:
    assert is_dns1035_label(value) == errors


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        ("app", []),
        ("App_Name.v1", []),
        ("example.com/app", []),
        ("app.kubernetes.io/name", []),
        ("a" * 63, []),
        ("", ["name part must be non-empty", QNAME_MSG]),
        ("-app", [QNAME_MSG]),
        ("a b", [QNAME_MSG]),
        ("a" * 64, ["name part must be no more than 63 characters"]),
        ("/app", ["prefix part must be non-empty"]),
        ("Example.com/app", ["prefix part " + SUBDOMAIN_MSG]),
        ("example.com/", ["name part must be non-empty", QNAME_MSG]),
    ],
)
def test_is_qualified_name(value: str, errors: list[str]) -> None:
    assert is_qualified_name(value) == errors


def test_is_qualified_name_with_two_slashes() -> None:
    [error] = is_qualified_name("a/b/c")
    assert error.startswith("a qualified name must consist of alphanumeric characters")
    assert error.endswith("with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')")


@pytest.mark.parametrize(
    ("value", "ok"),
    [("", True), ("web", True), ("My_Value.1", True), ("a" * 63, True),
     ("-x", False), ("x-", False), ("a b", False), ("a/b", False), ("a" * 64, False)],
)
def test_is_valid_label_value(value: str, ok: bool) -> None:
    assert (is_valid_label_value(value) == []) is ok


def _meta(**overrides: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "web", "namespace": "default"}
    meta.update(overrides)
    return {k: v for k, v in meta.items() if v is not None}


def test_valid_meta_has_no_errors() -> None:
    meta = _meta(
        labels={"app": "web", "app.kubernetes.io/name": ""},
        annotations={"Example.com/Note": "anything at all: ☃"},
        ownerReferences=[{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs",
                          "uid": "u1", "controller": True}],
        finalizers=["example.com/cleanup", "foregroundDeletion"],
    )
    assert validate_object_meta(meta, namespaced=True, create=True) == []


@pytest.mark.parametrize(
    ("meta", "namespaced", "create", "expected"),
    [
        (_meta(name=None), True, True,
         [("FieldValueRequired", "metadata.name",
           "Required value: name or generateName is required")]),
        (_meta(name=None, generateName="web-"), True, True, []),
        (_meta(name=None, generateName="web-"), True, False,
         [("FieldValueRequired", "metadata.name",
           "Required value: name or generateName is required")]),
        (_meta(name=None, generateName="Web-"), True, True,
         [("FieldValueInvalid", "metadata.generateName", 'Invalid value: "Web-": ' + SUBDOMAIN_MSG)]),
        (_meta(name="Web"), True, True,
         [("FieldValueInvalid", "metadata.name", 'Invalid value: "Web": ' + SUBDOMAIN_MSG)]),
        (_meta(namespace=None), True, True,
         [("FieldValueRequired", "metadata.namespace", "Required value")]),
        (_meta(namespace="a.b"), True, True,
         [("FieldValueInvalid", "metadata.namespace", 'Invalid value: "a.b": must not contain dots')]),
        (_meta(), False, True,
         [("FieldValueForbidden", "metadata.namespace", "Forbidden: not allowed on this type")]),
        (_meta(namespace=None), False, True, []),
        (_meta(labels={"app": "-x"}), True, True,
         [("FieldValueInvalid", "metadata.labels", 'Invalid value: "-x": a valid label must be')]),
        (_meta(labels={"bad key": "x"}), True, True,
         [("FieldValueInvalid", "metadata.labels", 'Invalid value: "bad key": name part must')]),
        (_meta(annotations={"bad/key/x": "v"}), True, True,
         [("FieldValueInvalid", "metadata.annotations", 'Invalid value: "bad/key/x": a qualified')]),
        (_meta(annotations={"big": "x" * (256 * 1024)}), True, True,
         [("FieldValueTooLong", "metadata.annotations",
           "Too long: may not be more than 262144 bytes")]),
        (_meta(ownerReferences=[{"apiVersion": "", "kind": "", "name": "", "uid": ""}]), True, True,
         [("FieldValueInvalid", "metadata.ownerReferences.apiVersion",
           'Invalid value: "": version must not be empty'),
          ("FieldValueInvalid", "metadata.ownerReferences.kind", 'Invalid value: "": kind must'),
          ("FieldValueInvalid", "metadata.ownerReferences.name", 'Invalid value: "": name must'),
          ("FieldValueInvalid", "metadata.ownerReferences.uid", 'Invalid value: "": uid must')]),
        (_meta(ownerReferences=[
            {"apiVersion": "v1", "kind": "A", "name": "a", "uid": "1", "controller": True},
            {"apiVersion": "v1", "kind": "B", "name": "b", "uid": "2", "controller": True}]),
         True, True,
         [("FieldValueInvalid", "metadata.ownerReferences", "Invalid value: ")]),
        (_meta(finalizers=["bad finalizer"]), True, True,
         [("FieldValueInvalid", "metadata.finalizers", 'Invalid value: "bad finalizer": name part')]),
        (_meta(finalizers=["orphan", "foregroundDeletion"]), True, True,
         [("FieldValueInvalid", "metadata.finalizers", "Invalid value: ")]),
        (_meta(generation=-1), True, True,
         [("FieldValueInvalid", "metadata.generation",
           "Invalid value: -1: must be greater than or equal to 0")]),
        (None, True, True,
         [("FieldValueRequired", "metadata.name", "Required value: name or generateName is required"),
          ("FieldValueRequired", "metadata.namespace", "Required value")]),
    ],
)
def test_validate_object_meta(
    meta: dict[str, Any] | None, namespaced: bool, create: bool,
    expected: list[tuple[str, str, str]],
) -> None:
    errors = validate_object_meta(meta, namespaced=namespaced, create=create)
    assert [(e.type, e.field) for e in errors] == [(t, f) for t, f, _ in expected]
    for error, (_, _, message_start) in zip(errors, expected):
        assert error.message.startswith(message_start)


def test_only_one_controller_message() -> None:
    refs = [{"apiVersion": "v1", "kind": "A", "name": "a", "uid": "1", "controller": True},
            {"apiVersion": "v1", "kind": "B", "name": "b", "uid": "2", "controller": True}]
    [error] = validate_object_meta(_meta(ownerReferences=refs), namespaced=True, create=True)
    assert error.message.endswith(
        'Only one reference can have Controller set to true. Found "true" in references for A/a and B/b')


def test_custom_name_validator() -> None:
    errors = validate_object_meta(_meta(name="1svc"), namespaced=True,
                                  name_validator=is_dns1035_label, create=True)
    assert [e.field for e in errors] == ["metadata.name"]


def test_field_error_renders_like_kubernetes() -> None:
    error = FieldError("FieldValueInvalid", "metadata.name", 'Invalid value: "Web": bad')
    assert str(error) == 'metadata.name: Invalid value: "Web": bad'
    assert error.as_cause() == {"reason": "FieldValueInvalid", "message": 'Invalid value: "Web": bad',
                                "field": "metadata.name"}


def test_validate_object_meta_update_rejects_immutable_changes() -> None:
    old = {"name": "web", "namespace": "default", "uid": "u1", "creationTimestamp": "t"}
    new = dict(old, name="web2", uid="u2", labels={"x": "y"})
    errors = validate_object_meta_update(new, old)
    assert [(e.field, e.message) for e in errors] == [
        ("metadata.name", 'Invalid value: "web2": field is immutable'),
        ("metadata.uid", 'Invalid value: "u2": field is immutable'),
    ]
