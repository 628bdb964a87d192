"""Label selectors and field selectors: parse, print and match.

Label selectors come in two forms: the string a user types (`app=web,env in (a,b)`,
the `labelSelector` query parameter) and the API object
(`{"matchLabels": ..., "matchExpressions": ...}` in a Deployment's spec). Both become
a `LabelSelector`, a sorted tuple of `Requirement`s that must all hold. Field
selectors (`metadata.name=web`) are simpler: equality tests on named fields, which
the API server evaluates on the few fields each resource exposes.

Invariants, as upstream: requirements are sorted by key and values are sorted and
de-duplicated, so equal selectors print the same; an empty selector matches
everything, while `nothing()` (what a missing API selector means) matches nothing.

Kubernetes counterpart: staging/src/k8s.io/apimachinery/pkg/labels/selector.go
and staging/src/k8s.io/apimachinery/pkg/fields/selector.go
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from tinykube.api.validation import is_qualified_name, is_valid_label_value


class SelectorError(ValueError):
    """A selector string or object that cannot be parsed or is invalid."""


class Operator(str, Enum):
    EQUALS = "="
    DOUBLE_EQUALS = "=="
    NOT_EQUALS = "!="
    IN = "in"
    NOT_IN = "notin"
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"
    GREATER_THAN = "gt"
    LESS_THAN = "lt"


_SET_OPERATORS = (Operator.IN, Operator.NOT_IN)
_EXACT_OPERATORS = (Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.NOT_EQUALS)
_NUMERIC_OPERATORS = (Operator.GREATER_THAN, Operator.LESS_THAN)


@dataclass(frozen=True)
class Requirement:
    """One term of a label selector, e.g. `env in (a,b)`.

    - Build it with `new_requirement`, which validates key and values.
    - `values` is sorted and free of duplicates.
    """

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op in (Operator.IN, Operator.EQUALS, Operator.DOUBLE_EQUALS):
            return self.key in labels and labels[self.key] in self.values
        if op in (Operator.NOT_IN, Operator.NOT_EQUALS):
            return self.key not in labels or labels[self.key] not in self.values
        if op is Operator.EXISTS:
            return self.key in labels
        if op is Operator.DOES_NOT_EXIST:
            return self.key not in labels
        # gt / lt: the label must be present and an integer.
        try:
            have = int(labels[self.key])
        except (KeyError, ValueError):
            return False
        want = int(self.values[0])
        return have > want if op is Operator.GREATER_THAN else have < want

    def __str__(self) -> str:
        op = self.operator
        if op is Operator.EXISTS:
            return self.key
        if op is Operator.DOES_NOT_EXIST:
            return "!" + self.key
        if op in _SET_OPERATORS:
            return f"{self.key} {op.value} ({','.join(self.values)})"
        symbol = {Operator.GREATER_THAN: ">", Operator.LESS_THAN: "<"}.get(op, op.value)
        return f"{self.key}{symbol}{','.join(self.values)}"


def new_requirement(key: str, operator: Operator, values: Iterable[str] = ()) -> Requirement:
    """Validate and build a Requirement (labels.NewRequirement)."""
    vals = list(values)
    for msg in is_qualified_name(key):
        raise SelectorError(f"invalid label key {key!r}: {msg}")
    if operator in _SET_OPERATORS and not vals:
        raise SelectorError("for 'in', 'notin' operators, values set can't be empty")
    if operator in _EXACT_OPERATORS and len(vals) != 1:
        raise SelectorError("exact-match compatibility requires one single value")
    if operator in (Operator.EXISTS, Operator.DOES_NOT_EXIST) and vals:
        raise SelectorError("values set must be empty for exists and does not exist")
    if operator in _NUMERIC_OPERATORS:
        if len(vals) != 1:
            raise SelectorError("for 'Gt', 'Lt' operators, exactly one value is required")
        try:
            int(vals[0])
        except ValueError:
            raise SelectorError("for 'Gt', 'Lt' operators, the value must be an integer") from None
    for value in vals:
        if not isinstance(value, str):
            raise SelectorError(f"invalid label value {value!r}: must be a string")
        for msg in is_valid_label_value(value):
            raise SelectorError(f"invalid label value {value!r}: {msg}")
    return Requirement(key, operator, tuple(sorted(set(vals))))


@dataclass(frozen=True)
class LabelSelector:
    """All requirements must hold (a logical AND).

    - No requirements: matches every label set (`labels.Everything()`).
    - `match_nothing=True`: matches no label set (`labels.Nothing()`).
    """

    requirements: tuple[Requirement, ...] = ()
    match_nothing: bool = False

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.match_nothing:
            return False
        have = labels or {}
        return all(requirement.matches(have) for requirement in self.requirements)

    def empty(self) -> bool:
        return not self.requirements and not self.match_nothing

    def __str__(self) -> str:
        return ",".join(str(requirement) for requirement in self.requirements)


def everything() -> LabelSelector:
    return LabelSelector()


def nothing() -> LabelSelector:
    return LabelSelector(match_nothing=True)


def _selector(requirements: Iterable[Requirement]) -> LabelSelector:
    # Stable sort by key, like upstream's sort.Sort(ByKey(...)).
    return LabelSelector(tuple(sorted(requirements, key=lambda r: r.key)))


def label_selector_from_dict(selector: Mapping[str, Any] | None) -> LabelSelector:
    """The API form to a selector (metav1.LabelSelectorAsSelector).

    None means "no selector" and matches nothing; `{}` matches everything.
    """
    if selector is None:
        return nothing()
    if not isinstance(selector, Mapping):
        raise SelectorError(f"a label selector must be an object, not {type(selector).__name__}")
    match_labels = selector.get("matchLabels") or {}
    match_expressions = selector.get("matchExpressions") or []
    if not match_labels and not match_expressions:
        return everything()
    requirements = [new_requirement(str(k), Operator.EQUALS, [v]) for k, v in match_labels.items()]
    api_operators = {
        "In": Operator.IN, "NotIn": Operator.NOT_IN,
        "Exists": Operator.EXISTS, "DoesNotExist": Operator.DOES_NOT_EXIST,
    }
    for expression in match_expressions:
        op = api_operators.get(expression.get("operator"))
        if op is None:
            raise SelectorError(
                f"{str(expression.get('operator'))!r} is not a valid label selector operator"
            )
        requirements.append(
            new_requirement(str(expression.get("key", "")), op, expression.get("values") or [])
        )
    return _selector(requirements)


# -- the label selector string form ---------------------------------------------------

_IDENT, _EOS = "identifier", "end of string"
# Multi-character symbols are matched longest-first; words are identifiers, and the
# parser decides whether "in"/"notin" are operators from where they appear.
_SYMBOLS = ("!=", "==", "!", "=", "(", ")", ",", ">", "<")
_SYMBOL_CHARS = frozenset("=!(),><")


def _lex(text: str) -> list[tuple[str, str]]:
    """Split into (kind, literal) tokens; kind is _IDENT, _EOS or the symbol itself."""
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in _SYMBOL_CHARS:
            symbol = next(s for s in _SYMBOLS if text.startswith(s, i))
            tokens.append((symbol, symbol))
            i += len(symbol)
        else:
            start = i
            while i < len(text) and not text[i].isspace() and text[i] not in _SYMBOL_CHARS:
                i += 1
            tokens.append((_IDENT, text[start:i]))
    tokens.append((_EOS, ""))
    return tokens


class _Parser:
    """Recursive descent over the tokens, mirroring upstream's labels.Parser."""

    _OPERATORS = {
        "in": Operator.IN, "notin": Operator.NOT_IN, "=": Operator.EQUALS,
        "==": Operator.DOUBLE_EQUALS, "!=": Operator.NOT_EQUALS,
        ">": Operator.GREATER_THAN, "<": Operator.LESS_THAN,
    }

    def __init__(self, text: str) -> None:
        self.tokens = _lex(text)
        self.pos = 0

    def lookahead(self) -> tuple[str, str]:
        return self.tokens[self.pos]

    def consume(self) -> tuple[str, str]:
        token = self.tokens[self.pos]
        self.pos = min(self.pos + 1, len(self.tokens) - 1)
        return token

    def parse_requirements(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            kind, literal = self.lookahead()
            if kind == _EOS:
                return requirements
            if kind not in (_IDENT, "!"):
                raise SelectorError(
                    f"found '{literal}', expected: !, identifier, or 'end of string'")
            try:
                requirements.append(self.parse_requirement())
            except SelectorError as err:
                raise SelectorError(f"unable to parse requirement: {err}") from None
            kind, literal = self.consume()
            if kind == _EOS:
                return requirements
            if kind != ",":
                raise SelectorError(f"found '{literal}', expected: ',' or 'end of string'")
            kind, literal = self.lookahead()
            if kind not in (_IDENT, "!"):
                raise SelectorError(f"found '{literal}', expected: identifier after ','")

    def parse_requirement(self) -> Requirement:
        kind, literal = self.consume()
        negated = kind == "!"
        if negated:
            kind, literal = self.consume()
        if kind != _IDENT:
            raise SelectorError(f"found '{literal}', expected: identifier")
        key = literal
        if negated:
            return new_requirement(key, Operator.DOES_NOT_EXIST)
        if self.lookahead()[0] in (_EOS, ","):
            return new_requirement(key, Operator.EXISTS)
        kind, literal = self.consume()
        op = self._OPERATORS.get(literal)
        if op is None or kind not in (_IDENT, literal):
            expected = ", ".join(("in", "notin", "=", "==", "!=", "gt", "lt"))
            raise SelectorError(f"found '{literal}', expected: {expected}")
        values = self.parse_values() if op in _SET_OPERATORS else self.parse_exact_value()
        return new_requirement(key, op, values)

    def parse_exact_value(self) -> list[str]:
        if self.lookahead()[0] in (_EOS, ","):
            return [""]
        kind, literal = self.consume()
        if kind != _IDENT:
            raise SelectorError(f"found '{literal}', expected: identifier")
        return [literal]

    def parse_values(self) -> list[str]:
        """`(a,b)`; empty entries are the empty string, so `()` is {""}."""
        kind, literal = self.consume()
        if kind != "(":
            raise SelectorError(f"found '{literal}' expected: '('")
        values: list[str] = []
        expect_value = True
        while True:
            kind, literal = self.consume()
            if kind == ")":
                if expect_value:
                    values.append("")
                return values
            if kind == "," :
                if expect_value:
                    values.append("")
                expect_value = True
            elif kind == _IDENT and expect_value:
                values.append(literal)
                expect_value = False
            elif kind == _IDENT:
                raise SelectorError(f"found '{literal}', expected: ',' or ')'")
            else:
                raise SelectorError(f"found '{literal}', expected: ',', ')' or identifier")


def parse_label_selector(text: str) -> LabelSelector:
    """Parse the string form, e.g. `app=web,tier!=db,env in (a,b),!legacy,owner`.

    Raises SelectorError naming the bad part (`unable to parse requirement: ...`).
    """
    return _selector(_Parser(text).parse_requirements())


# -- field selectors ------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRequirement:
    """`field=value`, `field==value` or `field!=value`; a missing field reads as ""."""

    field: str
    operator: Operator
    value: str

    def matches(self, fields: Mapping[str, str]) -> bool:
        equal = fields.get(self.field, "") == self.value
        return not equal if self.operator is Operator.NOT_EQUALS else equal

    def __str__(self) -> str:
        op = "!=" if self.operator is Operator.NOT_EQUALS else "="
        return f"{self.field}{op}{escape_field_value(self.value)}"


@dataclass(frozen=True)
class FieldSelector:
    """All requirements must hold; no requirements matches everything."""

    requirements: tuple[FieldRequirement, ...] = ()

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all(requirement.matches(fields) for requirement in self.requirements)

    def empty(self) -> bool:
        return not self.requirements

    def fields_used(self) -> set[str]:
        return {requirement.field for requirement in self.requirements}

    def requires_exact_match(self, field: str) -> str | None:
        """The value `field` must equal, if the selector pins it (e.g. metadata.name)."""
        for requirement in self.requirements:
            if requirement.field == field and requirement.operator is not Operator.NOT_EQUALS:
                return requirement.value
        return None

    def __str__(self) -> str:
        return ",".join(str(requirement) for requirement in self.requirements)


_FIELD_ESCAPES = {"\\": "\\\\", ",": "\\,", "=": "\\="}


def escape_field_value(value: str) -> str:
    return "".join(_FIELD_ESCAPES.get(ch, ch) for ch in value)


def unescape_field_value(value: str) -> str:
    """Undo `\\\\`, `\\,` and `\\=`; bare ',' or '=' and other escapes are errors."""
    out: list[str] = []
    in_slash = False
    for ch in value:
        if in_slash:
            if ch not in _FIELD_ESCAPES:
                raise SelectorError(f"invalid escape sequence: \\{ch}")
            out.append(ch)
            in_slash = False
        elif ch == "\\":
            in_slash = True
        elif ch in ",=":
            raise SelectorError(f"invalid field selector: unescaped character {ch!r}")
        else:
            out.append(ch)
    if in_slash:
        raise SelectorError("invalid escape sequence: \\")
    return "".join(out)


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not escaped with a backslash."""
    terms: list[str] = []
    start = 0
    in_slash = False
    for i, ch in enumerate(text):
        if in_slash:
            in_slash = False
        elif ch == "\\":
            in_slash = True
        elif ch == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, Operator, str] | None:
    """Split at the first operator; '!=' and '==' win over '=' at the same place."""
    for i in range(len(term)):
        for op in (Operator.NOT_EQUALS, Operator.DOUBLE_EQUALS, Operator.EQUALS):
            if term.startswith(op.value, i):
                return term[:i], op, term[i + len(op.value):]
    return None


def parse_field_selector(text: str) -> FieldSelector:
    """Parse `metadata.name=web,status.phase!=Running` (no whitespace trimming, as upstream)."""
    requirements: list[FieldRequirement] = []
    for term in sorted(_split_terms(text)) if text else []:
        if not term:
            continue
        split = _split_term(term)
        if split is None:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
        field, op, value = split
        requirements.append(FieldRequirement(field, op, unescape_field_value(value)))
    return FieldSelector(tuple(requirements))

