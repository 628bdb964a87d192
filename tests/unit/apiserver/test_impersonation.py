"""Impersonation headers: what is checked, and who the request runs as."""

from __future__ import annotations

import pytest

from apiserver.auth import UserInfo
from apiserver.authorization.attributes import Attributes
from apiserver.authorization.authorizer import Decision, Verdict
from apiserver.authorization.impersonation import impersonated_user
from apiserver.errors import APIError

BOB = UserInfo("bob", "", ("system:authenticated",))


class Recorder:
    """Allows everything except `refused` (resource, name) pairs; records the asks."""

    def __init__(self, refused: tuple[str, str] | None = None) -> None:
        self.asked: list[tuple[str, str, str, str]] = []
        self.refused = refused

    def authorize(self, attributes: Attributes) -> Verdict:
        self.asked.append((attributes.verb, attributes.resource, attributes.namespace,
                           attributes.name))
        if (attributes.resource, attributes.name) == self.refused:
            return Verdict(Decision.NO_OPINION)
        return Verdict(Decision.ALLOW)


def headers(**values: str | list[str]) -> list[tuple[bytes, bytes]]:
    pairs = []
    for key, value in values.items():
        for one in [value] if isinstance(value, str) else value:
            pairs.append((key.replace("_", "-").encode(), one.encode()))
    return pairs


def test_no_headers_no_impersonation() -> None:
    assert impersonated_user(BOB, headers(accept="*/*"), Recorder()) is None


def test_a_user_with_groups_is_checked_piece_by_piece() -> None:
    recorder = Recorder()
    user = impersonated_user(BOB, headers(Impersonate_User="jane",
                                          Impersonate_Group=["devs", "ops"]), recorder)
    assert user == UserInfo("jane", "", ("devs", "ops", "system:authenticated"))
    assert recorder.asked == [("impersonate", "users", "", "jane"),
                              ("impersonate", "groups", "", "devs"),
                              ("impersonate", "groups", "", "ops")]


def test_a_service_account_gets_its_groups() -> None:
    recorder = Recorder()
    user = impersonated_user(BOB, headers(Impersonate_User="system:serviceaccount:ci:robot"),
                             recorder)
    assert user is not None and user.groups == (
        "system:serviceaccounts", "system:serviceaccounts:ci", "system:authenticated")
    assert recorder.asked == [("impersonate", "serviceaccounts", "ci", "robot")]


def test_a_refused_piece_is_403_with_kubernetes_message() -> None:
    with pytest.raises(APIError) as refused:
        impersonated_user(BOB, headers(Impersonate_User="jane", Impersonate_Group="admins"),
                          Recorder(refused=("groups", "admins")))
    assert (refused.value.code, refused.value.message) == (
        403, 'groups "admins" is forbidden: User "bob" cannot impersonate resource "groups" in '
             'API group "" at the cluster scope')


@pytest.mark.parametrize(("values", "code"), [
    ({"Impersonate_Group": "devs"}, 500),  # groups without a user, as upstream
    ({"Impersonate_User": "jane", "Impersonate_Extra_scopes": "view"}, 400),
])
def test_bad_combinations(values: dict[str, str], code: int) -> None:
    with pytest.raises(APIError) as refused:
        impersonated_user(BOB, headers(**values), Recorder())
    assert refused.value.code == code
