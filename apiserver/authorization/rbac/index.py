"""The RBAC objects, indexed for the authorizer, fed from the API server's watch caches.

Authorizers are synchronous and run on every request, so they never read etcd:
the index reads the watch caches of roles, clusterroles, rolebindings and
clusterrolebindings, and rebuilds its maps only when one of those caches has
moved (its revision changed). Between changes a request costs a few dict
look-ups plus the rules of the bindings that name its user.

The visit order is upstream's: ClusterRoleBindings first, then the RoleBindings
of the request's namespace; a binding whose role is missing yields an error
(`clusterrole.rbac.authorization.k8s.io "x" not found`) instead of rules.

Kubernetes counterpart: pkg/registry/rbac/validation/rule.go (DefaultRuleResolver,
VisitRulesFor, GetRoleReferenceRules)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from apiserver.auth import UserInfo
from apiserver.authorization.rbac.rules import applies_to_user
from tinykube.api.rbac import ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, \
    RoleRef, Subject
from tinykube.api.resources import CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES, ROLE_BINDINGS, ROLES


class ObjectCache(Protocol):
    """What the index reads of a watch cache."""

    revision: int

    def snapshot(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class RuleVisit:
    """One rule a user holds (rule set), or why a binding gave none (error set);
    `source` names the binding, as upstream's allow reasons do."""

    source: str
    rule: PolicyRule | None = None
    error: str = ""


def not_found(resource: str, name: str) -> str:
    return f'{resource}.rbac.authorization.k8s.io "{name}" not found'


class PolicyIndex:
    def __init__(self, roles: ObjectCache, cluster_roles: ObjectCache,
                 role_bindings: ObjectCache, cluster_role_bindings: ObjectCache) -> None:
        self._caches = (roles, cluster_roles, role_bindings, cluster_role_bindings)
        self._revisions: tuple[int, ...] | None = None
        self.roles: dict[tuple[str, str], Role] = {}
        self.cluster_roles: dict[str, ClusterRole] = {}
        self.role_bindings: dict[str, list[RoleBinding]] = {}
        self.cluster_role_bindings: list[ClusterRoleBinding] = []

    @classmethod
    def from_server(cls, registries: Mapping[Any, Any]) -> PolicyIndex:
        return cls(*(registries[info].cache for info in
                     (ROLES, CLUSTER_ROLES, ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS)))

    def refresh(self) -> None:
        """Rebuild the maps if any cache moved since the last look."""
        revisions = tuple(cache.revision for cache in self._caches)
        if revisions == self._revisions:
            return
        roles, cluster_roles, role_bindings, cluster_role_bindings = (
            cache.snapshot() for cache in self._caches)
        self.roles = {(r.metadata.namespace or "", r.metadata.name or ""): r
                      for r in map(Role.model_validate, roles)}
        self.cluster_roles = {r.metadata.name or "": r
                              for r in map(ClusterRole.model_validate, cluster_roles)}
        by_namespace: dict[str, list[RoleBinding]] = {}
        for binding in map(RoleBinding.model_validate, role_bindings):
            by_namespace.setdefault(binding.metadata.namespace or "", []).append(binding)
        self.role_bindings = by_namespace
        self.cluster_role_bindings = [ClusterRoleBinding.model_validate(b)
                                      for b in cluster_role_bindings]
        self._revisions = revisions

    def role_reference_rules(self, ref: RoleRef, namespace: str) -> tuple[list[PolicyRule], str]:
        """The rules a roleRef grants in `namespace`, or an error when it names nothing."""
        self.refresh()
        if ref.kind == "Role":
            role = self.roles.get((namespace, ref.name))
            return (role.rules or [], "") if role else ([], not_found("role", ref.name))
        if ref.kind == "ClusterRole":
            cluster_role = self.cluster_roles.get(ref.name)
            return ((cluster_role.rules or [], "") if cluster_role
                    else ([], not_found("clusterrole", ref.name)))
        return [], f'unsupported role reference kind: "{ref.kind}"'

    def visit_rules_for(self, user: UserInfo, namespace: str) -> Iterator[RuleVisit]:
        """Every rule `user` holds in `namespace` ("" : cluster-wide rules only)."""
        self.refresh()
        for binding in self.cluster_role_bindings:
            subject = _applying_subject(user, binding.subjects, "")
            if subject is not None:
                source = (f'ClusterRoleBinding "{binding.metadata.name}" of '
                          f'{binding.role_ref.kind} "{binding.role_ref.name}" to '
                          f'{_describe(subject, "")}')
                yield from self._visits(source, binding.role_ref, "")
        if not namespace:
            return
        for role_binding in self.role_bindings.get(namespace, ()):
            subject = _applying_subject(user, role_binding.subjects, namespace)
            if subject is not None:
                source = (f'RoleBinding "{role_binding.metadata.name}/{namespace}" of '
                          f'{role_binding.role_ref.kind} "{role_binding.role_ref.name}" to '
                          f'{_describe(subject, namespace)}')
                yield from self._visits(source, role_binding.role_ref, namespace)

    def _visits(self, source: str, ref: RoleRef, namespace: str) -> Iterator[RuleVisit]:
        rules, error = self.role_reference_rules(ref, namespace)
        if error:
            yield RuleVisit(source, error=error)
        for rule in rules:
            yield RuleVisit(source, rule=rule)


def _applying_subject(user: UserInfo, subjects: list[Subject] | None,
                      namespace: str) -> Subject | None:
    return next((s for s in subjects or [] if applies_to_user(user, s, namespace)), None)


def _describe(subject: Subject, binding_namespace: str) -> str:
    if subject.kind == "ServiceAccount":
        return f'ServiceAccount "{subject.name}/{subject.namespace or binding_namespace}"'
    return f'{subject.kind} "{subject.name}"'
