"""Roles, ClusterRoles and their bindings: Kubernetes' RBAC validation.

- names are path segments (`system:kube-scheduler` is fine; `/`, `%`, `.`, `..` are not);
- every rule needs verbs; a resource rule needs apiGroups and resources; a rule
  with nonResourceURLs may have nothing else, and only a ClusterRole may have one;
- a binding's roleRef names a Role or ClusterRole of rbac.authorization.k8s.io (a
  ClusterRoleBinding only a ClusterRole) and never changes ("cannot change roleRef":
  delete and recreate the binding instead);
- subjects are User, Group (apiGroup rbac.authorization.k8s.io, defaulted) or
  ServiceAccount (apiGroup ""; a ClusterRoleBinding must name its namespace).

Who may write which rules is not decided here: see
apiserver/authorization/rbac/escalation.py.

Kubernetes counterpart: pkg/apis/rbac/validation/validation.go,
pkg/registry/rbac/{role,clusterrole,rolebinding,clusterrolebinding}/strategy.go
"""

from __future__ import annotations

from typing import Any

from apiserver.strategy import Obj, Strategy
from tinykube.api.rbac import GROUP, GROUP_KIND, SERVICE_ACCOUNT_KIND, USER_KIND
from tinykube.api.validation import (
    INVALID,
    FieldError,
    invalid,
    is_dns1123_subdomain,
    not_supported,
    required,
    validate_labels,
)


def is_valid_path_segment_name(name: str) -> list[str]:
    """ValidateRBACName (path.IsValidPathSegmentName)."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def validate_policy_rule(rule: Any, namespaced: bool, path: str) -> list[FieldError]:
    if not isinstance(rule, dict):
        return [invalid(path, rule, "must be an object")]
    errs = []
    if not rule.get("verbs"):
        errs.append(required(f"{path}.verbs", "verbs must contain at least one value"))
    urls = rule.get("nonResourceURLs")
    if urls:
        if namespaced:
            errs.append(invalid(f"{path}.nonResourceURLs", urls,
                                "namespaced rules cannot apply to non-resource URLs"))
        if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
            errs.append(invalid(f"{path}.nonResourceURLs", urls,
                                "rules cannot apply to both regular resources and non-resource URLs"))
        return errs
    if not rule.get("apiGroups"):
        errs.append(required(f"{path}.apiGroups", "resource rules must supply at least one api group"))
    if not rule.get("resources"):
        errs.append(required(f"{path}.resources", "resource rules must supply at least one resource"))
    return errs


def validate_subject(subject: Any, namespaced: bool, path: str) -> list[FieldError]:
    if not isinstance(subject, dict):
        return [invalid(path, subject, "must be an object")]
    errs = []
    name, kind, api_group = subject.get("name") or "", subject.get("kind"), subject.get("apiGroup") or ""
    if not name:
        errs.append(required(f"{path}.name"))
    if kind == SERVICE_ACCOUNT_KIND:
        if name:
            errs += [invalid(f"{path}.name", name, msg) for msg in is_dns1123_subdomain(name)]
        if api_group:
            errs.append(not_supported(f"{path}.apiGroup", api_group, [""]))
        if not namespaced and not subject.get("namespace"):
            errs.append(required(f"{path}.namespace"))
    elif kind in (USER_KIND, GROUP_KIND):
        if api_group != GROUP:
            errs.append(not_supported(f"{path}.apiGroup", api_group, [GROUP]))
    else:
        errs.append(not_supported(f"{path}.kind", kind, [SERVICE_ACCOUNT_KIND, USER_KIND,
                                                          GROUP_KIND]))
    return errs


def default_subjects(obj: Obj) -> None:
    """SetDefaults_Subject: Users and Groups belong to rbac.authorization.k8s.io."""
    for subject in obj.get("subjects") or []:
        if isinstance(subject, dict) and not subject.get("apiGroup"):
            if subject.get("kind") in (USER_KIND, GROUP_KIND):
                subject["apiGroup"] = GROUP


class RoleStrategy(Strategy):
    name_validator = staticmethod(is_valid_path_segment_name)

    def validate(self, obj: Obj) -> list[FieldError]:
        return super().validate(obj) + self._validate_rules(obj)

    def _validate_rules(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        namespaced = self.info.kind == "Role"
        for i, rule in enumerate(obj.get("rules") or []):
            errs += validate_policy_rule(rule, namespaced, f"rules[{i}]")
        aggregation = obj.get("aggregationRule")
        if aggregation is not None and not namespaced:
            selectors = (aggregation or {}).get("clusterRoleSelectors")
            if not selectors:
                errs.append(required("aggregationRule.clusterRoleSelectors",
                                     "at least one clusterRoleSelector required if "
                                     "aggregationRule is non-nil"))
            for i, selector in enumerate(selectors or []):
                errs += validate_labels((selector or {}).get("matchLabels"),
                                        f"aggregationRule.clusterRoleSelectors[{i}].matchLabels")
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return super().validate_update(new, old) + self._validate_rules(new)

    def tracks_generation(self, obj: Obj) -> bool:
        return False


class RoleBindingStrategy(Strategy):
    name_validator = staticmethod(is_valid_path_segment_name)

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        default_subjects(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        default_subjects(new)

    def validate(self, obj: Obj) -> list[FieldError]:
        return super().validate(obj) + self._validate_binding(obj)

    def _validate_binding(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        namespaced = self.info.kind == "RoleBinding"
        ref = obj.get("roleRef")
        if not isinstance(ref, dict):
            errs.append(required("roleRef"))
            ref = {}
        if ref.get("apiGroup") != GROUP:
            errs.append(not_supported("roleRef.apiGroup", ref.get("apiGroup") or "", [GROUP]))
        kinds = ["Role", "ClusterRole"] if namespaced else ["ClusterRole"]
        if ref.get("kind") not in kinds:
            errs.append(not_supported("roleRef.kind", ref.get("kind") or "", kinds))
        name = ref.get("name") or ""
        if not name:
            errs.append(required("roleRef.name"))
        errs += [invalid("roleRef.name", name, msg) for msg in is_valid_path_segment_name(name)]
        for i, subject in enumerate(obj.get("subjects") or []):
            errs += validate_subject(subject, namespaced, f"subjects[{i}]")
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = super().validate_update(new, old) + self._validate_binding(new)
        if new.get("roleRef") != old.get("roleRef"):
            ref = new.get("roleRef") or {}
            shown = (f'rbac.RoleRef{{APIGroup:"{ref.get("apiGroup", "")}", '
                     f'Kind:"{ref.get("kind", "")}", Name:"{ref.get("name", "")}"}}')
            errs.append(FieldError(INVALID, "roleRef", f"Invalid value: {shown}: cannot change roleRef"))
        return errs

    def tracks_generation(self, obj: Obj) -> bool:
        return False
