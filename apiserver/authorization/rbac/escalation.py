"""Escalation prevention: nobody grants, through a role or a binding, what they do not hold.

Part of RBAC itself (on whenever `--authorization-mode` includes RBAC), checked
after validation and before the write, so a refused write stores nothing:

- a Role or ClusterRole is written only if the writer holds every rule in it, or
  may `escalate` that role; an aggregationRule needs full authority (cluster-admin);
- a RoleBinding or ClusterRoleBinding is written only if the writer may `bind`
  the role it names (in the binding's namespace), or holds every rule of that role;
- `system:masters` (and so the API server's own writes) may always; an update
  that changes nothing but ownerReferences and finalizers (the garbage
  collector's) is never checked.

Refusals are kube-apiserver's 403: `rolebindings.rbac.authorization.k8s.io "x" is
forbidden: user "bob" (groups=["system:authenticated"]) is attempting to grant RBAC
permissions not currently held:` followed by the missing rules, one per line.

Kubernetes counterpart: pkg/registry/rbac/{role,clusterrole,rolebinding,clusterrolebinding}/policybased/storage.go,
pkg/registry/rbac/escalation_check.go, pkg/registry/rbac/validation/rule.go (ConfirmNoEscalation)
"""

from __future__ import annotations

from typing import Any

from apiserver.admission import CREATE, UPDATE, AdmissionRequest
from apiserver.auth import UserInfo
from apiserver.authorization.attributes import Attributes
from apiserver.authorization.authorizer import SYSTEM_MASTERS
from apiserver.authorization.rbac.authorizer import RBACAuthorizer
from apiserver.authorization.rbac.rules import compact_rules, compact_string, covers, go_string_list
from apiserver.errors import forbidden
from tinykube.api.rbac import GROUP, ClusterRole, PolicyRule, RoleRef

FULL_AUTHORITY = [PolicyRule(verbs=["*"], api_groups=["*"], resources=["*"]),
                  PolicyRule(verbs=["*"], non_resource_urls=["*"])]
_GC_FIELDS = ("ownerReferences", "finalizers")
_SYSTEM_FIELDS = ("resourceVersion", "generation", "managedFields", "uid", "creationTimestamp",
                  "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink")


class EscalationError(Exception):
    """The writer lacks rules; str() is upstream's message after `is forbidden: `."""


def _policy_view(obj: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in (obj.get("metadata") or {}).items()
            if k not in _GC_FIELDS + _SYSTEM_FIELDS}
    return {**obj, "metadata": meta}


def only_gc_fields_changed(new: dict[str, Any], old: dict[str, Any] | None) -> bool:
    return old is not None and _policy_view(new) == _policy_view(old)


class EscalationCheck:
    """The admission step (validate phase) for the four RBAC kinds."""

    name = "RBACEscalation"

    def __init__(self, authorizer: RBACAuthorizer) -> None:
        self.authorizer = authorizer

    def handles(self, request: AdmissionRequest) -> bool:
        return (request.info.group == GROUP and request.operation in (CREATE, UPDATE)
                and not request.subresource and request.obj is not None)

    async def admit(self, request: AdmissionRequest) -> None:
        pass

    async def validate(self, request: AdmissionRequest) -> None:
        obj = request.obj or {}
        if SYSTEM_MASTERS in request.user.groups or only_gc_fields_changed(obj, request.old):
            return
        name = request.name or str((obj.get("metadata") or {}).get("name") or "")
        try:
            if request.info.kind in ("Role", "ClusterRole"):
                self.check_role(request, obj, name)
            else:
                self.check_binding(request, obj, name)
        except EscalationError as err:
            raise forbidden(request.info, name, str(err)) from None

    def check_role(self, request: AdmissionRequest, obj: dict[str, Any], name: str) -> None:
        if self._allowed(request.user, "escalate", request.info.plural, request.namespace, name):
            return
        role = ClusterRole.model_validate(obj)
        if role.aggregation_rule is not None:
            try:
                self.confirm_no_escalation(request.user, request.namespace, FULL_AUTHORITY)
            except EscalationError:
                raise EscalationError("must have cluster-admin privileges to use the "
                                      "aggregationRule") from None
        self.confirm_no_escalation(request.user, request.namespace, role.rules or [])

    def check_binding(self, request: AdmissionRequest, obj: dict[str, Any], name: str) -> None:
        ref = RoleRef.model_validate(obj.get("roleRef") or {})
        resource = {"Role": "roles", "ClusterRole": "clusterroles"}.get(ref.kind)
        if resource and self._allowed(request.user, "bind", resource, request.namespace,
                                      ref.name):
            return
        rules, error = self.authorizer.index.role_reference_rules(ref, request.namespace)
        if error:
            raise EscalationError(error)
        self.confirm_no_escalation(request.user, request.namespace, rules)

    def _allowed(self, user: UserInfo, verb: str, resource: str, namespace: str,
                 name: str) -> bool:
        attributes = Attributes(user, verb, True, GROUP, "*", resource, "", namespace, name)
        return self.authorizer.authorize(attributes).allowed

    def confirm_no_escalation(self, user: UserInfo, namespace: str,
                              rules: list[PolicyRule]) -> None:
        held, errors = self.authorizer.rules_for(user, namespace)
        missing = covers(held, rules)
        if not missing:
            return
        described = sorted({compact_string(rule) for rule in compact_rules(missing)})
        message = (f'user "{user.name}" (groups={go_string_list(user.groups)}) is attempting '
                   "to grant RBAC permissions not currently held:\n" + "\n".join(described))
        if errors:
            message += f"; resolution errors: [{' '.join(errors)}]"
        raise EscalationError(message)
