"""The RBAC authorizer over its index, and the escalation check on role and binding writes."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver.admission import CREATE, UPDATE, AdmissionRequest
from apiserver.auth import UserInfo
from apiserver.authorization.attributes import request_attributes
from apiserver.authorization.authorizer import Decision
from apiserver.authorization.rbac.authorizer import RBACAuthorizer
from apiserver.authorization.rbac.escalation import EscalationCheck
from apiserver.authorization.rbac.index import PolicyIndex
from apiserver.errors import APIError
from tinykube.api.resources import CLUSTER_ROLES, ROLE_BINDINGS, ROLES

Obj = dict[str, Any]
RBAC = "rbac.authorization.k8s.io"
ALICE = UserInfo("alice", "", ("system:authenticated",))
BOB = UserInfo("bob", "", ("devs", "system:authenticated"))


class FakeCache:
    def __init__(self, *objects: Obj) -> None:
        self.objects, self.revision = list(objects), 1

    def put(self, obj: Obj) -> None:
        self.objects.append(obj)
        self.revision += 1

    def snapshot(self) -> list[Obj]:
        return list(self.objects)


def role(name: str, rules: list[Obj], namespace: str = "") -> Obj:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"metadata": meta, "rules": rules}


def binding(name: str, kind: str, role_name: str, subjects: list[Obj], namespace: str = "") -> Obj:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"metadata": meta, "subjects": subjects,
            "roleRef": {"apiGroup": RBAC, "kind": kind, "name": role_name}}


READ_PODS = {"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods"]}
WRITE_RBAC = {"verbs": ["create", "update"], "apiGroups": [RBAC],
              "resources": ["roles", "rolebindings"]}


@pytest.fixture
def caches() -> dict[str, FakeCache]:
    return {
        "roles": FakeCache(role("rbac-writer", [WRITE_RBAC], "team")),
        "clusterroles": FakeCache(role("pod-reader", [READ_PODS])),
        "rolebindings": FakeCache(
            binding("read", "ClusterRole", "pod-reader", [{"kind": "User", "name": "alice"}], "team"),
            binding("write", "Role", "rbac-writer", [{"kind": "User", "name": "alice"}], "team"),
            binding("gone", "ClusterRole", "missing", [{"kind": "Group", "name": "devs"}], "team")),
        "clusterrolebindings": FakeCache(),
    }


@pytest.fixture
def authorizer(caches: dict[str, FakeCache]) -> RBACAuthorizer:
    return RBACAuthorizer(PolicyIndex(caches["roles"], caches["clusterroles"],
                                      caches["rolebindings"], caches["clusterrolebindings"]))


def ask(authorizer: RBACAuthorizer, user: UserInfo, method: str, path: str) -> Any:
    return authorizer.authorize(request_attributes(user, method, path))


def test_a_cluster_role_bound_in_a_namespace_applies_there_only(authorizer: RBACAuthorizer) -> None:
    allowed = ask(authorizer, ALICE, "GET", "/api/v1/namespaces/team/pods")
    assert allowed.decision is Decision.ALLOW
    assert allowed.reason == ('RBAC: allowed by RoleBinding "read/team" of ClusterRole '
                              '"pod-reader" to User "alice"')
    assert ask(authorizer, ALICE, "GET", "/api/v1/namespaces/other/pods").decision \
        is Decision.NO_OPINION
    assert ask(authorizer, ALICE, "GET", "/api/v1/pods").decision is Decision.NO_OPINION
    assert ask(authorizer, ALICE, "DELETE", "/api/v1/namespaces/team/pods/x").decision \
        is Decision.NO_OPINION


def test_a_missing_role_is_the_reason(authorizer: RBACAuthorizer) -> None:
    verdict = ask(authorizer, BOB, "GET", "/api/v1/namespaces/team/pods")
    assert verdict == type(verdict)(Decision.NO_OPINION, 'RBAC: clusterrole.rbac.authorization.k8s.io '
                                                         '"missing" not found')


def test_the_index_follows_the_caches(authorizer: RBACAuthorizer,
                                      caches: dict[str, FakeCache]) -> None:
    assert not ask(authorizer, BOB, "GET", "/api/v1/nodes/n1").allowed
    caches["clusterroles"].put(role("node-reader", [{"verbs": ["get"], "apiGroups": [""],
                                                     "resources": ["nodes"]}]))
    caches["clusterrolebindings"].put(binding("nodes", "ClusterRole", "node-reader",
                                              [{"kind": "Group", "name": "devs"}]))
    assert ask(authorizer, BOB, "GET", "/api/v1/nodes/n1").allowed


def write(info: Any, user: UserInfo, obj: Obj, old: Obj | None = None) -> AdmissionRequest:
    return AdmissionRequest(UPDATE if old else CREATE, info, "team", obj["metadata"]["name"], user,
                            obj=obj, old=old)


async def test_a_role_with_rules_the_writer_holds_is_accepted(authorizer: RBACAuthorizer) -> None:
    check = EscalationCheck(authorizer)
    await check.validate(write(ROLES, ALICE, role("ok", [READ_PODS], "team")))


async def test_a_role_with_more_rules_is_refused(authorizer: RBACAuthorizer) -> None:
    check = EscalationCheck(authorizer)
    secrets = {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}
    with pytest.raises(APIError) as refused:
        await check.validate(write(ROLES, ALICE, role("x", [READ_PODS, secrets], "team")))
    assert refused.value.code == 403
    assert refused.value.message == (
        'roles.rbac.authorization.k8s.io "x" is forbidden: user "alice" '
        '(groups=["system:authenticated"]) is attempting to grant RBAC permissions not '
        'currently held:\n{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}')


async def test_binding_a_role_needs_its_rules_or_bind(authorizer: RBACAuthorizer,
                                                     caches: dict[str, FakeCache]) -> None:
    check = EscalationCheck(authorizer)
    caches["clusterroles"].put(role("admin", [{"verbs": ["*"], "apiGroups": ["*"],
                                               "resources": ["*"]}]))
    to_reader = binding("r", "ClusterRole", "pod-reader", [{"kind": "User", "name": "carol"}], "team")
    await check.validate(write(ROLE_BINDINGS, ALICE, to_reader))
    to_admin = binding("a", "ClusterRole", "admin", [{"kind": "User", "name": "alice"}], "team")
    with pytest.raises(APIError) as refused:
        await check.validate(write(ROLE_BINDINGS, ALICE, to_admin))
    assert "is attempting to grant RBAC permissions not currently held:\n" \
        '{APIGroups:["*"], Resources:["*"], Verbs:["*"]}' in refused.value.message
    caches["roles"].put(role("binder", [{"verbs": ["bind"], "apiGroups": [RBAC],
                                         "resources": ["clusterroles"],
                                         "resourceNames": ["admin"]}], "team"))
    caches["rolebindings"].put(binding("b", "Role", "binder", [{"kind": "User", "name": "alice"}],
                                       "team"))
    await check.validate(write(ROLE_BINDINGS, ALICE, to_admin))


async def test_masters_and_garbage_collector_updates_are_not_checked(
        authorizer: RBACAuthorizer) -> None:
    check = EscalationCheck(authorizer)
    everything = role("all", [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}])
    root = UserInfo("root", "", ("system:masters",))
    await check.validate(write(CLUSTER_ROLES, root, everything))
    owned = {**everything, "metadata": {**everything["metadata"], "finalizers": ["x"]}}
    await check.validate(write(CLUSTER_ROLES, ALICE, owned, old=everything))
    with pytest.raises(APIError):
        relabelled = {**everything, "metadata": {"name": "all", "labels": {"a": "b"}}}
        await check.validate(write(CLUSTER_ROLES, ALICE, relabelled, old=everything))


async def test_an_aggregation_rule_needs_full_authority(authorizer: RBACAuthorizer) -> None:
    aggregated = {"metadata": {"name": "agg"}, "rules": [], "aggregationRule": {
        "clusterRoleSelectors": [{"matchLabels": {"x": "y"}}]}}
    with pytest.raises(APIError) as refused:
        await EscalationCheck(authorizer).validate(
            write(CLUSTER_ROLES, ALICE, aggregated))
    assert refused.value.message == ('clusterroles.rbac.authorization.k8s.io "agg" is forbidden: '
                                     'must have cluster-admin privileges to use the aggregationRule')
