"""The CEL parser: rule text -> an expression tree, with CEL's precedence.

    expr     = or ['?' or ':' expr]
    or       = and {'||' and}          and = relation {'&&' relation}
    relation = add {('<'|'<='|'>'|'>='|'=='|'!='|'in') add}
    add      = mul {('+'|'-') mul}     mul = unary {('*'|'/'|'%') unary}
    unary    = {'!'|'-'} member
    member   = primary {'.' IDENT ['(' args ')'] | '[' expr ']'}
    primary  = IDENT ['(' args ')'] | '(' expr ')' | '[' list ']' | '{' map '}' | literal

Names are checked here too: only `self`, `oldSelf` and macro variables may be
referenced, and only the functions of the supported subset called, so that an
unsupported rule fails when the CRD is written. Errors read like cel-go's
(`ERROR: <input>:1:6: undeclared reference to 'foo'`).

Kubernetes counterpart: github.com/google/cel-go/parser (and checker, for names)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Global functions and receiver methods of the supported subset, with arities.
FUNCTIONS: dict[str, tuple[int, ...]] = {
    "size": (1,), "int": (1,), "uint": (1,), "double": (1,), "string": (1,), "bool": (1,),
}
METHODS: dict[str, tuple[int, ...]] = {
    "size": (0,), "startsWith": (1,), "endsWith": (1,), "contains": (1,), "matches": (1,),
    "lowerAscii": (0,), "upperAscii": (0,), "trim": (0,), "join": (0, 1),
}
MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
VARIABLES = frozenset({"self", "oldSelf"})

_TOKEN_RE = re.compile(r"""
    (?P<space>\s+)
  | (?P<double>(?:\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\.\d+(?:[eE][+-]?\d+)?))
  | (?P<int>0[xX][0-9a-fA-F]+[uU]?|\d+[uU]?)
  | (?P<string>[rR]?(?:'''(?:[^\\]|\\.)*?'''|\"\"\"(?:[^\\]|\\.)*?\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[-+*/%<>!?:.,()\[\]{}])
""", re.VERBOSE | re.DOTALL)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "`": "`",
            "a": "\a", "b": "\b", "f": "\f", "v": "\v", "?": "?"}
_RELATIONS = ("<", "<=", ">", ">=", "==", "!=", "in")


class CelCompileError(ValueError):
    """The rule does not parse or uses something outside the supported subset."""


@dataclass(frozen=True)
class Node:
    """One expression: `op` is the kind ("lit", "ident", "select", "call", "+", ...)."""

    op: str
    value: Any = None
    args: tuple[Node, ...] = field(default=())
    column: int = field(default=0, compare=False)  # 0-based, where errors point


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    column: int


def parse(source: str) -> Node:
    """Parse and name-check `source`; raises CelCompileError."""
    parser = _Parser(source, _tokenize(source))
    tree = parser.expr()
    if parser.peek().kind != "eof":
        parser.fail(parser.peek(), f"Syntax error: extraneous input '{parser.peek().text}'")
    _check_names(tree, frozenset(), source)
    return tree


def compile_error(source: str, column: int, message: str) -> CelCompileError:
    """An error worded and pointed as cel-go prints its issues."""
    return CelCompileError(f"ERROR: <input>:1:{column + 1}: {message}\n | {source}\n"
                           f" | {'.' * column}^")


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN_RE.match(source, pos)
        if match is None:
            raise compile_error(source, pos, f"Syntax error: token recognition error at: '{source[pos]}'")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(0), pos))
        pos = match.end()
    tokens.append(_Token("eof", "<EOF>", len(source)))
    return tokens


def _string_value(text: str, token: _Token, source: str) -> str:
    raw = text[0] in "rR"
    body = text[1:] if raw else text
    quote = 3 if body[:3] in ("'''", '"""') else 1
    body = body[quote:-quote]
    if raw:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        if body[i] != "\\":
            out.append(body[i])
            i += 1
            continue
        letter = body[i + 1]
        if letter in _ESCAPES:
            out.append(_ESCAPES[letter])
            i += 2
        elif letter in "uUx":
            width = {"u": 4, "U": 8, "x": 2}[letter]
            out.append(chr(int(body[i + 2:i + 2 + width], 16)))
            i += 2 + width
        else:
            raise compile_error(source, token.column, f"Syntax error: invalid escape sequence '\\{letter}'")
    return "".join(out)


class _Parser:
    def __init__(self, source: str, tokens: list[_Token]) -> None:
        self.source = source
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def accept(self, text: str) -> bool:
        token = self.peek()
        if token.kind in ("op", "ident") and token.text == text:
            self.pos += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.accept(text):
            token = self.peek()
            self.fail(token, f"Syntax error: mismatched input '{token.text}' expecting '{text}'")

    def fail(self, token: _Token, message: str) -> None:
        raise compile_error(self.source, token.column, message)

    def expr(self) -> Node:
        condition = self.binary_or()
        column = self.peek().column
        if self.accept("?"):
            then = self.binary_or()
            self.expect(":")
            otherwise = self.expr()
            return Node("?:", None, (condition, then, otherwise), column)
        return condition

    def binary_or(self) -> Node:
        node = self.binary_and()
        while self.peek().text == "||":
            column = self.take().column
            node = Node("||", None, (node, self.binary_and()), column)
        return node

    def binary_and(self) -> Node:
        node = self.relation()
        while self.peek().text == "&&":
            column = self.take().column
            node = Node("&&", None, (node, self.relation()), column)
        return node

    def relation(self) -> Node:
        node = self.addition()
        while self.peek().text in _RELATIONS and self.peek().kind in ("op", "ident"):
            token = self.take()
            node = Node(token.text, None, (node, self.addition()), token.column)
        return node

    def addition(self) -> Node:
        node = self.multiplication()
        while self.peek().kind == "op" and self.peek().text in ("+", "-"):
            token = self.take()
            node = Node(token.text, None, (node, self.multiplication()), token.column)
        return node

    def multiplication(self) -> Node:
        node = self.unary()
        while self.peek().kind == "op" and self.peek().text in ("*", "/", "%"):
            token = self.take()
            node = Node(token.text, None, (node, self.unary()), token.column)
        return node

    def unary(self) -> Node:
        if self.peek().kind == "op" and self.peek().text == "!":
            column = self.take().column
            return Node("!", None, (self.unary(),), column)
        if self.peek().kind == "op" and self.peek().text == "-":
            column = self.take().column
            operand = self.unary()
            if operand.op == "lit" and isinstance(operand.value, (int, float)) \
                    and not isinstance(operand.value, bool):
                return Node("lit", -operand.value)
            return Node("neg", None, (operand,), column)
        return self.member()

    def member(self) -> Node:
        node = self.primary()
        while True:
            if self.peek().kind == "op" and self.peek().text == ".":
                dot = self.take().column
                name = self.take()
                if name.kind != "ident":
                    self.fail(name, f"Syntax error: no viable alternative at input '.{name.text}'")
                if self.accept("("):
                    node = self.method_call(node, name, dot)
                else:
                    node = Node("select", name.text, (node,), dot)
            elif self.peek().kind == "op" and self.peek().text == "[":
                bracket = self.take().column
                index = self.expr()
                self.expect("]")
                node = Node("index", None, (node, index), bracket)
            else:
                return node

    def method_call(self, target: Node, name: _Token, dot: int) -> Node:
        args = self.arguments(")")
        if name.text in MACROS:
            if len(args) != 2 or args[0].op != "ident":
                self.fail(name, f"{name.text}() takes a variable name and an expression")
            return Node("macro", (name.text, args[0].value), (target, args[1]), dot)
        if name.text not in METHODS or len(args) not in METHODS[name.text]:
            self.fail(name, f"undeclared reference to '{name.text}' (in container '')")
        return Node("method", name.text, (target, *args), name.column + len(name.text))

    def arguments(self, closing: str) -> list[Node]:
        args: list[Node] = []
        if self.accept(closing):
            return args
        while True:
            args.append(self.expr())
            if self.accept(closing):
                return args
            self.expect(",")

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "int":
            text = token.text.rstrip("uU")
            number = int(text, 16) if text[:2] in ("0x", "0X") else int(text)
            return Node("lit", number if text == token.text else _Uint(number))
        if token.kind == "double":
            return Node("lit", float(token.text))
        if token.kind == "string":
            return Node("lit", _string_value(token.text, token, self.source))
        if token.kind == "ident":
            return self.identifier(token)
        if token.text == "(":
            node = self.expr()
            self.expect(")")
            return node
        if token.text == "[":
            return Node("list", None, tuple(self.arguments("]")))
        if token.text == "{":
            return self.map_literal()
        if token.text == ".":
            self.fail(token, "Syntax error: leading '.' names are not supported")
        self.fail(token, f"Syntax error: mismatched input '{token.text}'")
        raise AssertionError("unreachable")

    def identifier(self, token: _Token) -> Node:
        constants = {"true": True, "false": False, "null": None}
        if token.text in constants:
            return Node("lit", constants[token.text])
        if not self.accept("("):
            return Node("ident", token.text, (), token.column)
        args = self.arguments(")")
        if token.text == "has":
            if len(args) != 1 or args[0].op != "select":
                self.fail(token, "invalid argument to has() macro")
            return Node("has", None, (args[0],), token.column + 3)
        if token.text not in FUNCTIONS or len(args) not in FUNCTIONS[token.text]:
            self.fail(token, f"undeclared reference to '{token.text}' (in container '')")
        return Node("call", token.text, tuple(args), token.column + len(token.text))

    def map_literal(self) -> Node:
        entries: list[Node] = []
        if self.accept("}"):
            return Node("map", None, ())
        while True:
            entries.append(self.expr())
            self.expect(":")
            entries.append(self.expr())
            if self.accept("}"):
                return Node("map", None, tuple(entries))
            self.expect(",")


class _Uint(int):
    """A CEL uint literal (`1u`); arithmetic results stay plain ints."""


def _check_names(node: Node, bound: frozenset[str], source: str) -> None:
    if node.op == "ident" and node.value not in VARIABLES and node.value not in bound:
        raise compile_error(source, node.column,
                            f"undeclared reference to '{node.value}' (in container '')")
    if node.op == "macro":
        target, body = node.args
        _check_names(target, bound, source)
        _check_names(body, bound | {node.value[1]}, source)
        return
    for child in node.args:
        _check_names(child, bound, source)
