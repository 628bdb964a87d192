"""Bootstrap tokens: kubeadm's token format and Secret, expiry, extra groups."""

from __future__ import annotations

import base64
import datetime
from typing import Any

import pytest

from apiserver.auth import Credentials
from apiserver.auth_bootstrap_token import BootstrapTokenAuthenticator, parse_token, token_user

NOW = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.timezone.utc)


def secret(**data: str) -> dict[str, Any]:
    fields = {"token-id": "abcdef", "token-secret": "0123456789abcdef", "usage-bootstrap-authentication": "true",
              "expiration": "2026-06-01T13:00:00Z", **data}
    return {"metadata": {"name": "bootstrap-token-abcdef", "namespace": "kube-system"},
            "type": "bootstrap.kubernetes.io/token",
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in fields.items() if v is not None}}


@pytest.mark.parametrize(("token", "parsed"), [
    ("abcdef.0123456789abcdef", ("abcdef", "0123456789abcdef")),
    ("ABCDEF.0123456789abcdef", None),
    ("abcdef.0123456789abcde", None),
    ("abcdef0123456789abcdef", None),
])
def test_token_shape(token: str, parsed: tuple[str, str] | None) -> None:
    assert parse_token(token) == parsed


def test_a_valid_token_is_a_bootstrapper_with_its_extra_groups() -> None:
    user = token_user(secret(**{"auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token"}),
                      "abcdef", "0123456789abcdef", NOW)
    assert user is not None
    assert user.name == "system:bootstrap:abcdef"
    assert user.groups == ("system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token",
                           "system:authenticated")


@pytest.mark.parametrize("changes", [
    {"expiration": "2026-06-01T11:59:59Z"},
    {"expiration": "tomorrow"},
    {"usage-bootstrap-authentication": "false"},
    {"token-secret": "ffffffffffffffff"},
    {"auth-extra-groups": "system:masters"},
])
def test_a_token_that_does_not_match_its_secret_is_no_user(changes: dict[str, str]) -> None:
    assert token_user(secret(**changes), "abcdef", "0123456789abcdef", NOW) is None


def test_the_secret_must_have_the_bootstrap_type_and_not_be_deleted() -> None:
    wrong_type = {**secret(), "type": "Opaque"}
    deleting = {**secret(), "metadata": {"deletionTimestamp": "2026-06-01T11:00:00Z"}}
    assert token_user(wrong_type, "abcdef", "0123456789abcdef", NOW) is None
    assert token_user(deleting, "abcdef", "0123456789abcdef", NOW) is None


def test_the_authenticator_looks_up_the_secret_by_token_id() -> None:
    looked_up: list[tuple[str, str]] = []

    def lookup(namespace: str, name: str) -> dict[str, Any] | None:
        looked_up.append((namespace, name))
        return secret()

    auth = BootstrapTokenAuthenticator(lookup, clock=lambda: NOW)
    user = auth.authenticate(Credentials("Bearer abcdef.0123456789abcdef"))
    assert user is not None and user.name == "system:bootstrap:abcdef"
    assert auth.authenticate(Credentials("Bearer some-other-token")) is None
    assert looked_up == [("kube-system", "bootstrap-token-abcdef")]
    late = BootstrapTokenAuthenticator(lookup, clock=lambda: NOW + datetime.timedelta(hours=2))
    assert late.authenticate(Credentials("Bearer abcdef.0123456789abcdef")) is None
