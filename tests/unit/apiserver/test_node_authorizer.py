"""Node authorizer decisions: graph-scoped reads, node leases, the static node rules,
and no opinion for everyone who is not a node."""

from __future__ import annotations

import pytest

from apiserver.auth import UserInfo
from apiserver.authorization.attributes import request_attributes
from apiserver.authorization.authorizer import Chain, Decision
from apiserver.authorization.filter import forbidden
from apiserver.authorization.node import NodeAuthorizer, node_identity
from apiserver.authorization.node.graph import Graph, pod_edges, pod_vertex, pv_edges, pv_vertex

NODE_1 = UserInfo("system:node:node-1", "", ("system:nodes", "system:authenticated"))
ALICE = UserInfo("alice", "", ("system:authenticated",))


@pytest.fixture
def authorizer() -> NodeAuthorizer:
    graph = Graph()
    graph.set_edges(pod_vertex("default", "web"), pod_edges({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"nodeName": "node-1", "serviceAccountName": "runner",
                 "containers": [{"name": "c", "envFrom": [{"configMapRef": {"name": "settings"}}]}],
                 "volumes": [{"name": "s", "secret": {"secretName": "tls"}},
                             {"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}}))
    graph.set_edges(pod_vertex("default", "other"), pod_edges({
        "metadata": {"name": "other", "namespace": "default"},
        "spec": {"nodeName": "node-2", "volumes": [{"name": "s", "secret": {"secretName": "db"}}]}}))
    graph.set_edges(pv_vertex("pv1"), pv_edges({
        "metadata": {"name": "pv1"}, "spec": {"claimRef": {"namespace": "default", "name": "data"}}}))
    return NodeAuthorizer(graph)


@pytest.mark.parametrize("user,expected", [
    (NODE_1, ("node-1", True)),
    (UserInfo("system:node:node-1", "", ("system:authenticated",)), ("", False)),
    (UserInfo("node-1", "", ("system:nodes",)), ("", False)),
    (UserInfo("system:node:", "", ("system:nodes",)), ("", True)),
])
def test_a_node_is_a_system_node_user_in_the_nodes_group(user, expected) -> None:
    assert node_identity(user) == expected


@pytest.mark.parametrize("method,path,query", [
    ("GET", "/api/v1/namespaces/default/secrets/tls", ""),
    ("GET", "/api/v1/namespaces/default/secrets", "fieldSelector=metadata.name%3Dtls"),
    ("GET", "/api/v1/namespaces/default/secrets", "fieldSelector=metadata.name%3Dtls&watch=true"),
    ("GET", "/api/v1/namespaces/default/configmaps/settings", ""),
    ("GET", "/api/v1/namespaces/default/persistentvolumeclaims/data", ""),
    ("PATCH", "/api/v1/namespaces/default/persistentvolumeclaims/data/status", ""),
    ("GET", "/api/v1/persistentvolumes/pv1", ""),
    ("POST", "/api/v1/namespaces/default/serviceaccounts/runner/token", ""),
    ("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1", ""),
    ("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", ""),
    ("GET", "/api/v1/nodes", "watch=true"),
    ("POST", "/api/v1/nodes", ""),
    ("PUT", "/api/v1/nodes/node-1/status", ""),
    ("GET", "/api/v1/pods", "fieldSelector=spec.nodeName%3Dnode-1"),
    ("PATCH", "/api/v1/namespaces/default/pods/web/status", ""),
    ("POST", "/api/v1/namespaces/default/pods/web/eviction", ""),
    ("POST", "/api/v1/namespaces/default/events", ""),
    ("POST", "/apis/events.k8s.io/v1/namespaces/default/events", ""),
    ("GET", "/api/v1/services", ""),
    ("POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", ""),
    ("POST", "/apis/authentication.k8s.io/v1/tokenreviews", ""),
])
def test_a_node_may(authorizer, method, path, query) -> None:
    verdict = authorizer.authorize(request_attributes(NODE_1, method, path, query))
    assert verdict.decision is Decision.ALLOW, verdict


NO_RELATIONSHIP = "no relationship found between node 'node-1' and this object"


@pytest.mark.parametrize("method,path,query,reason", [
    ("GET", "/api/v1/namespaces/default/secrets/db", "", NO_RELATIONSHIP),
    ("GET", "/api/v1/namespaces/other/secrets/tls", "", NO_RELATIONSHIP),
    ("GET", "/api/v1/namespaces/default/secrets", "", "No Object name found"),
    ("GET", "/api/v1/secrets", "", "can only read namespaced object of this type"),
    ("PUT", "/api/v1/namespaces/default/secrets/tls", "", "can only read resources of this type"),
    ("GET", "/api/v1/namespaces/default/configmaps/kube-root-ca.crt", "", NO_RELATIONSHIP),
    ("GET", "/api/v1/namespaces/default/persistentvolumeclaims", "",
     "can only get individual resources of this type"),
    ("GET", "/api/v1/persistentvolumes/pv9", "", NO_RELATIONSHIP),
    ("POST", "/api/v1/namespaces/default/serviceaccounts/default/token", "", NO_RELATIONSHIP),
    ("GET", "/api/v1/namespaces/default/serviceaccounts/runner", "",
     "can only create tokens for individual service accounts"),
    ("PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-2", "",
     "can only access node lease with the same name as the requesting node"),
    ("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/node-1", "",
     'can only access leases in the "kube-node-lease" system namespace'),
    ("DELETE", "/api/v1/nodes/node-2", "", ""),
    ("PUT", "/api/v1/namespaces/default/pods/web", "", ""),
    ("POST", "/api/v1/namespaces/default/pods/web/binding", "", ""),
    ("GET", "/apis/apps/v1/deployments", "", ""),
    ("GET", "/api/v1/namespaces/default/endpoints", "", ""),
    ("GET", "/healthz", "", ""),
])
def test_a_node_gets_no_opinion_for(authorizer, method, path, query, reason) -> None:
    verdict = authorizer.authorize(request_attributes(NODE_1, method, path, query))
    assert (verdict.decision, verdict.reason) == (Decision.NO_OPINION, reason)


def test_users_that_are_not_nodes_get_no_opinion_so_the_next_authorizer_decides(authorizer) -> None:
    for user in (ALICE, UserInfo("system:node:node-1", "", ("system:authenticated",))):
        verdict = authorizer.authorize(
            request_attributes(user, "GET", "/api/v1/namespaces/default/secrets/tls"))
        assert (verdict.decision, verdict.reason) == (Decision.NO_OPINION, "")
    nameless = UserInfo("system:node:", "", ("system:nodes",))
    verdict = authorizer.authorize(request_attributes(nameless, "GET", "/api/v1/nodes"))
    assert verdict.reason == 'unknown node for user "system:node:"'


def test_the_403_for_another_pods_secret_carries_upstreams_reason(authorizer) -> None:
    attributes = request_attributes(NODE_1, "GET", "/api/v1/namespaces/default/secrets/db")
    verdict = Chain([authorizer]).authorize(attributes)
    assert forbidden(attributes, verdict.reason).message == (
        'secrets "db" is forbidden: User "system:node:node-1" cannot get resource "secrets" in '
        'API group "" in the namespace "default": ' + NO_RELATIONSHIP)
