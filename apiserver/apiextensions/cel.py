"""A small CEL (Common Expression Language) for `x-kubernetes-validations` rules.

Kubernetes compiles each rule of a CRD's schema when the CRD is written and refuses
rules that do not compile; it evaluates them against every custom resource it
stores. This module does both for the common subset of CEL:

- `self` (the value at the rule's schema node), `oldSelf` (its previous value, for
  transition rules, evaluated on update only), field access `self.a.b`, indexing
  `self.items[0]`, `self.labels['k']`;
- `has(self.x)`, `size(x)` and `x.size()`, `int()`, `uint()`, `double()`,
  `string()`; literals int, uint (`1u`), double, string, bool, null, list, map;
- `== != < <= > >=`, `+ - * / %`, `&& || !`, `in`, ternary `c ? a : b`;
- strings: `startsWith`, `endsWith`, `contains`, `matches` (Go RE2 syntax);
- lists: `all(x, p)`, `exists(x, p)`, `exists_one(x, p)`, `map(x, e)`, `filter(x, p)`.

Anything else is a compile error (`CelCompileError`), so an unsupported rule is
refused at CRD create time instead of silently passing. Expressions are parsed into
a tree and interpreted; Python's eval() is never used.

Kubernetes counterpart: staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel
(on top of github.com/google/cel-go)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apiserver.apiextensions.cel_eval import evaluate
from apiserver.apiextensions.cel_functions import EvalError
from apiserver.apiextensions.cel_parser import CelCompileError, Node, parse
from apiserver.apiextensions.cel_types import CelResultTypeError, check_types

__all__ = ["CelCompileError", "CelEvalError", "CelProgram", "CelResultTypeError", "compile_rule"]


# A rule failed at run time (`no such key: x`, division by zero, bad types).
CelEvalError = EvalError


@dataclass(frozen=True)
class CelProgram:
    """One compiled rule.

    - `uses_old_self` marks a transition rule: it is evaluated only on update, and
      only where an old value exists at the same place.
    """

    source: str
    tree: Node
    uses_old_self: bool

    def evaluate(self, self_value: Any, old_self: Any = None) -> Any:
        """The value of the expression; raises CelEvalError when evaluation fails."""
        try:
            return evaluate(self.tree, {"self": self_value, "oldSelf": old_self})
        except (TypeError, ValueError, RecursionError) as err:
            # e.g. an unhashable map key: a rule must never fail the request with a 500.
            raise CelEvalError(str(err)) from err


def compile_rule(source: str, schema: dict[str, Any] | None = None,
                 result: str = "bool") -> CelProgram:
    """Parse and check a rule; raises CelCompileError with a message for the user.

    With `schema` (the rule's node), the rule is also type-checked against it, and
    must produce `result` ("bool" for a rule, "string" for a messageExpression).
    """
    tree = parse(source)
    if schema is not None:
        check_types(tree, schema, source, want=result)
    return CelProgram(source=source, tree=tree, uses_old_self=_mentions(tree, "oldSelf"))


def _mentions(node: Node, name: str) -> bool:
    if node.op == "ident" and node.value == name:
        return True
    return any(_mentions(child, name) for child in node.args)
