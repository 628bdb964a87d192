"""CertificateSigningRequest: validation as upstream, and what each write path may change."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from apiserver.auth import UserInfo
from apiserver.strategies.certificates import CertificateSigningRequestStrategy
from tinykube import pki
from tinykube.api.resources import CERTIFICATE_SIGNING_REQUESTS

KEY = pki.new_private_key()
REQUEST = base64.b64encode(pki.certificate_request_pem(KEY, "system:node:n1", ["system:nodes"])).decode()
CA = pki.new_ca()
CERTIFICATE = base64.b64encode(pki.certificate_pem(pki.new_client_certificate("x", [], CA)[0])).decode()


def csr(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"name": "node-csr-1", "uid": "u1", "creationTimestamp": "2026-01-01T00:00:00Z",
                         "resourceVersion": "5"},
            "spec": {"request": REQUEST, "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
                     "usages": ["digital signature", "client auth"], **spec}}


@pytest.fixture
def strategy() -> CertificateSigningRequestStrategy:
    return CertificateSigningRequestStrategy(CERTIFICATE_SIGNING_REQUESTS)


def messages(errors: list[Any]) -> list[str]:
    return [f"{e.field}: {e.message}" for e in errors]


def test_a_well_formed_request_is_valid(strategy: CertificateSigningRequestStrategy) -> None:
    assert strategy.validate(csr()) == []


@pytest.mark.parametrize(("spec", "expected"), [
    ({"request": base64.b64encode(b"not pem").decode()},
     "spec.request: Invalid value: \"" + base64.b64encode(b"not pem").decode()
     + "\": PEM block type must be CERTIFICATE REQUEST"),
    ({"usages": []}, "spec.usages: Required value"),
    ({"usages": ["client auth", "client auth"]}, "spec.usages[1]: Duplicate value: \"client auth\""),
    ({"signerName": "kubernetes.io/legacy-unknown"},
     "spec.signerName: Invalid value: \"kubernetes.io/legacy-unknown\": the legacy signerName is not "
     "allowed via this API version"),
    ({"signerName": "no-slash"}, "spec.signerName: Invalid value: \"no-slash\": must be a fully qualified "
     "domain and path of the form 'example.com/signer-name'"),
    ({"expirationSeconds": 599}, "spec.expirationSeconds: Invalid value: 599: may not specify a duration less "
     "than 600 seconds (10 minutes)"),
])
def test_invalid_requests_are_refused_with_upstreams_messages(strategy: CertificateSigningRequestStrategy,
                                                               spec: dict[str, Any], expected: str) -> None:
    assert expected in messages(strategy.validate(csr(**spec)))


def test_an_unknown_usage_lists_the_supported_ones(strategy: CertificateSigningRequestStrategy) -> None:
    [message] = messages(strategy.validate(csr(usages=["flying"])))
    assert message.startswith('spec.usages[0]: Unsupported value: "flying": supported values: "any", "cert sign"')


def test_the_server_records_the_requestor(strategy: CertificateSigningRequestStrategy) -> None:
    obj = csr(username="forged", groups=["system:masters"])
    strategy.prepare_for_create(obj)
    strategy.prepare_for_create_by(obj, UserInfo("system:bootstrap:abcdef", "", ("system:bootstrappers",)))
    assert (obj["spec"]["username"], obj["spec"]["groups"]) == ("system:bootstrap:abcdef", ["system:bootstrappers"])


def approved(obj: dict[str, Any]) -> dict[str, Any]:
    new = copy.deepcopy(obj)
    new["status"] = {"conditions": [{"type": "Approved", "status": "True", "reason": "Test"}]}
    return new


def write(strategy: CertificateSigningRequestStrategy, subresource: str, new: dict[str, Any],
          old: dict[str, Any]) -> list[str]:
    strategy.prepare_for_subresource_update(subresource, new, old)
    return messages(strategy.validate_subresource_update(subresource, new, old))


def test_only_the_approval_subresource_adds_an_approval(strategy: CertificateSigningRequestStrategy) -> None:
    old = csr()
    assert write(strategy, "status", approved(old), old) == [
        'status.conditions: Forbidden: updates may not add a condition of type "Approved"']
    new = approved(old)
    assert write(strategy, "approval", new, old) == []
    condition = new["status"]["conditions"][0]
    assert condition["lastUpdateTime"] and condition["lastTransitionTime"]


def test_approved_and_denied_are_mutually_exclusive(strategy: CertificateSigningRequestStrategy) -> None:
    old = csr()
    new = approved(old)
    new["status"]["conditions"].append({"type": "Denied", "status": "True"})
    assert 'status.conditions[1].type: Invalid value: "Denied": Approved and Denied conditions are mutually ' \
           'exclusive' in write(strategy, "approval", new, old)


def test_the_certificate_is_set_once_and_only_through_status(strategy: CertificateSigningRequestStrategy) -> None:
    old = approved(csr())
    through_approval = copy.deepcopy(old)
    through_approval["status"]["certificate"] = CERTIFICATE
    write(strategy, "approval", through_approval, old)
    assert "certificate" not in through_approval["status"]  # approval keeps the stored status otherwise
    issued = copy.deepcopy(old)
    issued["status"]["certificate"] = CERTIFICATE
    assert write(strategy, "status", issued, old) == []
    again = copy.deepcopy(issued)
    again["status"]["certificate"] = base64.b64encode(
        pki.certificate_pem(pki.new_client_certificate("y", [], CA)[0])).decode()
    assert write(strategy, "status", again, issued) == [
        "status.certificate: Forbidden: updates may not modify existing certificate content"]


def test_a_status_certificate_must_be_certificate_pem(strategy: CertificateSigningRequestStrategy) -> None:
    old = approved(csr())
    new = copy.deepcopy(old)
    new["status"]["certificate"] = REQUEST
    assert write(strategy, "status", new, old) == [
        'status.certificate: Invalid value: "<certificate data>": only CERTIFICATE PEM blocks are allowed, '
        'found "CERTIFICATE REQUEST"']


def test_no_path_removes_an_approval(strategy: CertificateSigningRequestStrategy) -> None:
    old = approved(csr())
    new = copy.deepcopy(old)
    new["status"]["conditions"] = []
    assert write(strategy, "approval", new, old) == [
        'status.conditions: Forbidden: updates may not remove a condition of type "Approved"']


def test_spec_is_immutable_through_the_main_resource(strategy: CertificateSigningRequestStrategy) -> None:
    old = csr()
    new = csr(usages=["digital signature", "client auth", "server auth"])
    assert write(strategy, "", new, old) == []
    assert new["spec"] == old["spec"]
