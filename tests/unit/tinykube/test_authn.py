"""Client-certificate users: CN is the name, O the groups; only client-auth certificates."""

from __future__ import annotations

import datetime

from tinykube import pki
from tinykube.authn import Credentials, UserInfo, X509Authenticator, certificate_user

CA = pki.new_ca()


def der(certificate: object) -> bytes:
    from cryptography.hazmat.primitives import serialization
    return certificate.public_bytes(serialization.Encoding.DER)  # type: ignore[attr-defined]


def test_the_user_is_the_common_name_and_the_groups_the_organizations() -> None:
    certificate, _ = pki.new_client_certificate("system:node:n1", ["system:nodes"], CA)
    user = X509Authenticator().authenticate(Credentials(None, der(certificate)))
    assert user == UserInfo("system:node:n1", "", ("system:nodes", "system:authenticated"))


def test_no_certificate_is_no_answer() -> None:
    assert X509Authenticator().authenticate(Credentials("Bearer x")) is None


def test_a_serving_only_certificate_does_not_authenticate_a_client() -> None:
    certificate, _ = pki.new_serving_certificate("kube-apiserver", ["localhost"], ca=CA)
    assert X509Authenticator().authenticate(Credentials(None, der(certificate))) is None


def test_an_expired_certificate_does_not_authenticate() -> None:
    certificate, _ = pki.new_client_certificate("alice", [], CA, days=1)
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)
    assert certificate_user(certificate, later) is None
    assert certificate_user(certificate) == UserInfo("alice", "", ("system:authenticated",))
