"""The functions of the supported CEL subset: `size`, conversions, string methods.

`call_function` serves global calls (`size(x)`, `int(x)`, ...), `call_method`
receiver calls (`x.size()`, `s.startsWith(p)`, ...). The parser has already
refused any other name, so reaching the end of a dispatch means the arguments have
the wrong types: `no such overload`, as cel-go reports it.

Kubernetes counterpart: github.com/google/cel-go/common/stdlib and
k8s.io/apiserver/pkg/cel/library (lowerAscii, upperAscii, trim, join)
"""

from __future__ import annotations

import math
from typing import Any

from apiserver.apiextensions.go_regex import GoRegexError, compile_go_regex

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1


class EvalError(Exception):
    """A rule failed at run time (`no such key: x`, division by zero, bad types)."""


def type_name(value: Any) -> str:
    """CEL's name for the type of a JSON value."""
    if value is None:
        return "null_type"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    names = {float: "double", str: "string", list: "list", dict: "map"}
    return names.get(type(value), type(value).__name__)


def no_overload(op: str, *values: Any) -> EvalError:
    types = ", ".join(type_name(value) for value in values)
    return EvalError(f"no such overload: {op}({types})")


def call_function(name: str, args: list[Any]) -> Any:
    (value,) = args
    if name == "size":
        return _size(value)
    if name == "int":
        return _to_int(value)
    if name == "uint":
        number = _to_int(value)
        if number < 0 or number > UINT64_MAX:
            raise EvalError("uint out of range")
        return number
    if name == "double":
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise EvalError(f"cannot convert '{value}' to double") from None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    if name == "string":
        return _to_string(value)
    if name == "bool":
        if isinstance(value, bool):
            return value
        if value in ("true", "True", "TRUE", "t", "1"):
            return True
        if value in ("false", "False", "FALSE", "f", "0"):
            return False
    raise no_overload(name, value)


def call_method(name: str, target: Any, args: list[Any]) -> Any:
    if name == "size" and not args:
        return _size(target)
    if name == "join" and isinstance(target, list) and all(isinstance(s, str) for s in target):
        separator = args[0] if args else ""
        if isinstance(separator, str):
            return separator.join(target)
    if isinstance(target, str) and all(isinstance(arg, str) for arg in args):
        if name == "startsWith":
            return target.startswith(args[0])
        if name == "endsWith":
            return target.endswith(args[0])
        if name == "contains":
            return args[0] in target
        if name == "matches":
            try:
                return compile_go_regex(args[0]).search(target) is not None
            except GoRegexError as err:
                raise EvalError(str(err)) from err
        if name == "lowerAscii":
            return "".join(c.lower() if c.isascii() else c for c in target)
        if name == "upperAscii":
            return "".join(c.upper() if c.isascii() else c for c in target)
        if name == "trim":
            return target.strip()
    raise no_overload(name, target, *args)


def _size(value: Any) -> int:
    if isinstance(value, (str, list, dict)):
        return len(value)  # code points for a string, as CEL counts them
    raise no_overload("size", value)


def _to_int(value: Any) -> int:
    if isinstance(value, bool) or value is None:
        raise no_overload("int", value)
    if isinstance(value, float):
        if math.isnan(value) or not INT64_MIN <= value <= INT64_MAX:
            raise EvalError("double out of int range")
        return int(value)
    if isinstance(value, str):
        try:
            number = int(value, 10)
        except ValueError:
            raise EvalError(f"cannot convert '{value}' to int") from None
    elif isinstance(value, int):
        number = value
    else:
        raise no_overload("int", value)
    if not INT64_MIN <= number <= INT64_MAX:
        raise EvalError("int out of range")
    return number


def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else f"{value:.0f}"
    raise no_overload("string", value)
