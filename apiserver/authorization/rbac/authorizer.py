"""The RBAC authorizer: allow a request when a rule the user holds allows it.

It never denies: with no matching rule it has no opinion, and the chain's next
authorizer (or the final deny) decides. Its reason says why a binding gave
nothing, e.g. `RBAC: clusterrole.rbac.authorization.k8s.io "x" not found`, which
kube-apiserver appends to the 403 message.

Kubernetes counterpart: plugin/pkg/auth/authorizer/rbac/rbac.go (RBACAuthorizer)
"""

from __future__ import annotations

from apiserver.auth import UserInfo
from apiserver.authorization.attributes import Attributes
from apiserver.authorization.authorizer import Decision, Verdict
from apiserver.authorization.rbac.index import PolicyIndex
from apiserver.authorization.rbac.rules import rule_allows
from tinykube.api.rbac import PolicyRule


def aggregate(errors: list[str]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message, or `[a, b]` (repeats dropped)."""
    unique = list(dict.fromkeys(errors))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


class RBACAuthorizer:
    def __init__(self, index: PolicyIndex) -> None:
        self.index = index

    def authorize(self, attributes: Attributes) -> Verdict:
        errors = []
        for visit in self.index.visit_rules_for(attributes.user, attributes.namespace):
            if visit.error:
                errors.append(visit.error)
            elif visit.rule is not None and rule_allows(attributes, visit.rule):
                return Verdict(Decision.ALLOW, f"RBAC: allowed by {visit.source}")
        return Verdict(Decision.NO_OPINION, f"RBAC: {aggregate(errors)}" if errors else "")

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[PolicyRule], list[str]]:
        """Every rule `user` holds in `namespace`, and the bindings' resolution errors."""
        rules, errors = [], []
        for visit in self.index.visit_rules_for(user, namespace):
            if visit.error:
                errors.append(visit.error)
            elif visit.rule is not None:
                rules.append(visit.rule)
        return rules, errors
