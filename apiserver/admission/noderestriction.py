"""NodeRestriction: a kubelet may change only itself and the pods bound to it.

The Node authorizer lets every node write Nodes, pod status, pods (mirror pods),
evictions, leases and service account tokens, because it cannot see the object
in the request; this plugin sees it and refuses, for a node user
(`system:node:NAME` in `system:nodes`), any write that is not about that node:

- Node: only the node's own (`node "n1" is not allowed to modify node "n2"`); on
  create no forbidden labels; on update no change to `spec.taints`, to
  `spec.configSource` or to forbidden labels. Forbidden labels are those under
  `node-restriction.kubernetes.io/`, and any other `kubernetes.io` / `k8s.io` label
  that is not one the kubelet itself sets (upstream's kubelet label list);
- Pod: create only mirror pods bound to itself, owned by its own Node (with that
  Node's uid) and referring to no service account, secret, configmap or claim;
  delete and evict only pods bound to itself; status only of pods bound to it;
  no other subresource, no other update;
- PVC: only the status fields a kubelet reports (capacity, conditions);
- ServiceAccount token: only bound to a pod (by name and uid) on this node;
- Lease: only in `kube-node-lease`, only the one named after the node.

Kubernetes counterpart: plugin/pkg/admission/noderestriction/admission.go
"""

from __future__ import annotations

from typing import Any

from apiserver import errors
from apiserver.admission import CREATE, DELETE, PLUGINS, UPDATE, AdmissionRequest, Obj
from apiserver.authorization.node import node_identity
from apiserver.authorization.node.authorizer import NODE_LEASE_NAMESPACE
from apiserver.authorization.node.references import pod_references
from tinykube.api.resources import NODES, PODS

MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"
RESTRICTED_LABEL_NAMESPACE = "node-restriction.kubernetes.io"
# Labels a kubelet sets on its own Node (k8s.io/kubelet/pkg/apis: kubeletLabels,
# kubeletLabelNamespaces).
KUBELET_LABELS = frozenset({
    "kubernetes.io/hostname", "kubernetes.io/os", "kubernetes.io/arch",
    "beta.kubernetes.io/os", "beta.kubernetes.io/arch", "beta.kubernetes.io/instance-type",
    "node.kubernetes.io/instance-type", "failure-domain.beta.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone", "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone"})
KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")


def _in_namespace(prefix: str, namespace: str) -> bool:
    return prefix == namespace or prefix.endswith("." + namespace)


def forbidden_labels(labels: dict[str, str], old_labels: dict[str, str]) -> list[str]:
    """The added, removed or changed label keys a node may not set, sorted."""
    changed = {k for k in labels.keys() | old_labels.keys() if labels.get(k) != old_labels.get(k)}
    refused = set()
    for key in changed:
        prefix = key.split("/", 1)[0] if "/" in key else ""
        if _in_namespace(prefix, RESTRICTED_LABEL_NAMESPACE):
            refused.add(key)
        kubernetes = any(_in_namespace(prefix, ns) for ns in ("kubernetes.io", "k8s.io"))
        kubelet = key in KUBELET_LABELS or any(_in_namespace(prefix, ns)
                                               for ns in KUBELET_LABEL_NAMESPACES)
        if kubernetes and not kubelet:
            refused.add(key)
    return sorted(refused)


def _meta(obj: Obj | None) -> Obj:
    return (obj or {}).get("metadata") or {}


def _spec(obj: Obj | None) -> Obj:
    return (obj or {}).get("spec") or {}


class NodeRestriction:
    name = "NodeRestriction"
    _resources = {("", "pods"), ("", "nodes"), ("", "persistentvolumeclaims"),
                  ("", "serviceaccounts"), ("coordination.k8s.io", "leases")}

    def __init__(self, server: Any) -> None:
        self.server = server  # reads pods and nodes through its registries

    def handles(self, request: AdmissionRequest) -> bool:
        return (request.operation in (CREATE, UPDATE, DELETE)
                and node_identity(request.user)[1]
                and (request.info.group, request.info.plural) in self._resources)

    async def admit(self, request: AdmissionRequest) -> None:
        return None  # nothing to change: every check is in validate, on the final object

    async def validate(self, request: AdmissionRequest) -> None:
        node_name, _ = node_identity(request.user)
        if not node_name:
            raise self._forbidden(request, "could not determine node from user "
                                           f'"{request.user.name}"')
        check = {"pods": self._pod, "nodes": self._node,
                 "persistentvolumeclaims": self._pvc_status,
                 "serviceaccounts": self._service_account, "leases": self._lease}
        await check[request.info.plural](node_name, request)

    def _forbidden(self, request: AdmissionRequest, why: str) -> errors.APIError:
        name = request.name or _meta(request.obj).get("name") or "Unknown"
        return errors.forbidden(request.info, name, why)

    async def _pod(self, node: str, request: AdmissionRequest) -> None:
        op, sub = request.operation, request.subresource
        if sub == "status":
            if op != UPDATE:
                raise self._forbidden(request, f'unexpected operation "{op}"')
            # (Upstream also refuses label changes here; tinykube's status writes
            # never take metadata, see Strategy.prepare_for_status_update.)
            if _spec(request.old).get("nodeName") != node:
                raise self._forbidden(request, f'node "{node}" can only update pod status for '
                                               "pods with spec.nodeName set to itself")
        elif sub == "eviction":
            if op != CREATE:
                raise self._forbidden(request, f"unexpected operation {op}")
            if _spec(request.old).get("nodeName") != node:
                raise self._forbidden(request, f"node {node} can only evict pods with "
                                               "spec.nodeName set to itself")
        elif sub:
            raise self._forbidden(request, f'unexpected pod subresource "{sub}", only '
                                           "'status' and 'eviction' are allowed")
        elif op == CREATE:
            await self._mirror_pod(node, request)
        elif op == DELETE:
            if _spec(request.old).get("nodeName") != node:
                raise self._forbidden(request, f'node "{node}" can only delete pods with '
                                               "spec.nodeName set to itself")
        else:
            raise self._forbidden(request, f'unexpected operation "{op}", node "{node}" can '
                                           "only create and delete mirror pods")

    async def _mirror_pod(self, node: str, request: AdmissionRequest) -> None:
        pod = request.obj or {}
        if MIRROR_POD_ANNOTATION not in (_meta(pod).get("annotations") or {}):
            raise self._forbidden(request, f'pod does not have "{MIRROR_POD_ANNOTATION}" '
                                           f'annotation, node "{node}" can only create mirror pods')
        if _spec(pod).get("nodeName") != node:
            raise self._forbidden(request, f'node "{node}" can only create pods with '
                                           "spec.nodeName set to itself")
        owners = _meta(pod).get("ownerReferences") or []
        if len(owners) != 1:
            what = "a single owner reference" if owners else "an owner reference"
            raise self._forbidden(request, f'node "{node}" can only create pods with {what} '
                                           "set to itself")
        owner = owners[0]
        if (owner.get("apiVersion"), owner.get("kind"), owner.get("name")) != ("v1", "Node", node):
            raise self._forbidden(request, f'node "{node}" can only create pods with an owner '
                                           "reference set to itself")
        if not owner.get("controller"):
            raise self._forbidden(request, f'node "{node}" can only create pods with a '
                                           "controller owner reference set to itself")
        if owner.get("blockOwnerDeletion"):
            raise self._forbidden(request, f'node "{node}" must not set blockOwnerDeletion on '
                                           "an owner reference")
        node_uid = _meta(await self.server.registries[NODES].get(None, node)).get("uid")
        if owner.get("uid") != node_uid:
            raise self._forbidden(request, f"node {node} UID mismatch: expected "
                                           f"{owner.get('uid', '')} got {node_uid}")
        refs = pod_references(pod)
        for present, what in ((refs.service_account, "a service account"),
                              (refs.secrets, "secrets"), (refs.config_maps, "configmaps"),
                              (refs.claims, "persistentvolumeclaims")):
            if present:
                raise self._forbidden(request, f'node "{node}" can not create pods that '
                                               f"reference {what}")
        for volume in _spec(pod).get("volumes") or ():
            for source in (volume.get("projected") or {}).get("sources") or ():
                if source.get("clusterTrustBundle") is not None:
                    raise self._forbidden(request, f'node "{node}" can not create pods that '
                                                   "reference clustertrustbundles")

    async def _node(self, node: str, request: AdmissionRequest) -> None:
        if request.name != node:
            raise self._forbidden(request, f'node "{node}" is not allowed to modify node '
                                           f'"{request.name}"')
        new, old = request.obj, request.old
        if request.operation == CREATE:
            if _spec(new).get("configSource") is not None:
                raise self._forbidden(request, f'node "{node}" is not allowed to create pods '
                                               "with a non-nil configSource")
            refused = forbidden_labels(_meta(new).get("labels") or {}, {})
            if refused:
                raise self._forbidden(request, f'node "{node}" is not allowed to set the '
                                               f"following labels: {', '.join(refused)}")
        elif request.operation == UPDATE:
            source = _spec(new).get("configSource")
            if source is not None and source != _spec(old).get("configSource"):
                raise self._forbidden(request, f'node "{node}" is not allowed to update '
                                               "configSource to a new non-nil configSource")
            if (_spec(new).get("taints") or []) != (_spec(old).get("taints") or []):
                raise self._forbidden(request, f'node "{node}" is not allowed to modify taints')
            refused = forbidden_labels(_meta(new).get("labels") or {},
                                       _meta(old).get("labels") or {})
            if refused:
                raise self._forbidden(request, "is not allowed to modify labels: "
                                               + ", ".join(refused))

    async def _pvc_status(self, node: str, request: AdmissionRequest) -> None:
        if request.subresource != "status":
            raise self._forbidden(request, "may only update PVC status")
        if request.operation != UPDATE:
            raise self._forbidden(request, f'unexpected operation "{request.operation}"')
        if _without_reported_status(request.obj) != _without_reported_status(request.old):
            raise self._forbidden(request, f'node "{node}" is not allowed to update fields '
                                           "other than status.capacity and status.conditions")

    async def _service_account(self, node: str, request: AdmissionRequest) -> None:
        if request.operation != CREATE or request.subresource != "token":
            return
        ref = _spec(request.obj).get("boundObjectRef") or {}
        if (ref.get("apiVersion"), ref.get("kind")) != ("v1", "Pod") or not ref.get("name"):
            raise self._forbidden(request, "node requested token not bound to a pod")
        if not ref.get("uid"):
            raise self._forbidden(request, "node requested token with a pod binding without "
                                           "a uid")
        pod = await self.server.registries[PODS].get(request.namespace, ref["name"])
        if ref["uid"] != _meta(pod).get("uid"):
            raise self._forbidden(request, f"the UID in the bound object reference "
                                           f"({ref['uid']}) does not match the UID in record. "
                                           "The object might have been deleted and then "
                                           "recreated")
        if _spec(pod).get("nodeName") != node:
            raise self._forbidden(request, "node requested token bound to a pod scheduled on "
                                           "a different node")

    async def _lease(self, node: str, request: AdmissionRequest) -> None:
        if request.namespace != NODE_LEASE_NAMESPACE:
            raise self._forbidden(request, f'can only access leases in the '
                                           f'"{NODE_LEASE_NAMESPACE}" system namespace')
        name = _meta(request.obj).get("name") if request.operation == CREATE else request.name
        if name != node:
            raise self._forbidden(request, "can only access node lease with the same name as "
                                           "the requesting node")


def _without_reported_status(pvc: Obj | None) -> Obj:
    """A claim less what a kubelet may report (and what every write changes)."""
    copy = {**(pvc or {}), "metadata": dict(_meta(pvc)), "status": dict((pvc or {}).get("status")
                                                                        or {})}
    for key in ("resourceVersion", "managedFields"):
        copy["metadata"].pop(key, None)
    for key in ("capacity", "conditions", "allocatedResourceStatuses", "allocatedResources"):
        copy["status"].pop(key, None)
    return copy


PLUGINS["NodeRestriction"] = NodeRestriction
