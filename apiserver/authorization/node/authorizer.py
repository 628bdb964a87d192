"""The Node authorizer: what a kubelet (`system:node:NAME` in `system:nodes`) may do.

Requests from anyone else get no opinion. For a node:
- secrets and configmaps (get/list/watch of one named object), persistent volume
  claims and volumes (get; a claim's status: update/patch), and service account tokens (create of
  `serviceaccounts/token`) are allowed only when the graph has a path from the
  object to the node (a pod bound to the node uses it); otherwise no opinion
  with upstream's reason `no relationship found between node 'X' and this
  object`, so a later authorizer (RBAC) may still allow;
- leases: get/create/update/patch/delete in `kube-node-lease`, and only the
  lease named after the node (create is checked by NodeRestriction, which sees
  the name);
- everything else is matched against the static rules of upstream's
  `system:node` role (`NODE_RULES`): read nodes, pods and services; create and
  update nodes (NodeRestriction keeps a node to its own); pods: create and
  delete (mirror pods), status, eviction; events; CSRs; TokenReview and
  SubjectAccessReview.

Kubernetes counterpart: plugin/pkg/auth/authorizer/node/node_authorizer.go,
plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go (NodeRules),
pkg/auth/nodeidentifier/default.go
"""

from __future__ import annotations

from dataclasses import dataclass

from apiserver.auth import UserInfo
from apiserver.authorization.attributes import Attributes
from apiserver.authorization.authorizer import Decision, Verdict
from apiserver.authorization.node.graph import (CONFIG_MAP, PV, PVC, SECRET, SERVICE_ACCOUNT,
                                                Graph, Vertex)
from apiserver.authorization.node.populator import GraphPopulator

NODES_GROUP = "system:nodes"
NODE_USER_PREFIX = "system:node:"
NODE_LEASE_NAMESPACE = "kube-node-lease"


def node_identity(user: UserInfo) -> tuple[str, bool]:
    """(node name, is a node): a node is a user named `system:node:<name>` in the
    `system:nodes` group; the name may be empty (a node we cannot tell apart)."""
    if not user.name.startswith(NODE_USER_PREFIX) or NODES_GROUP not in user.groups:
        return "", False
    return user.name[len(NODE_USER_PREFIX):], True


@dataclass(frozen=True)
class Rule:
    """One static policy rule: verbs on resources (`pods/status` names a subresource)."""

    verbs: frozenset[str]
    groups: frozenset[str]
    resources: frozenset[str]

    def allows(self, attributes: Attributes) -> bool:
        resource = attributes.resource
        if attributes.subresource:
            resource += "/" + attributes.subresource
        return (attributes.verb in self.verbs and attributes.api_group in self.groups
                and resource in self.resources)


def _rule(verbs: str, groups: str, resources: str) -> Rule:
    return Rule(frozenset(verbs.split()), frozenset(groups.split(",")),
                frozenset(resources.split()))


# Upstream's NodeRules, less those the graph and the lease check decide above.
NODE_RULES = (
    _rule("create", "authentication.k8s.io", "tokenreviews"),
    _rule("create", "authorization.k8s.io", "subjectaccessreviews localsubjectaccessreviews"),
    _rule("get list watch", "", "services"),
    _rule("create get list watch update patch", "", "nodes"),
    _rule("update patch", "", "nodes/status"),
    _rule("create update patch", ",events.k8s.io", "events"),
    _rule("get list watch create delete", "", "pods"),
    _rule("update patch", "", "pods/status"),
    _rule("create", "", "pods/eviction"),
    _rule("get", "", "endpoints"),
    _rule("create get list watch", "certificates.k8s.io", "certificatesigningrequests"),
    _rule("get list watch", "storage.k8s.io", "csidrivers"),
    _rule("get list watch", "node.k8s.io", "runtimeclasses"),
)

# (group, resource) -> the graph's vertex kind, for objects a node reaches through pods.
_NAMESPACED_READS = {("", "secrets"): SECRET, ("", "configmaps"): CONFIG_MAP}
_GETS = {("", "persistentvolumeclaims"): PVC, ("", "persistentvolumes"): PV}


def _no_opinion(reason: str = "") -> Verdict:
    return Verdict(Decision.NO_OPINION, reason)


class NodeAuthorizer:
    def __init__(self, graph: Graph, populator: GraphPopulator | None = None) -> None:
        self.graph = graph
        self.populator = populator  # what keeps the graph current (held so it lives on)

    def authorize(self, attributes: Attributes) -> Verdict:
        node_name, is_node = node_identity(attributes.user)
        if not is_node:
            return _no_opinion()
        if not node_name:
            return _no_opinion(f'unknown node for user "{attributes.user.name}"')
        if attributes.resource_request:
            key = (attributes.api_group, attributes.resource)
            if key in _NAMESPACED_READS:
                return self._read_namespaced(node_name, _NAMESPACED_READS[key], attributes)
            if key == ("", "persistentvolumeclaims") and attributes.subresource == "status":
                return self._update_status(node_name, attributes)
            if key in _GETS:
                return self._get(node_name, _GETS[key], attributes)
            if key == ("", "serviceaccounts"):
                return self._create_token(node_name, attributes)
            if key == ("coordination.k8s.io", "leases"):
                return self._lease(node_name, attributes)
        if any(rule.allows(attributes) for rule in NODE_RULES if attributes.resource_request):
            return Verdict(Decision.ALLOW)
        return _no_opinion()

    def _read_namespaced(self, node_name: str, kind: str, attributes: Attributes) -> Verdict:
        if attributes.verb not in ("get", "list", "watch"):
            return _no_opinion("can only read resources of this type")
        if attributes.subresource:
            return _no_opinion("cannot read subresource")
        if not attributes.namespace:
            return _no_opinion("can only read namespaced object of this type")
        return self._related(node_name, kind, attributes)

    def _get(self, node_name: str, kind: str, attributes: Attributes) -> Verdict:
        if attributes.verb != "get":
            return _no_opinion("can only get individual resources of this type")
        if attributes.subresource:
            return _no_opinion("cannot get subresource")
        return self._related(node_name, kind, attributes)

    def _update_status(self, node_name: str, attributes: Attributes) -> Verdict:
        if attributes.verb not in ("update", "patch"):
            return _no_opinion("can only get/update/patch this type")
        return self._related(node_name, PVC, attributes)

    def _create_token(self, node_name: str, attributes: Attributes) -> Verdict:
        if attributes.verb != "create" or not attributes.name:
            return _no_opinion("can only create tokens for individual service accounts")
        if attributes.subresource != "token":
            return _no_opinion("can only create token subresource of serviceaccount")
        return self._related(node_name, SERVICE_ACCOUNT, attributes)

    def _lease(self, node_name: str, attributes: Attributes) -> Verdict:
        if attributes.verb not in ("get", "create", "update", "patch", "delete"):
            return _no_opinion("can only get, create, update, patch, or delete a node lease")
        if attributes.namespace != NODE_LEASE_NAMESPACE:
            return _no_opinion(f'can only access leases in the "{NODE_LEASE_NAMESPACE}" '
                               "system namespace")
        # A create names its lease only in the body: NodeRestriction checks it.
        if attributes.verb != "create" and attributes.name != node_name:
            return _no_opinion("can only access node lease with the same name as the "
                               "requesting node")
        return Verdict(Decision.ALLOW)

    def _related(self, node_name: str, kind: str, attributes: Attributes) -> Verdict:
        if not attributes.name:
            return _no_opinion("No Object name found")
        start: Vertex = (kind, attributes.namespace, attributes.name)
        if self.graph.has_path_to_node(start, node_name):
            return Verdict(Decision.ALLOW)
        return _no_opinion(f"no relationship found between node '{node_name}' and this object")
