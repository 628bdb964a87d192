"""Request attributes, the authorizer chain and the 403 message (skeleton of issue 14)."""

from __future__ import annotations

import json

import pytest

from apiserver.auth import UserInfo
from apiserver.authorization.attributes import request_attributes
from apiserver.authorization.authorizer import (AlwaysAllow, AlwaysDeny, Chain, Decision,
                                                Verdict, parse_modes)
from apiserver.authorization.filter import forbidden

ALICE = UserInfo("alice", "", ("system:authenticated",))


@pytest.mark.parametrize("method,path,query,expected", [
    ("GET", "/api/v1/namespaces/default/pods", "", ("list", "", "pods", "", "default", "")),
    ("GET", "/api/v1/namespaces/default/pods", "watch=true", ("watch", "", "pods", "", "default", "")),
    ("GET", "/api/v1/watch/namespaces/default/pods", "", ("watch", "", "pods", "", "default", "")),
    ("GET", "/api/v1/namespaces/default/pods/web", "", ("get", "", "pods", "", "default", "web")),
    ("GET", "/api/v1/namespaces/default/pods/web/log", "", ("get", "", "pods", "log", "default", "web")),
    ("POST", "/apis/apps/v1/namespaces/demo/deployments", "", ("create", "apps", "deployments", "", "demo", "")),
    ("PUT", "/apis/apps/v1/namespaces/demo/deployments/web/scale", "",
     ("update", "apps", "deployments", "scale", "demo", "web")),
    ("PATCH", "/api/v1/nodes/node-1/status", "", ("patch", "", "nodes", "status", "", "node-1")),
    ("DELETE", "/api/v1/namespaces/default/pods", "", ("deletecollection", "", "pods", "", "default", "")),
    ("DELETE", "/api/v1/namespaces/demo", "", ("delete", "", "namespaces", "", "demo", "demo")),
    ("GET", "/api/v1/namespaces/default/secrets", "fieldSelector=metadata.name%3Dtls",
     ("list", "", "secrets", "", "default", "tls")),
    ("GET", "/api/v1/nodes", "fieldSelector=metadata.name%3Dn1,spec.unschedulable%3Dfalse",
     ("list", "", "nodes", "", "", "")),
])
def test_resource_requests_become_kubernetes_attributes(method, path, query, expected) -> None:
    got = request_attributes(ALICE, method, path, query)
    assert got.resource_request
    assert (got.verb, got.api_group, got.resource, got.subresource, got.namespace,
            got.name) == expected


@pytest.mark.parametrize("path", ["/healthz", "/api", "/api/v1", "/apis/apps/v1", "/openapi/v2"])
def test_other_paths_are_non_resource_requests_with_the_method_as_verb(path) -> None:
    got = request_attributes(ALICE, "GET", path)
    assert not got.resource_request and got.verb == "get" and got.path == path


def test_the_forbidden_status_has_kube_apiservers_message_and_details() -> None:
    listing = request_attributes(ALICE, "GET", "/api/v1/namespaces/default/pods")
    assert json.loads(forbidden(listing).body()) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'pods is forbidden: User "alice" cannot list resource "pods" in API group "" '
                   'in the namespace "default"',
        "reason": "Forbidden", "details": {"kind": "pods"}, "code": 403}
    scale = request_attributes(ALICE, "PUT", "/apis/apps/v1/namespaces/d/deployments/web/scale")
    assert forbidden(scale, "no RBAC policy matched").message == (
        'deployments.apps "web" is forbidden: User "alice" cannot update resource '
        '"deployments/scale" in API group "apps" in the namespace "d": no RBAC policy matched')
    nodes = request_attributes(ALICE, "GET", "/api/v1/nodes")
    assert forbidden(nodes).message.endswith('in API group "" at the cluster scope')
    path = request_attributes(ALICE, "GET", "/metrics")
    assert forbidden(path).message == 'forbidden: User "alice" cannot get path "/metrics"'


class _Fixed:
    def __init__(self, decision: Decision, reason: str = "") -> None:
        self.verdict = Verdict(decision, reason)

    def authorize(self, attributes):
        return self.verdict


def test_the_chain_asks_in_order_until_one_decides() -> None:
    attributes = request_attributes(ALICE, "GET", "/api/v1/pods")
    assert Chain([_Fixed(Decision.NO_OPINION), AlwaysAllow()]).authorize(attributes).allowed
    denied = Chain([_Fixed(Decision.DENY, "no"), AlwaysAllow()]).authorize(attributes)
    assert denied.decision is Decision.DENY and denied.reason == "no"
    assert not Chain([AlwaysDeny()]).authorize(attributes).allowed
    assert not Chain([]).authorize(attributes).allowed


def test_system_masters_is_allowed_whatever_the_chain_says() -> None:
    admin = UserInfo("admin", "", ("system:masters", "system:authenticated"))
    assert Chain([AlwaysDeny()]).authorize(request_attributes(admin, "DELETE", "/api/v1/nodes/n")).allowed


def test_unknown_or_repeated_modes_are_refused() -> None:
    assert parse_modes("AlwaysAllow") == ["AlwaysAllow"]
    with pytest.raises(ValueError, match="not a valid mode"):
        parse_modes("AlwaysAllow,Magic")
    with pytest.raises(ValueError, match="more than once"):
        parse_modes("AlwaysAllow,AlwaysAllow")
