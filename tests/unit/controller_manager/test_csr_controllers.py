"""csrapproving and csrsigning: which requests are approved, and what a signed certificate says."""

from __future__ import annotations

import base64
import datetime
from typing import Any

import pytest
from controller_fakes import FakeClient, cache_add, typed_factory
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from controller_manager.certificates.approver import CSRApprovingController, approval_for
from controller_manager.certificates.signer import CSRSigningController, issue, signer_problem
from tinykube import pki
from tinykube.api.certificates import CertificateSigningRequest
from tinykube.api.core import Node
from tinykube.client import EventRecorder

CLIENT = "kubernetes.io/kube-apiserver-client-kubelet"
SERVING = "kubernetes.io/kubelet-serving"
KEY = pki.new_private_key()
NOW = datetime.datetime.now(datetime.timezone.utc)
Obj = dict[str, Any]


def csr(signer: str = CLIENT, *, cn: str = "system:node:n1", orgs: tuple[str, ...] = ("system:nodes",),
        sans: tuple[str, ...] = (), usages: tuple[str, ...] = ("digital signature", "client auth"),
        username: str = "system:bootstrap:abcdef", groups: tuple[str, ...] = ("system:bootstrappers",),
        conditions: list[Obj] | None = None, seconds: int | None = None) -> Obj:
    request = pki.certificate_request_pem(KEY, cn, orgs, sans)
    spec: Obj = {"request": base64.b64encode(request).decode(), "signerName": signer, "usages": list(usages),
                 "username": username, "groups": list(groups)}
    if seconds is not None:
        spec["expirationSeconds"] = seconds
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"name": "csr-1", "resourceVersion": "3"}, "spec": spec,
            "status": {"conditions": conditions} if conditions else {}}


def node(name: str = "n1", ip: str = "10.0.0.5") -> Node:
    return Node.from_dict({"metadata": {"name": name}, "status": {"addresses": [
        {"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}]}})


def model(obj: Obj) -> CertificateSigningRequest:
    return CertificateSigningRequest.from_dict(obj)


NODE_ITSELF = {"username": "system:node:n1", "groups": ("system:nodes", "system:authenticated")}
SERVING_USAGES = ("digital signature", "server auth")


@pytest.mark.parametrize(("obj", "approve"), [
    (csr(), True),  # a bootstrapper asks for a node
    (csr(**NODE_ITSELF), True),  # the node renews its own
    (csr(username="alice", groups=("developers",)), False),  # anyone else waits for an admin
    (csr(username="system:node:n2", groups=("system:nodes",)), False),  # another node
    (csr(orgs=("system:masters",)), False),  # not the node group
    (csr(cn="admin"), False),
    (csr(sans=("n1",)), False),  # a client certificate has no SANs
    (csr(usages=("digital signature", "client auth", "server auth")), False),
    (csr(SERVING, sans=("n1", "10.0.0.5"), usages=SERVING_USAGES, **NODE_ITSELF), True),
    (csr(SERVING, sans=("n1", "10.0.0.6"), usages=SERVING_USAGES, **NODE_ITSELF), False),  # not its IP
    (csr(SERVING, sans=("evil.example.com",), usages=SERVING_USAGES, **NODE_ITSELF), False),
    (csr(SERVING, sans=("n1",), usages=SERVING_USAGES), False),  # a bootstrapper may not get serving certs
    (csr("example.com/custom", **NODE_ITSELF), False),
])
def test_approval_decisions(obj: Obj, approve: bool) -> None:
    assert approval_for(model(obj), node()).approve is approve


def test_a_serving_request_waits_for_its_node() -> None:
    decision = approval_for(model(csr(SERVING, sans=("n1",), usages=SERVING_USAGES, **NODE_ITSELF)), None)
    assert not decision.approve and decision.message == "node n1 is not registered"


async def test_the_approver_writes_an_approved_condition_through_the_approval_subresource() -> None:
    client = FakeClient()
    controller = CSRApprovingController(client, typed_factory(client),  # type: ignore[arg-type]
                                        EventRecorder(client, "test"))  # type: ignore[arg-type]
    cache_add(controller.csr_informer, csr())
    await controller.sync_csr("csr-1")
    [write] = client.writes("certificatesigningrequests")
    assert write.subresource == "approval"
    [condition] = write.body["status"]["conditions"]
    assert (condition["type"], condition["status"], condition["reason"]) == ("Approved", "True", "AutoApproved")


async def test_the_approver_leaves_decided_requests_alone() -> None:
    client = FakeClient()
    controller = CSRApprovingController(client, typed_factory(client),  # type: ignore[arg-type]
                                        EventRecorder(client, "test"))  # type: ignore[arg-type]
    cache_add(controller.csr_informer, csr(conditions=[{"type": "Denied", "status": "True"}]))
    await controller.sync_csr("csr-1")
    assert client.writes("certificatesigningrequests") == []


CA = pki.new_ca()


def test_an_issued_client_certificate_copies_the_subject_and_is_capped_by_the_duration() -> None:
    approved = model(csr(seconds=3600))
    certificate = x509.load_pem_x509_certificate(issue(approved, CA, NOW, max_duration_seconds=86400))
    assert pki.user_of(certificate) == ("system:node:n1", ["system:nodes"])
    assert certificate.issuer == CA[0].subject
    assert certificate.not_valid_after_utc - certificate.not_valid_before_utc == datetime.timedelta(minutes=65)
    usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    longest = x509.load_pem_x509_certificate(issue(model(csr()), CA, NOW, max_duration_seconds=600))
    assert longest.not_valid_after_utc.replace(microsecond=0) == (NOW + datetime.timedelta(seconds=600)).replace(
        microsecond=0)


def test_a_user_certificate_asked_for_client_auth_only_has_no_empty_key_usage() -> None:
    """`usages: [client auth]` (kubectl's documented user CSR): an empty critical KeyUsage
    would make every TLS server refuse the certificate."""
    user = model(csr("kubernetes.io/kube-apiserver-client", cn="jane", orgs=("devs",), usages=("client auth",)))
    certificate = x509.load_pem_x509_certificate(issue(user, CA, NOW))
    with pytest.raises(x509.ExtensionNotFound):
        certificate.extensions.get_extension_for_class(x509.KeyUsage)
    signing = x509.load_pem_x509_certificate(issue(model(csr()), CA, NOW))
    assert signing.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature


def test_an_issued_serving_certificate_carries_the_requested_names() -> None:
    serving = model(csr(SERVING, sans=("n1", "10.0.0.5"), usages=SERVING_USAGES, **NODE_ITSELF))
    certificate = x509.load_pem_x509_certificate(issue(serving, CA, NOW))
    assert pki.certificate_sans(certificate) == {"n1", "10.0.0.5"}


@pytest.mark.parametrize(("obj", "problem"), [
    (csr(), None),
    (csr(cn="admin"), 'subject common name does not begin with "system:node:"'),
    (csr("kubernetes.io/kube-apiserver-client", cn="alice", orgs=("devs",)), None),
    (csr("kubernetes.io/kube-apiserver-client", cn="alice", usages=("server auth",)),
     "invalid usage for client certificate: ['server auth']"),
])
def test_signer_validation(obj: Obj, problem: str | None) -> None:
    assert signer_problem(model(obj)) == problem


async def test_the_signer_signs_approved_requests_and_fails_invalid_ones(tmp_path: Any) -> None:
    pki.write_key_pair(tmp_path / "ca.crt", tmp_path / "ca.key", CA)
    client = FakeClient()
    controller = CSRSigningController(client, typed_factory(client),  # type: ignore[arg-type]
                                      EventRecorder(client, "test"),  # type: ignore[arg-type]
                                      cluster_signing_cert_file=str(tmp_path / "ca.crt"),
                                      cluster_signing_key_file=str(tmp_path / "ca.key"))
    approved = [{"type": "Approved", "status": "True"}]
    good = csr(conditions=approved)
    bad = {**csr(cn="admin", conditions=approved), "metadata": {"name": "csr-2", "resourceVersion": "4"}}
    pending = {**csr(), "metadata": {"name": "csr-3", "resourceVersion": "5"}}
    cache_add(controller.csr_informer, good, bad, pending)
    for key in ("csr-1", "csr-2", "csr-3"):
        await controller.sync_csr(key)
    signed, failed = client.writes("certificatesigningrequests")
    assert signed.subresource == failed.subresource == "status"
    certificate = x509.load_pem_x509_certificate(base64.b64decode(signed.body["status"]["certificate"]))
    assert certificate.issuer == CA[0].subject
    assert failed.body["status"]["conditions"][-1]["type"] == "Failed"
    assert failed.body["status"]["conditions"][-1]["reason"] == "SignerValidationFailure"
