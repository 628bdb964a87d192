"""The bootstrap policy's content, its reconciliation, and RBAC validation."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver.auth import UserInfo
from apiserver.authorization.attributes import Attributes
from apiserver.authorization.rbac.bootstrap import protected, reconcile_binding, reconcile_role
from apiserver.authorization.rbac.policy import cluster_role_bindings, cluster_roles
from apiserver.authorization.rbac.rules import rule_allows
from apiserver.strategies.rbac import RoleBindingStrategy, RoleStrategy
from tinykube.api.rbac import AUTOUPDATE_ANNOTATION
from tinykube.api.resources import CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES, ROLE_BINDINGS, ROLES

Obj = dict[str, Any]
ROLES_BY_NAME = {r.metadata.name: r for r in cluster_roles()}
BINDINGS_BY_NAME = {b.metadata.name: b for b in cluster_role_bindings()}


def allows(role: str, verb: str, resource: str, group: str = "", name: str = "") -> bool:
    attributes = Attributes(UserInfo("u"), verb, True, group, "v1", *resource.partition("/")[::2],
                            "ns", name)
    return any(rule_allows(attributes, rule) for rule in ROLES_BY_NAME[role].rules or [])


def test_every_default_object_is_marked_for_autoupdate() -> None:
    for obj in [*cluster_roles(), *cluster_role_bindings()]:
        assert obj.metadata.annotations == {AUTOUPDATE_ANNOTATION: "true"}
        assert obj.metadata.labels["kubernetes.io/bootstrapping"] == "rbac-defaults"
    assert set(BINDINGS_BY_NAME) <= set(ROLES_BY_NAME)


@pytest.mark.parametrize(("binding", "subjects"), [
    ("cluster-admin", [("Group", "system:masters")]),
    ("system:basic-user", [("Group", "system:authenticated")]),
    ("system:public-info-viewer", [("Group", "system:authenticated"),
                                   ("Group", "system:unauthenticated")]),
    ("system:kube-scheduler", [("User", "system:kube-scheduler")]),
    ("system:kube-controller-manager", [("User", "system:kube-controller-manager")]),
    ("system:cloud-controller-manager", [("User", "system:cloud-controller-manager")]),
    ("system:node-proxier", [("User", "system:kube-proxy")]),
    ("system:node", []),
])
def test_default_bindings(binding: str, subjects: list[tuple[str, str]]) -> None:
    assert [(s.kind, s.name) for s in BINDINGS_BY_NAME[binding].subjects or []] == subjects


@pytest.mark.parametrize(("role", "verb", "resource", "group", "allowed"), [
    ("system:aggregate-to-view", "list", "pods", "", True),
    ("system:aggregate-to-view", "get", "secrets", "", False),
    ("system:aggregate-to-edit", "create", "deployments", "apps", True),
    ("system:aggregate-to-edit", "create", "roles", "rbac.authorization.k8s.io", False),
    ("system:aggregate-to-admin", "create", "rolebindings", "rbac.authorization.k8s.io", True),
    ("system:kube-scheduler", "create", "pods/binding", "", True),
    ("system:kube-scheduler", "delete", "nodes", "", False),
    ("system:kube-controller-manager", "create", "replicasets", "apps", True),
    ("system:kube-controller-manager", "update", "deployments/status", "apps", True),
    ("system:kube-controller-manager", "delete", "crontabs", "stable.example.com", True),
    ("system:kube-controller-manager", "create", "clusterrolebindings",
     "rbac.authorization.k8s.io", False),
    ("system:node-proxier", "watch", "endpointslices", "discovery.k8s.io", True),
    ("system:basic-user", "create", "selfsubjectaccessreviews", "authorization.k8s.io", True),
])
def test_default_role_rules(role: str, verb: str, resource: str, group: str,
                            allowed: bool) -> None:
    assert allows(role, verb, resource, group) is allowed


def test_admin_edit_view_aggregate_in_a_chain() -> None:
    selectors = {name: ROLES_BY_NAME[name].aggregation_rule.cluster_role_selectors[0].match_labels
                 for name in ("admin", "edit", "view")}  # type: ignore[union-attr]
    assert selectors["view"] == {"rbac.authorization.k8s.io/aggregate-to-view": "true"}
    assert ROLES_BY_NAME["view"].metadata.labels["rbac.authorization.k8s.io/aggregate-to-edit"] \
        == "true"
    assert ROLES_BY_NAME["edit"].metadata.labels["rbac.authorization.k8s.io/aggregate-to-admin"] \
        == "true"


def test_reconcile_gives_back_missing_rules_and_keeps_extra_ones() -> None:
    expected = ROLES_BY_NAME["system:basic-user"]
    extra = {"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"]}
    current: Obj = {"metadata": {"name": "system:basic-user", "labels": {"mine": "yes"}},
                    "rules": [extra]}
    reconciled = reconcile_role(current, expected)
    assert reconciled["rules"][0] == extra
    assert {"verbs": ["create"], "apiGroups": ["authentication.k8s.io"],
            "resources": ["selfsubjectreviews"]} in reconciled["rules"]
    assert reconciled["metadata"]["labels"]["mine"] == "yes"
    assert reconciled["metadata"]["annotations"] == {AUTOUPDATE_ANNOTATION: "true"}
    assert reconcile_role(reconciled, expected)["rules"] == reconciled["rules"]  # settled


def test_reconcile_leaves_aggregated_rules_and_adds_subjects() -> None:
    current: Obj = {"metadata": {"name": "view"}, "rules": [{"verbs": ["get"]}]}
    reconciled = reconcile_role(current, ROLES_BY_NAME["view"])
    assert reconciled["rules"] == [{"verbs": ["get"]}]
    assert reconciled["aggregationRule"]["clusterRoleSelectors"] == [
        {"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}}]
    binding: Obj = {"metadata": {"name": "cluster-admin"}, "subjects": [
        {"kind": "User", "name": "root", "apiGroup": "rbac.authorization.k8s.io"}]}
    subjects = reconcile_binding(binding, BINDINGS_BY_NAME["cluster-admin"])["subjects"]
    assert [s["name"] for s in subjects] == ["root", "system:masters"]
    assert protected({"metadata": {"annotations": {AUTOUPDATE_ANNOTATION: "false"}}})


def messages(errors: list[Any]) -> list[str]:
    return [str(e) for e in errors]


def test_role_validation() -> None:
    strategy = RoleStrategy(ROLES)
    bad = {"metadata": {"name": "r", "namespace": "ns"}, "rules": [
        {"verbs": [], "apiGroups": [""], "resources": ["pods"]},
        {"verbs": ["get"], "nonResourceURLs": ["/healthz"]},
        {"verbs": ["get"]}]}
    assert messages(strategy.validate(bad)) == [
        "rules[0].verbs: Required value: verbs must contain at least one value",
        'rules[1].nonResourceURLs: Invalid value: ["/healthz"]: namespaced rules cannot apply to '
        "non-resource URLs",
        "rules[2].apiGroups: Required value: resource rules must supply at least one api group",
        "rules[2].resources: Required value: resource rules must supply at least one resource"]
    cluster = RoleStrategy(CLUSTER_ROLES)
    assert cluster.validate({"metadata": {"name": "system:x"}, "rules": [
        {"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]}) == []


def test_binding_validation_and_immutable_role_ref() -> None:
    strategy = RoleBindingStrategy(ROLE_BINDINGS)
    old = {"metadata": {"name": "b", "namespace": "ns"},
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                       "name": "view"},
           "subjects": [{"kind": "User", "name": "alice"}]}
    strategy.prepare_for_create(old)
    assert old["subjects"][0]["apiGroup"] == "rbac.authorization.k8s.io"
    assert strategy.validate(old) == []
    new = {**old, "roleRef": {**old["roleRef"], "name": "edit"}}
    assert messages(strategy.validate_update(new, old)) == [
        'roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", '
        'Kind:"ClusterRole", Name:"edit"}: cannot change roleRef']
    bad = {"metadata": {"name": "c"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                  "kind": "Role", "name": "x"},
           "subjects": [{"kind": "ServiceAccount", "name": "robot"}, {"kind": "Robot",
                                                                      "name": "r"}]}
    assert messages(RoleBindingStrategy(CLUSTER_ROLE_BINDINGS).validate(bad)) == [
        'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"',
        "subjects[0].namespace: Required value",
        'subjects[1].kind: Unsupported value: "Robot": supported values: "ServiceAccount", '
        '"User", "Group"']
