"""The CEL type checker: rules are checked against the schema of their node.

cel-go declares `self` with the type the schema gives it, so a rule that reads an
undeclared field, calls a string function on an integer, or does not produce a
boolean fails when the CRD is written, not later on every object. This checker
does the same for the supported subset with a small type lattice:

- scalars "bool", "int", "double", "string", "null"; "dyn" when unknown
  (int-or-string, preserve-unknown-fields, results of `map()`);
- ("object", schema) for objects with declared properties, ("map", value schema)
  for `additionalProperties`, ("list", items schema) for arrays.

An operation whose operand types are both known and do not fit is an error worded
as cel-go words it (`found no matching overload for '_+_' applied to '(string, int)'`,
`undefined field 'foo'`). Anything involving "dyn" passes and is checked at run time.

Kubernetes counterpart: github.com/google/cel-go/checker and
staging/src/k8s.io/apiserver/pkg/cel/types.go (schema to CEL types)
"""

from __future__ import annotations

from typing import Any

from apiserver.apiextensions.cel_parser import CelCompileError, Node, compile_error

Type = Any  # a scalar name, "dyn", or a ("object" | "map" | "list", schema) pair
DYN = "dyn"
_NUMBERS = ("int", "double")
_RESULTS = {
    "size": "int", "int": "int", "uint": "int", "double": "double", "string": "string",
    "bool": "bool", "startsWith": "bool", "endsWith": "bool", "contains": "bool",
    "matches": "bool", "lowerAscii": "string", "upperAscii": "string", "trim": "string",
    "join": "string",
}
_STRING_METHODS = ("startsWith", "endsWith", "contains", "matches", "lowerAscii", "upperAscii", "trim")


class CelResultTypeError(CelCompileError):
    """The expression compiles but does not produce the type its use needs."""


def schema_type(schema: Any) -> Type:
    """The CEL type of values of a schema node."""
    if not isinstance(schema, dict) or schema.get("x-kubernetes-int-or-string") is True:
        return DYN
    declared = schema.get("type")
    if declared == "object":
        if isinstance(schema.get("additionalProperties"), dict):
            return ("map", schema["additionalProperties"])
        if schema.get("x-kubernetes-preserve-unknown-fields") is True and not schema.get("properties"):
            return DYN
        return ("object", schema)
    if declared == "array":
        return ("list", schema.get("items"))
    scalars = {"integer": "int", "number": "double", "string": "string", "boolean": "bool"}
    return scalars.get(str(declared), DYN)


def check_types(tree: Node, schema: dict[str, Any], source: str, want: str = "bool") -> None:
    """Raise CelCompileError if `tree` cannot type-check with `self` of `schema`."""
    checker = _Checker(source)
    result = checker.infer(tree, {"self": schema_type(schema), "oldSelf": schema_type(schema)})
    if _known(result) and _name(result) != want:
        detail = ("cel expression must evaluate to a bool" if want == "bool"
                  else "messageExpression must evaluate to a string")
        raise CelResultTypeError(detail)


def _name(value: Type) -> str:
    return value[0] if isinstance(value, tuple) else str(value)


def _known(value: Type) -> bool:
    return value != DYN


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, node: Node, message: str) -> CelCompileError:
        return compile_error(self.source, node.column, message)

    def overload(self, node: Node, op: str, *types: Type) -> CelCompileError:
        names = ", ".join(_name(value) for value in types)
        return self.fail(node, f"found no matching overload for '{op}' applied to '({names})'")

    def infer(self, node: Node, env: dict[str, Type]) -> Type:
        method = getattr(self, f"_{node.op}", None)
        if method is not None:
            return method(node, env)
        left, right = (self.infer(arg, env) for arg in node.args)
        if node.op in ("==", "!="):
            if _known(left) and _known(right) and _name(left) != _name(right) \
                    and not (_name(left) in _NUMBERS and _name(right) in _NUMBERS) \
                    and "null" not in (_name(left), _name(right)):
                raise self.overload(node, f"_{node.op}_", left, right)
            return "bool"
        if node.op in ("<", "<=", ">", ">="):
            comparable = {"int", "double", "string", "bool"}
            if _known(left) and _known(right) and not (
                    (_name(left) in _NUMBERS and _name(right) in _NUMBERS)
                    or (_name(left) == _name(right) and _name(left) in comparable)):
                raise self.overload(node, f"_{node.op}_", left, right)
            return "bool"
        if node.op == "in":
            if _known(right) and _name(right) not in ("list", "map"):
                raise self.overload(node, "@in", left, right)
            return "bool"
        return self._arithmetic(node, left, right)

    def _arithmetic(self, node: Node, left: Type, right: Type) -> Type:
        if not (_known(left) and _known(right)):
            return left if _known(left) and _name(left) in _NUMBERS + ("string",) else DYN
        allowed = {"+": ("int", "double", "string", "list"), "-": _NUMBERS, "*": _NUMBERS,
                   "/": _NUMBERS, "%": ("int",)}[node.op]
        if _name(left) != _name(right) or _name(left) not in allowed:
            raise self.overload(node, f"_{node.op}_", left, right)
        return left

    def _lit(self, node: Node, env: dict[str, Type]) -> Type:
        value = node.value
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "bool"
        return {int: "int", float: "double", str: "string"}.get(type(value), "int")

    def _ident(self, node: Node, env: dict[str, Type]) -> Type:
        return env.get(node.value, DYN)

    def _select(self, node: Node, env: dict[str, Type]) -> Type:
        target = self.infer(node.args[0], env)
        return self.field(node, target, node.value)

    def field(self, node: Node, target: Type, name: str) -> Type:
        kind = _name(target)
        if kind == "object":
            schema = target[1]
            properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
            if name in properties:
                return schema_type(properties[name])
            if schema.get("x-kubernetes-preserve-unknown-fields") is True:
                return DYN
            raise self.fail(node, f"undefined field '{name}'")
        if kind == "map":
            return schema_type(target[1])
        if _known(target):
            raise self.fail(node, f"type '{kind}' does not support field selection")
        return DYN

    def _index(self, node: Node, env: dict[str, Type]) -> Type:
        target = self.infer(node.args[0], env)
        index = self.infer(node.args[1], env)
        kind = _name(target)
        if kind == "list":
            if _known(index) and _name(index) != "int":
                raise self.overload(node, "_[_]", target, index)
            return schema_type(target[1])
        if kind == "map":
            return schema_type(target[1])
        if kind == "object":
            if node.args[1].op == "lit" and isinstance(node.args[1].value, str):
                return self.field(node, target, node.args[1].value)
            return DYN
        if _known(target):
            raise self.overload(node, "_[_]", target, index)
        return DYN

    def _has(self, node: Node, env: dict[str, Type]) -> Type:
        select = node.args[0]
        target = self.infer(select.args[0], env)
        if _name(target) in ("object", "map") or not _known(target):
            if _name(target) == "object":
                self.field(select, target, select.value)
            return "bool"
        raise self.fail(select, f"type '{_name(target)}' does not support field selection")

    def _bool_operands(self, node: Node, env: dict[str, Type], op: str) -> Type:
        types = [self.infer(arg, env) for arg in node.args]
        if any(_known(value) and _name(value) != "bool" for value in types):
            raise self.overload(node, op, *types)
        return "bool"

    def _logical(self, node: Node, env: dict[str, Type]) -> Type:
        return self._bool_operands(node, env, f"_{node.op}_")

    def _not(self, node: Node, env: dict[str, Type]) -> Type:
        return self._bool_operands(node, env, "!_")

    def _neg(self, node: Node, env: dict[str, Type]) -> Type:
        operand = self.infer(node.args[0], env)
        if _known(operand) and _name(operand) not in _NUMBERS:
            raise self.overload(node, "-_", operand)
        return operand

    def _conditional(self, node: Node, env: dict[str, Type]) -> Type:
        condition, then, otherwise = (self.infer(arg, env) for arg in node.args)
        if _known(condition) and _name(condition) != "bool":
            raise self.overload(node, "_?_:_", condition, then, otherwise)
        return then if _name(then) == _name(otherwise) else DYN

    def _list(self, node: Node, env: dict[str, Type]) -> Type:
        for item in node.args:
            self.infer(item, env)
        return ("list", None)

    def _map(self, node: Node, env: dict[str, Type]) -> Type:
        for item in node.args:
            self.infer(item, env)
        return ("map", None)

    def _macro(self, node: Node, env: dict[str, Type]) -> Type:
        name, variable = node.value
        target = self.infer(node.args[0], env)
        kind = _name(target)
        if kind == "list":
            element = schema_type(target[1])
        elif kind == "map":
            element = "string"
        elif _known(target):
            raise self.overload(node, name, target)
        else:
            element = DYN
        body = self.infer(node.args[1], {**env, variable: element})
        if name in ("all", "exists", "exists_one", "filter") and _known(body) and _name(body) != "bool":
            raise self.overload(node, name, target, body)
        if name == "filter":
            return target
        return ("list", None) if name == "map" else "bool"

    def _call(self, node: Node, env: dict[str, Type]) -> Type:
        (argument,) = (self.infer(arg, env) for arg in node.args)
        if node.value == "size" and _known(argument) and _name(argument) not in ("string", "list", "map", "object"):
            raise self.overload(node, "size", argument)
        return _RESULTS[node.value]

    def _method(self, node: Node, env: dict[str, Type]) -> Type:
        target, *args = (self.infer(arg, env) for arg in node.args)
        kind = _name(target)
        if _known(target):
            if node.value in _STRING_METHODS and kind != "string":
                raise self.overload(node, node.value, target, *args)
        if node.value in _STRING_METHODS and any(_known(arg) and _name(arg) != "string" for arg in args):
            raise self.overload(node, node.value, target, *args)
        if _known(target):
            if node.value == "size" and kind not in ("string", "list", "map", "object"):
                raise self.overload(node, "size", target)
            if node.value == "join" and kind != "list":
                raise self.overload(node, "join", target, *args)
        return _RESULTS[node.value]


_ALIASES = {"&&": "_logical", "||": "_logical", "!": "_not", "?:": "_conditional"}
for _op, _handler in _ALIASES.items():
    setattr(_Checker, f"_{_op}", getattr(_Checker, _handler))
