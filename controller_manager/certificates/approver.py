"""csrapproving: approves the certificate requests kubelets make for themselves.

Two kinds of request are approved; every other request is left for an administrator
(`kubectl certificate approve|deny`). Nothing is ever denied here.

- **kubelet client** (`kubernetes.io/kube-apiserver-client-kubelet`, a well-formed
  `system:node:<name>` / `system:nodes` request): approved when the requestor is a
  bootstrapper (group `system:bootstrappers`: a new node trading its bootstrap token
  for a certificate) or the node itself (`username` is the request's CN: a renewal).
  Upstream asks a SubjectAccessReview for `certificatesigningrequests/nodeclient` and
  `/selfnodeclient` instead, so RBAC decides who may bootstrap; tinykube checks those
  two groups directly.
- **kubelet serving** (`kubernetes.io/kubelet-serving`): approved when the node asks
  for itself (requestor `system:node:<name>` in `system:nodes`, CN the same), the Node
  exists, and every DNS SAN is the node's name or one of its Hostname/InternalDNS/
  ExternalDNS addresses and every IP SAN one of its InternalIP/ExternalIP addresses.
  Upstream approves no serving certificates at all (an administrator or an external
  approver must); tinykube does, so `--rotate-server-certificates` kubelets work in a
  cluster with no human in the loop.

`approval_for` is the decision, a pure function; the controller writes an `Approved`
condition (reason `AutoApproved`) through the `approval` subresource. A serving
request whose Node is not there yet is looked at again when the Node appears.

Kubernetes counterpart: pkg/controller/certificates/approver/sarapprove.go
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from controller_manager.certificates.requests import (NODES_GROUP, ParsedRequest,
                                                       kubelet_client_problem,
                                                       kubelet_serving_problem)
from controller_manager.controller_utils import Controller
from tinykube.api.certificates import (APPROVED, DENIED, KUBE_APISERVER_CLIENT_KUBELET, KUBELET_SERVING,
                                       CertificateSigningRequest, CertificateSigningRequestCondition,
                                       CertificateSigningRequestStatus)
from tinykube.api.core import Node
from tinykube.api.resources import CERTIFICATE_SIGNING_REQUESTS, NODES
from tinykube.client import REAL_CLOCK, Clock, Conflict, EventRecorder, NotFound, RESTClient, SharedInformerFactory

log = logging.getLogger(__name__)

BOOTSTRAPPERS = "system:bootstrappers"
DNS_ADDRESS_TYPES = ("Hostname", "InternalDNS", "ExternalDNS")
IP_ADDRESS_TYPES = ("InternalIP", "ExternalIP")


@dataclass(frozen=True)
class Approval:
    """`approve` with the condition's message, or not (then `message` says why not)."""

    approve: bool
    message: str


def _requested(csr: CertificateSigningRequest) -> ParsedRequest | None:
    try:
        return ParsedRequest.from_pem(csr.spec.request_pem)
    except ValueError:
        return None


def node_names(node: Node) -> tuple[set[str], set[str]]:
    """(DNS names, IP addresses) a node may put in its serving certificate."""
    addresses = (node.status.addresses if node.status else None) or []
    dns = {node.metadata.name or ""} | {a.address for a in addresses if a.type in DNS_ADDRESS_TYPES}
    return dns, {a.address for a in addresses if a.type in IP_ADDRESS_TYPES}


def approval_for(csr: CertificateSigningRequest, node: Node | None) -> Approval:
    """Whether to approve `csr`; `node` is the Node its CN names (None if absent)."""
    spec = csr.spec
    request = _requested(csr)
    if request is None:
        return Approval(False, "the request cannot be parsed")
    requestor, groups = spec.username or "", set(spec.groups or [])
    if spec.signer_name == KUBE_APISERVER_CLIENT_KUBELET:
        problem = kubelet_client_problem(request, spec.usages or [])
        if problem:
            return Approval(False, problem)
        if requestor == request.common_name:
            return Approval(True, "Auto approving self kubelet client certificate: the node renews its own.")
        if BOOTSTRAPPERS in groups:
            return Approval(True, "Auto approving kubelet client certificate: the requestor is a bootstrapper.")
        return Approval(False, f"requestor {requestor} is neither a bootstrapper nor the node")
    if spec.signer_name == KUBELET_SERVING:
        problem = kubelet_serving_problem(request, spec.usages or [])
        if problem:
            return Approval(False, problem)
        if requestor != request.common_name or NODES_GROUP not in groups:
            return Approval(False, f"requestor {requestor} is not the node {request.common_name}")
        if node is None:
            return Approval(False, f"node {request.node_name} is not registered")
        dns, ips = node_names(node)
        foreign = sorted(set(request.dns_names) - dns) + sorted(set(request.ip_addresses) - ips)
        if foreign:
            return Approval(False, f"names {foreign} are not the node's")
        return Approval(True, "tinykube: auto approving kubelet serving certificate: its names are the node's.")
    return Approval(False, f"signer {spec.signer_name} is not auto-approved")


class CSRApprovingController(Controller):
    """Guarantees: only pending requests are approved, each at most once (the approval
    subresource write carries the resourceVersion it decided on)."""

    name = "csrapproving"

    def __init__(self, client: RESTClient, factory: SharedInformerFactory, recorder: EventRecorder,
                 *, clock: Clock = REAL_CLOCK, **options: Any) -> None:
        super().__init__(client, recorder, self.sync_csr, clock=clock)
        self.csr_informer = factory.informer_for(CERTIFICATE_SIGNING_REQUESTS)
        self.csr_informer.add_event_handler(self.enqueue, lambda old, cur: self.enqueue(cur), None)
        self.node_informer = factory.informer_for(NODES)
        self.node_informer.add_event_handler(self.node_changed, lambda old, cur: self.node_changed(cur), None)

    def node_changed(self, node: Node) -> None:
        """A registered (or re-addressed) node may unblock its pending serving request."""
        for csr in self.csr_informer.indexer.list():
            pending = not (csr.has_condition(APPROVED) or csr.has_condition(DENIED) or csr.is_finished)
            if pending and csr.spec.signer_name == KUBELET_SERVING \
                    and csr.spec.username == f"system:node:{node.metadata.name}":
                self.enqueue(csr)

    async def sync_csr(self, key: str) -> None:
        csr: CertificateSigningRequest | None = self.csr_informer.indexer.get(key)
        if csr is None or csr.has_condition(APPROVED) or csr.has_condition(DENIED) or csr.is_finished:
            return
        request = _requested(csr)
        node = self.node_informer.indexer.get(request.node_name) if request else None
        decision = approval_for(csr, node)
        if not decision.approve:
            log.debug("csr left pending csr=%s reason=%s", key, decision.message)
            return
        approved = csr.model_copy(deep=True)
        approved.status = approved.status or CertificateSigningRequestStatus()
        approved.status.conditions = [*(approved.status.conditions or []), CertificateSigningRequestCondition(
            type=APPROVED, status="True", reason="AutoApproved", message=decision.message)]
        log.info("approving csr csr=%s requestor=%s signer=%s", key, csr.spec.username, csr.spec.signer_name)
        try:
            await self.client.put_subresource(CERTIFICATE_SIGNING_REQUESTS, key, "approval",
                                              approved.to_dict())
        except (Conflict, NotFound):
            pass  # changed or gone since the cache saw it: its next event brings it back
