"""The CEL interpreter: evaluate a parsed rule against JSON values.

Values are the JSON values of the custom resource (dict, list, str, int, float,
bool, None). CEL's rules that matter for validation are kept:

- no truthiness: `!`, `&&`, `||` and `?:` need booleans;
- `&&` and `||` are commutative over errors: `false && <error>` is false, whichever
  side fails;
- a missing field is an error (`no such key: x`); `has()` tests presence;
- int arithmetic is 64-bit and overflow is an error; int division truncates toward
  zero and `%` takes the dividend's sign, as in Go; division by zero is an error;
- numbers compare across int and double.

Simplification (listed in docs/differences-from-kubernetes.md): values are not
typed from the schema, so an int and a double may be mixed in arithmetic (the
result is a double) where cel-go would report `no such overload`.

Kubernetes counterpart: github.com/google/cel-go/interpreter
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apiserver.apiextensions.cel_functions import (
    INT64_MAX,
    INT64_MIN,
    EvalError,
    call_function,
    call_method,
    no_overload,
    type_name,
)
from apiserver.apiextensions.cel_parser import Node



def evaluate(node: Node, variables: dict[str, Any]) -> Any:
    """The value of `node` with `variables` bound (`self`, `oldSelf`, macro variables)."""
    handler = _HANDLERS.get(node.op)
    if handler is not None:
        return handler(node, variables)
    if node.op in _BINARY:
        return _BINARY[node.op](evaluate(node.args[0], variables), evaluate(node.args[1], variables))
    raise EvalError(f"unsupported expression {node.op}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _checked_int(value: int) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise EvalError("integer overflow")
    return value


def _bool(value: Any, op: str) -> bool:
    if not isinstance(value, bool):
        raise no_overload(op, value)
    return value


def _lit(node: Node, variables: dict[str, Any]) -> Any:
    return int(node.value) if isinstance(node.value, int) and not isinstance(node.value, bool) \
        else node.value


def _ident(node: Node, variables: dict[str, Any]) -> Any:
    return variables[node.value]


def _select(node: Node, variables: dict[str, Any]) -> Any:
    target = evaluate(node.args[0], variables)
    if not isinstance(target, dict):
        raise EvalError(f"no such key: {node.value}" if target is None
                        else f"type '{type_name(target)}' does not support field selection")
    if node.value not in target:
        raise EvalError(f"no such key: {node.value}")
    return target[node.value]


def _index(node: Node, variables: dict[str, Any]) -> Any:
    target = evaluate(node.args[0], variables)
    key = evaluate(node.args[1], variables)
    if isinstance(target, list):
        if not isinstance(key, int) or isinstance(key, bool):
            raise no_overload("_[_]", target, key)
        if not 0 <= key < len(target):
            raise EvalError(f"index out of range: {key}")
        return target[key]
    if isinstance(target, dict):
        if not isinstance(key, (str, int)) or key not in target:
            raise EvalError(f"no such key: {key}")
        return target[key]
    raise no_overload("_[_]", target, key)


def _has(node: Node, variables: dict[str, Any]) -> bool:
    select = node.args[0]
    target = evaluate(select.args[0], variables)
    if not isinstance(target, dict):
        raise no_overload("has", target)
    return select.value in target


def _logical(node: Node, variables: dict[str, Any]) -> bool:
    decisive = node.op == "||"  # the value that settles the result on its own
    error: EvalError | None = None
    for operand in node.args:
        try:
            value = _bool(evaluate(operand, variables), node.op)
        except EvalError as err:
            error = error or err
            continue
        if value is decisive:
            return decisive
    if error is not None:
        raise error
    return not decisive


def _not(node: Node, variables: dict[str, Any]) -> bool:
    return not _bool(evaluate(node.args[0], variables), "!_")


def _neg(node: Node, variables: dict[str, Any]) -> Any:
    value = evaluate(node.args[0], variables)
    if isinstance(value, float):
        return -value
    if _is_number(value):
        return _checked_int(-value)
    raise no_overload("-_", value)


def _conditional(node: Node, variables: dict[str, Any]) -> Any:
    condition = _bool(evaluate(node.args[0], variables), "_?_:_")
    return evaluate(node.args[1] if condition else node.args[2], variables)


def _list(node: Node, variables: dict[str, Any]) -> list[Any]:
    return [evaluate(item, variables) for item in node.args]


def _map(node: Node, variables: dict[str, Any]) -> dict[Any, Any]:
    values = [evaluate(item, variables) for item in node.args]
    return dict(zip(values[0::2], values[1::2], strict=True))


def _macro(node: Node, variables: dict[str, Any]) -> Any:
    name, variable = node.value
    target = evaluate(node.args[0], variables)
    if isinstance(target, dict):
        elements = list(target)  # macros range over a map's keys
    elif isinstance(target, list):
        elements = target
    else:
        raise no_overload(name, target)
    body = node.args[1]

    def run(element: Any) -> Any:
        return evaluate(body, {**variables, variable: element})

    if name == "map":
        return [run(element) for element in elements]
    if name == "filter":
        return [element for element in elements if _bool(run(element), name)]
    if name == "exists_one":
        return sum(1 for element in elements if _bool(run(element), name)) == 1
    # all / exists are commutative over errors, like && and ||.
    decisive = name == "exists"
    error: EvalError | None = None
    for element in elements:
        try:
            if _bool(run(element), name) is decisive:
                return decisive
        except EvalError as err:
            error = error or err
    if error is not None:
        raise error
    return not decisive


def _call(node: Node, variables: dict[str, Any]) -> Any:
    return call_function(node.value, [evaluate(arg, variables) for arg in node.args])


def _method(node: Node, variables: dict[str, Any]) -> Any:
    target, *args = [evaluate(arg, variables) for arg in node.args]
    return call_method(node.value, target, args)


_HANDLERS: dict[str, Callable[[Node, dict[str, Any]], Any]] = {
    "lit": _lit, "ident": _ident, "select": _select, "index": _index, "has": _has,
    "&&": _logical, "||": _logical, "!": _not, "neg": _neg, "?:": _conditional,
    "list": _list, "map": _map, "macro": _macro, "call": _call, "method": _method,
}


def _equals(left: Any, right: Any) -> bool:
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    if type(left) is not type(right) and not (isinstance(left, int) and isinstance(right, int)):
        return False
    return bool(left == right)


def _compare(op: str, test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(left: Any, right: Any) -> bool:
        comparable = (_is_number(left) and _is_number(right)) or (
            type(left) is type(right) and isinstance(left, (str, bool)))
        if not comparable:
            raise no_overload(op, left, right)
        return test(left, right)
    return compare


def _arithmetic(op: str, left: Any, right: Any) -> Any:
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    if op == "+" and isinstance(left, list) and isinstance(right, list):
        return left + right
    if not (_is_number(left) and _is_number(right)):
        raise no_overload(f"_{op}_", left, right)
    if isinstance(left, float) or isinstance(right, float):
        return _double_arithmetic(op, float(left), float(right))
    if op in ("/", "%") and right == 0:
        raise EvalError("division by zero" if op == "/" else "modulus by zero")
    if op == "/":
        quotient = abs(left) // abs(right)
        return _checked_int(quotient if (left >= 0) == (right >= 0) else -quotient)
    if op == "%":
        remainder = abs(left) % abs(right)
        return remainder if left >= 0 else -remainder
    return _checked_int({"+": left + right, "-": left - right, "*": left * right}[op])


def _double_arithmetic(op: str, left: float, right: float) -> float:
    if op == "%":
        raise no_overload("_%_", left, right)
    if op == "/" and right == 0:  # IEEE 754, as cel-go
        return float("nan") if left == 0 else float("inf") if left > 0 else float("-inf")
    return {"+": left + right, "-": left - right, "*": left * right,
            "/": left / right if right else 0.0}[op]


def _contains(left: Any, right: Any) -> bool:
    if isinstance(right, list):
        return any(_equals(left, item) for item in right)
    if isinstance(right, dict):
        return isinstance(left, (str, int)) and left in right
    raise no_overload("@in", left, right)


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "==": _equals,
    "!=": lambda left, right: not _equals(left, right),
    "<": _compare("_<_", lambda a, b: a < b),
    "<=": _compare("_<=_", lambda a, b: a <= b),
    ">": _compare("_>_", lambda a, b: a > b),
    ">=": _compare("_>=_", lambda a, b: a >= b),
    "+": lambda left, right: _arithmetic("+", left, right),
    "-": lambda left, right: _arithmetic("-", left, right),
    "*": lambda left, right: _arithmetic("*", left, right),
    "/": lambda left, right: _arithmetic("/", left, right),
    "%": lambda left, right: _arithmetic("%", left, right),
    "in": _contains,
}

