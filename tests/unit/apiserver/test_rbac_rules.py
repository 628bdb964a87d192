"""RBAC rule matching, subjects and the coverage check, as pure functions."""

from __future__ import annotations

import pytest

from apiserver.auth import UserInfo
from apiserver.authorization.attributes import Attributes, request_attributes
from apiserver.authorization.rbac.rules import applies_to_user, compact_rules, compact_string, \
    covers, rule_allows
from tinykube.api.rbac import PolicyRule, Subject

ALICE = UserInfo("alice", "", ("devs", "system:authenticated"))
ROBOT = UserInfo("system:serviceaccount:ci:robot", "",
                 ("system:serviceaccounts", "system:serviceaccounts:ci", "system:authenticated"))


def rule(verbs: str, groups: str = "", resources: str = "", names: str = "",
         urls: str = "") -> PolicyRule:
    def split(text: str) -> list[str] | None:
        return text.split(",") if text else None
    return PolicyRule(verbs=verbs.split(","), api_groups=groups.split(",") if resources else None,
                      resources=split(resources), resource_names=split(names),
                      non_resource_urls=split(urls))


def test_a_namespace_subresource_names_the_namespace() -> None:
    finalize = request("PUT", "/api/v1/namespaces/demo/finalize")
    assert (finalize.resource, finalize.subresource, finalize.name, finalize.namespace) == \
        ("namespaces", "finalize", "demo", "demo")


def request(method: str, path: str, query: str = "") -> Attributes:
    return request_attributes(ALICE, method, path, query)


PODS = "/api/v1/namespaces/default/pods"


@pytest.mark.parametrize(("policy", "method", "path", "query", "allowed"), [
    (rule("get,list", "", "pods"), "GET", PODS, "", True),
    (rule("get", "", "pods"), "GET", PODS, "", False),  # a list is not a get
    (rule("list", "", "pods"), "GET", PODS, "watch=true", False),
    (rule("watch", "", "pods"), "GET", PODS, "watch=true", True),
    (rule("*", "", "pods"), "DELETE", PODS + "/web", "", True),
    (rule("get", "apps", "pods"), "GET", PODS + "/web", "", False),  # wrong group
    (rule("get", "*", "*"), "GET", "/apis/apps/v1/namespaces/x/deployments/d", "", True),
    (rule("get", "", "pods"), "GET", PODS + "/web/log", "", False),  # subresource not named
    (rule("get", "", "pods/log"), "GET", PODS + "/web/log", "", True),
    (rule("get", "", "pods/log"), "GET", PODS + "/web", "", False),
    (rule("update", "*", "*/status"), "PUT", "/apis/apps/v1/namespaces/x/deployments/d/status",
     "", True),
    (rule("get", "", "pods", "web"), "GET", PODS + "/web", "", True),
    (rule("get", "", "pods", "web"), "GET", PODS + "/db", "", False),
    (rule("list", "", "pods", "web"), "GET", PODS, "", False),  # a list names nothing
    (rule("list", "", "pods", "web"), "GET", PODS, "fieldSelector=metadata.name%3Dweb", True),
    (rule("create", "", "pods", "web"), "POST", PODS, "", False),
    (rule("get", urls="/healthz"), "GET", "/healthz", "", True),
    (rule("get", urls="/healthz"), "GET", "/healthz/etcd", "", False),
    (rule("get", urls="/healthz*"), "GET", "/healthz/etcd", "", True),
    (rule("get", urls="*"), "GET", "/version", "", True),
    (rule("get", urls="/apis/*"), "GET", "/apis", "", False),
    (rule("get", "", "pods"), "GET", "/healthz", "", False),  # resource rules: no URLs
    # the Namespace's own subresources, not kinds inside it (the namespace controller's finalize)
    (rule("update", "", "namespaces/finalize"), "PUT", "/api/v1/namespaces/demo/finalize", "", True),
    (rule("update", "", "namespaces/status"), "PUT", "/api/v1/namespaces/demo/status", "", True),
    (rule("update", "", "finalize"), "PUT", "/api/v1/namespaces/demo/finalize", "", False),
])
def test_rule_allows(policy: PolicyRule, method: str, path: str, query: str,
                     allowed: bool) -> None:
    assert rule_allows(request(method, path, query.replace("%3D", "=")), policy) is allowed


@pytest.mark.parametrize(("subject", "user", "namespace", "applies"), [
    (Subject(kind="User", name="alice"), ALICE, "", True),
    (Subject(kind="User", name="devs"), ALICE, "", False),
    (Subject(kind="Group", name="devs"), ALICE, "", True),
    (Subject(kind="Group", name="system:authenticated"), ROBOT, "", True),
    (Subject(kind="ServiceAccount", name="robot", namespace="ci"), ROBOT, "", True),
    (Subject(kind="ServiceAccount", name="robot", namespace="prod"), ROBOT, "", False),
    (Subject(kind="ServiceAccount", name="robot"), ROBOT, "ci", True),  # the binding's namespace
    (Subject(kind="ServiceAccount", name="robot"), ROBOT, "", False),
    (Subject(kind="Group", name="system:serviceaccounts:ci"), ROBOT, "", True),
])
def test_applies_to_user(subject: Subject, user: UserInfo, namespace: str, applies: bool) -> None:
    assert applies_to_user(user, subject, namespace) is applies


@pytest.mark.parametrize(("owner", "servant", "missing"), [
    ([rule("*", "*", "*")], [rule("get,delete", ",apps", "pods,deployments")], []),
    ([rule("get,list", "", "pods")], [rule("get", "", "pods")], []),
    ([rule("get", "", "pods")], [rule("get,list", "", "pods")],
     ['{APIGroups:[""], Resources:["pods"], Verbs:["list"]}']),
    ([rule("get", "", "pods", "web")], [rule("get", "", "pods")],
     ['{APIGroups:[""], Resources:["pods"], Verbs:["get"]}']),  # a named grant covers no other
    ([rule("get", "", "pods")], [rule("get", "", "pods", "web")], []),
    ([rule("get", "", "*/status")], [rule("get", "", "pods/status")], []),
    ([rule("get", urls="/logs/*")], [rule("get", urls="/logs/kubelet")], []),
    ([rule("get", urls="/logs")], [rule("get", urls="/metrics")],
     ['{NonResourceURLs:["/metrics"], Verbs:["get"]}']),
])
def test_covers(owner: list[PolicyRule], servant: list[PolicyRule], missing: list[str]) -> None:
    assert [compact_string(r) for r in compact_rules(covers(owner, servant))] == missing


def test_compact_rules_merge_verbs_of_one_group_and_resource() -> None:
    missing = covers([], [rule("get,list", ",apps", "pods"), rule("watch", "", "pods")])
    assert [compact_string(r) for r in compact_rules(missing)] == [
        '{APIGroups:[""], Resources:["pods"], Verbs:["get" "list" "watch"]}',
        '{APIGroups:["apps"], Resources:["pods"], Verbs:["get" "list"]}']
