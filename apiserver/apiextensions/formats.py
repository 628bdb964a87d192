"""String formats of CRD schemas (`format: date-time`, `uuid`, ...), checked as upstream.

Kubernetes validates a fixed set of string formats in custom resources and ignores
any other `format` (including `int32`, `int64`, `float` and `double`, which only
document the value). `check_format` answers whether a string is valid for a
format; `is_validated_format` tells which formats are checked at all.

Kubernetes counterpart: staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/validation/formats.go
and k8s.io/kube-openapi/pkg/validation/strfmt/default.go
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable
from datetime import date, datetime

# go-openapi's hostname expression without its Unicode letter classes (ASCII only here).
_HOSTNAME_RE = re.compile(
    r"^([a-zA-Z0-9]((-?[a-zA-Z0-9]{0,62})?)|"
    r"([a-zA-Z0-9](([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.)){1,}([a-zA-Z]){2,63})$"
)
_UUID_RES = {
    "uuid": r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$",
    "uuid3": r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$",
    "uuid4": r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$",
    "uuid5": r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$",
}
_SIMPLE_RES = {
    **_UUID_RES,
    "bsonobjectid": r"^[0-9a-fA-F]{24}$",
    "hexcolor": r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$",
    "rgbcolor": r"^rgb\(\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d"
                r"|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*\)$",
    "ssn": r"^\d{3}[- ]?\d{2}[- ]?\d{4}$",
    "isbn10": r"^(?:[0-9]{9}X|[0-9]{10})$",
    "isbn13": r"^(?:[0-9]{13})$",
    "creditcard": r"^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|6(?:011|5[0-9][0-9])[0-9]{12}"
                  r"|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35\d{3})\d{11})$",
    "mac": r"^([0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\2){4}[0-9A-Fa-f]{2}"
           r"|[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\3){6}[0-9A-Fa-f]{2}"
           r"|([0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}|([0-9A-Fa-f]{4}\.){3}[0-9A-Fa-f]{4})$",
    "email": r"^[^@\s<>]+@[^@\s<>]+$",
}
_COMPILED = {name: re.compile(pattern) for name, pattern in _SIMPLE_RES.items()}
_DURATION_RE = re.compile(
    r"^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$|^0$"
    r"|^[-+]?\d+\s*(ns|us|ms|s|m|h|d|w|nanoseconds?|microseconds?|milliseconds?|seconds?"
    r"|minutes?|hours?|days?|weeks?)$"
)
_DATE_TIME_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$"
)


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) is not None


def _is_date_time(value: str) -> bool:
    if not _DATE_TIME_RE.match(value):
        return False
    normalized = value.replace("t", "T").replace(" ", "T").replace("z", "Z").replace("Z", "+00:00")
    try:
        datetime.fromisoformat(normalized)
    except ValueError:
        return False
    return True


def _is_byte(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _is_ip(version: int) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        try:
            return ipaddress.ip_address(value).version == version
        except ValueError:
            # Go's net.ParseIP accepts an IPv4 address written as IPv6 (::ffff:1.2.3.4).
            return False
    return check


def _is_cidr(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return "/" in value


def _is_uri(value: str) -> bool:
    # net/url.ParseRequestURI: an absolute URI or an absolute path, no fragment.
    return bool(re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*:|/)\S*$", value)) and "#" not in value


def _is_isbn(value: str) -> bool:
    digits = value.replace("-", "").replace(" ", "")
    return bool(_COMPILED["isbn10"].match(digits) or _COMPILED["isbn13"].match(digits))


_CHECKS: dict[str, Callable[[str], bool]] = {
    **{name: (lambda value, rx=rx: rx.match(value) is not None) for name, rx in _COMPILED.items()},
    "hostname": lambda value: len(value) <= 255 and _HOSTNAME_RE.match(value) is not None,
    "ipv4": _is_ip(4),
    "ipv6": _is_ip(6),
    "cidr": _is_cidr,
    "uri": _is_uri,
    "isbn": _is_isbn,
    "isbn10": lambda value: _is_isbn(value) and len(value.replace("-", "").replace(" ", "")) == 10,
    "isbn13": lambda value: _is_isbn(value) and len(value.replace("-", "").replace(" ", "")) == 13,
    "byte": _is_byte,
    "password": lambda value: True,
    "date": _is_date,
    "datetime": _is_date_time,
    "duration": lambda value: _DURATION_RE.match(value) is not None,
}


def _normalized(format_name: str) -> str:
    return format_name.replace("-", "")  # go-openapi's name normalization: date-time == datetime


def is_validated_format(format_name: str) -> bool:
    return _normalized(format_name) in _CHECKS


def check_format(format_name: str, value: str) -> bool:
    """Whether `value` is valid for `format_name`; unknown formats accept everything."""
    check = _CHECKS.get(_normalized(format_name))
    return check is None or check(value)
