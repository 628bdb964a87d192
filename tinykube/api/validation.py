"""Name and metadata validation, worded the way Kubernetes words it.

The `is_*` functions check one string and return a list of human-readable problems
(empty when the value is valid); their messages match apimachinery's so that users
see the same text from tinykube and from a real cluster. `validate_object_meta`
checks an object's `metadata` and returns `FieldError`s whose `type` strings are
exactly the `reason` values Kubernetes puts in `Status.details.causes`.

Invariants: everything here is pure (no I/O); regexes are matched against the whole
string (`re.fullmatch`), as Go's anchored `^...$` does.

Kubernetes counterpart: staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go
and staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

NameValidator = Callable[[str], list[str]]

DNS1123_LABEL_MAX_LENGTH = 63
DNS1123_SUBDOMAIN_MAX_LENGTH = 253
DNS1035_LABEL_MAX_LENGTH = 63
QUALIFIED_NAME_MAX_LENGTH = 63
LABEL_VALUE_MAX_LENGTH = 63
TOTAL_ANNOTATION_SIZE_LIMIT_B = 256 * 1024

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL_ERR = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-',"
    " and must start and end with an alphanumeric character"
)
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_SUBDOMAIN_ERR = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters,"
    " '-' or '.', and must start and end with an alphanumeric character"
)
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_LABEL_ERR = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-',"
    " start with an alphabetic character, and end with an alphanumeric character"
)
_QNAME_CHAR_FMT = "[A-Za-z0-9]"
_QNAME_EXT_CHAR_FMT = "[-A-Za-z0-9_.]"
_QUALIFIED_NAME_FMT = f"({_QNAME_CHAR_FMT}{_QNAME_EXT_CHAR_FMT}*)?{_QNAME_CHAR_FMT}"
_QUALIFIED_NAME_ERR = (
    "must consist of alphanumeric characters, '-', '_' or '.',"
    " and must start and end with an alphanumeric character"
)
_LABEL_VALUE_FMT = f"({_QUALIFIED_NAME_FMT})?"
_LABEL_VALUE_ERR = (
    "a valid label must be an empty string or consist of alphanumeric characters,"
    " '-', '_' or '.', and must start and end with an alphanumeric character"
)

_DNS1123_LABEL_RE = re.compile(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_RE = re.compile(_DNS1123_SUBDOMAIN_FMT)
_DNS1035_LABEL_RE = re.compile(_DNS1035_LABEL_FMT)
_QUALIFIED_NAME_RE = re.compile(_QUALIFIED_NAME_FMT)
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE_FMT)


def max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def empty_error() -> str:
    return "must be non-empty"


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """`msg (e.g. 'a' or 'b', regex used for validation is 'fmt')`, as upstream."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    quoted = " or ".join(f"'{example}'" for example in examples)
    return f"{msg} (e.g. {quoted}, regex used for validation is '{fmt}')"


def is_dns1123_label(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > DNS1123_LABEL_MAX_LENGTH:
        errs.append(max_len_error(DNS1123_LABEL_MAX_LENGTH))
    if not _DNS1123_LABEL_RE.fullmatch(value):
        if _DNS1123_SUBDOMAIN_RE.fullmatch(value):
            # A valid subdomain but not a label: the length was checked, so it has dots.
            errs.append("must not contain dots")
        else:
            errs.append(regex_error(_DNS1123_LABEL_ERR, _DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not _DNS1123_SUBDOMAIN_RE.fullmatch(value):
        errs.append(regex_error(_DNS1123_SUBDOMAIN_ERR, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_dns1035_label(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > DNS1035_LABEL_MAX_LENGTH:
        errs.append(max_len_error(DNS1035_LABEL_MAX_LENGTH))
    if not _DNS1035_LABEL_RE.fullmatch(value):
        errs.append(regex_error(_DNS1035_LABEL_ERR, _DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


def is_qualified_name(value: str) -> list[str]:
    """A label or annotation key: `[prefix/]name`, prefix a DNS subdomain."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part " + empty_error())
        else:
            errs.extend("prefix part " + msg for msg in is_dns1123_subdomain(prefix))
    else:
        return [
            "a qualified name "
            + regex_error(_QUALIFIED_NAME_ERR, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part " + empty_error())
    elif len(name) > QUALIFIED_NAME_MAX_LENGTH:
        errs.append("name part " + max_len_error(QUALIFIED_NAME_MAX_LENGTH))
    if not _QUALIFIED_NAME_RE.fullmatch(name):
        errs.append(
            "name part "
            + regex_error(_QUALIFIED_NAME_ERR, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


def is_valid_label_value(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > LABEL_VALUE_MAX_LENGTH:
        errs.append(max_len_error(LABEL_VALUE_MAX_LENGTH))
    if not _LABEL_VALUE_RE.fullmatch(value):
        errs.append(regex_error(_LABEL_VALUE_ERR, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def mask_trailing_dash(name: str) -> str:
    """generateName may end in '-' (a suffix follows), so validate it as if it did not."""
    if len(name) > 1 and name.endswith("-"):
        return name[:-1] + "a"
    return name


# -- field errors ---------------------------------------------------------------------

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
DUPLICATE = "FieldValueDuplicate"
FORBIDDEN = "FieldValueForbidden"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"


@dataclass(frozen=True)
class FieldError:
    """One problem with one field.

    - `type` is the Status cause `reason` (e.g. "FieldValueInvalid").
    - `field` is the dotted path (e.g. "metadata.name").
    - `message` is the body Kubernetes puts in the cause (e.g. 'Invalid value: "X": ...').
    """

    type: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"

    def as_cause(self) -> dict[str, str]:
        """The `Status.details.causes[]` entry."""
        return {"reason": self.type, "message": self.message, "field": self.field}


def _show(value: Any) -> str:
    """Render a bad value the way Go's %#v does for the common cases."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        # A Go map[string]string under %#v: sorted keys, no space after the colon.
        entries = ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(value.items()))
        return f"map[string]string{{{entries}}}"
    return json.dumps(value, default=str, sort_keys=True)


def required(field: str, detail: str = "") -> FieldError:
    return FieldError(REQUIRED, field, "Required value" + (f": {detail}" if detail else ""))


def invalid(field: str, value: Any, detail: str) -> FieldError:
    message = f"Invalid value: {_show(value)}" + (f": {detail}" if detail else "")
    return FieldError(INVALID, field, message)


def not_supported(field: str, value: Any, valid_values: list[str]) -> FieldError:
    supported = ", ".join(json.dumps(v) for v in valid_values)
    return FieldError(
        NOT_SUPPORTED, field, f"Unsupported value: {_show(value)}: supported values: {supported}"
    )


def duplicate(field: str, value: Any) -> FieldError:
    return FieldError(DUPLICATE, field, f"Duplicate value: {_show(value)}")


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError(FORBIDDEN, field, f"Forbidden: {detail}")


def too_many(field: str, actual: int, max_items: int) -> FieldError:
    return FieldError(TOO_MANY, field, f"Too many: {actual}: must have at most {max_items} items")


def too_long(field: str, max_length: int) -> FieldError:
    return FieldError(TOO_LONG, field, f"Too long: may not be more than {max_length} bytes")


# -- metadata -------------------------------------------------------------------------

FINALIZER_ORPHAN_DEPENDENTS = "orphan"
FINALIZER_DELETE_DEPENDENTS = "foregroundDeletion"
# Finalizer names Kubernetes itself defines without a domain (IsStandardFinalizerName).
STANDARD_FINALIZERS = ("kubernetes", FINALIZER_ORPHAN_DEPENDENTS, FINALIZER_DELETE_DEPENDENTS)


def finalizer_warnings(finalizers: Any, previous: Any = ()) -> list[str]:
    """kube-apiserver's warning for each added finalizer without a domain prefix."""
    if not isinstance(finalizers, list):
        return []
    before = set(previous) if isinstance(previous, list) else set()
    return [f'metadata.finalizers: "{name}": prefer a domain-qualified finalizer name to avoid '
            "accidental conflicts with other finalizer writers"
            for name in finalizers
            if isinstance(name, str) and "/" not in name and name not in STANDARD_FINALIZERS
            and name not in before]
# Kinds that may never own another object (apiVersion, kind).
BANNED_OWNERS: frozenset[tuple[str, str]] = frozenset({("v1", "Event")})


def validate_labels(labels: Any, field: str) -> list[FieldError]:
    if labels is None:
        return []
    if not isinstance(labels, Mapping):
        return [invalid(field, labels, "must be a map of string keys to string values")]
    errs: list[FieldError] = []
    for key, value in labels.items():
        errs.extend(invalid(field, key, msg) for msg in is_qualified_name(str(key)))
        if not isinstance(value, str):
            errs.append(invalid(field, value, "label values must be strings"))
            continue
        errs.extend(invalid(field, value, msg) for msg in is_valid_label_value(value))
    return errs


def validate_annotations(annotations: Any, field: str) -> list[FieldError]:
    if annotations is None:
        return []
    if not isinstance(annotations, Mapping):
        return [invalid(field, annotations, "must be a map of string keys to string values")]
    errs: list[FieldError] = []
    total_size = 0
    for key, value in annotations.items():
        # Annotation keys are qualified names except that case does not matter.
        errs.extend(invalid(field, key, msg) for msg in is_qualified_name(str(key).lower()))
        if not isinstance(value, str):
            errs.append(invalid(field, value, "annotation values must be strings"))
            continue
        total_size += len(str(key)) + len(value)
    if total_size > TOTAL_ANNOTATION_SIZE_LIMIT_B:
        errs.append(too_long(field, TOTAL_ANNOTATION_SIZE_LIMIT_B))
    return errs


def validate_owner_references(refs: Any, field: str) -> list[FieldError]:
    """Every reference names apiVersion, kind, name and uid; at most one controller."""
    if refs is None:
        return []
    if not isinstance(refs, list):
        return [invalid(field, refs, "must be a list")]
    errs: list[FieldError] = []
    first_controller = ""
    for ref in refs:
        if not isinstance(ref, Mapping):
            errs.append(invalid(field, ref, "must be an object"))
            continue
        api_version = str(ref.get("apiVersion") or "")
        version = api_version.rpartition("/")[2]
        # Upstream names the child fields without an index.
        if not version:
            errs.append(invalid(f"{field}.apiVersion", api_version, "version must not be empty"))
        if not ref.get("kind"):
            errs.append(invalid(f"{field}.kind", ref.get("kind") or "", "kind must not be empty"))
        if not ref.get("name"):
            errs.append(invalid(f"{field}.name", ref.get("name") or "", "name must not be empty"))
        if not ref.get("uid"):
            errs.append(invalid(f"{field}.uid", ref.get("uid") or "", "uid must not be empty"))
        if (api_version, ref.get("kind")) in BANNED_OWNERS:
            errs.append(invalid(field, dict(ref), f"{api_version}, Kind={ref.get('kind')} "
                                "is disallowed from being an owner"))
        if ref.get("controller") is True:
            current = f"{ref.get('kind')}/{ref.get('name')}"
            if first_controller:
                errs.append(invalid(
                    field, [dict(r) for r in refs if isinstance(r, Mapping)],
                    "Only one reference can have Controller set to true. "
                    f'Found "true" in references for {first_controller} and {current}',
                ))
            else:
                first_controller = current
    return errs


def validate_finalizers(finalizers: Any, field: str) -> list[FieldError]:
    if finalizers is None:
        return []
    if not isinstance(finalizers, list):
        return [invalid(field, finalizers, "must be a list of strings")]
    errs: list[FieldError] = []
    for finalizer in finalizers:
        errs.extend(invalid(field, finalizer, msg) for msg in is_qualified_name(str(finalizer)))
    if FINALIZER_ORPHAN_DEPENDENTS in finalizers and FINALIZER_DELETE_DEPENDENTS in finalizers:
        errs.append(invalid(field, finalizers, f"finalizer {FINALIZER_ORPHAN_DEPENDENTS} and "
                            f"{FINALIZER_DELETE_DEPENDENTS} cannot be both set"))
    return errs


def validate_object_meta(
    meta: Mapping[str, Any] | None,
    *,
    namespaced: bool,
    name_validator: NameValidator = is_dns1123_subdomain,
    create: bool,
) -> list[FieldError]:
    """Check an object's metadata; field paths start at "metadata".

    Kubernetes fills `name` from `generateName` before it validates, so a create that
    carries only generateName is accepted here too (`create=True`); the caller must
    generate the name before storing the object.
    """
    if meta is None:
        meta = {}
    if not isinstance(meta, Mapping):
        return [invalid("metadata", meta, "must be an object")]
    errs: list[FieldError] = []
    name = meta.get("name") or ""
    generate_name = meta.get("generateName") or ""
    if generate_name:
        for msg in name_validator(mask_trailing_dash(str(generate_name))):
            errs.append(invalid("metadata.generateName", generate_name, msg))
    if not name:
        if not (create and generate_name):
            errs.append(required("metadata.name", "name or generateName is required"))
    else:
        errs.extend(invalid("metadata.name", name, msg) for msg in name_validator(str(name)))
    namespace = meta.get("namespace") or ""
    if namespaced:
        if not namespace:
            errs.append(required("metadata.namespace"))
        else:
            errs.extend(invalid("metadata.namespace", namespace, msg)
                        for msg in is_dns1123_label(str(namespace)))
    elif namespace:
        errs.append(forbidden("metadata.namespace", "not allowed on this type"))
    generation = meta.get("generation")
    if isinstance(generation, int) and generation < 0:
        errs.append(invalid("metadata.generation", generation,
                            "must be greater than or equal to 0"))
    errs.extend(validate_labels(meta.get("labels"), "metadata.labels"))
    errs.extend(validate_annotations(meta.get("annotations"), "metadata.annotations"))
    errs.extend(validate_owner_references(meta.get("ownerReferences"), "metadata.ownerReferences"))
    errs.extend(validate_finalizers(meta.get("finalizers"), "metadata.finalizers"))
    return errs


def validate_object_meta_update(
    new: Mapping[str, Any], old: Mapping[str, Any]
) -> list[FieldError]:
    """Fields an update may not change: name, namespace, uid, creationTimestamp."""
    errs: list[FieldError] = []
    for key in ("name", "namespace", "uid", "creationTimestamp"):
        if (new.get(key) or "") != (old.get(key) or ""):
            errs.append(invalid(f"metadata.{key}", new.get(key) or "", "field is immutable"))
    return errs
