"""The kubelet API's authentication and authorization: order, path mapping, webhook reviews."""

from __future__ import annotations

from typing import Any

import pytest

from kubelet.server.auth import (API_SERVER_USER, KubeletAuth, NodeAttributes, StaticTokenAuthenticator,
                                 WebhookAuthorizer, WebhookTokenAuthenticator, request_attributes)
from tinykube.authn import ANONYMOUS, Credentials, UserInfo


@pytest.mark.parametrize(("method", "path", "verb", "subresource"), [
    ("GET", "/stats/summary", "get", "stats"),
    ("GET", "/metrics/cadvisor", "get", "metrics"),
    ("GET", "/logs/syslog", "get", "log"),
    ("GET", "/containerLogs/default/web/main", "get", "proxy"),
    ("POST", "/exec/default/web/main", "create", "proxy"),
    ("GET", "/portForward/default/web", "get", "proxy"),
    ("GET", "/statsx", "get", "proxy"),
])
def test_paths_map_to_node_subresources(method: str, path: str, verb: str, subresource: str) -> None:
    assert request_attributes(method, path, "n1") == NodeAttributes(verb, subresource, "n1")


class ReviewingClient:
    """Answers TokenReviews and SubjectAccessReviews, recording them."""

    def __init__(self, tokens: dict[str, Any], allowed: set[str]) -> None:
        self.tokens, self.allowed, self.reviews = tokens, allowed, list[Any]()

    async def request(self, method: str, path: str, *, body: Any = None, **_: Any) -> Any:
        self.reviews.append((path, body))
        if path.endswith("/tokenreviews"):
            user = self.tokens.get(body["spec"]["token"])
            return {"status": {"authenticated": True, "user": user} if user else {"authenticated": False}}
        attributes = body["spec"]["resourceAttributes"]
        return {"status": {"allowed": f"{body['spec']['user']}:{attributes['subresource']}" in self.allowed}}


async def test_token_review_answers_are_cached() -> None:
    client = ReviewingClient({"good": {"username": "alice", "groups": ["devs"]}}, set())
    webhook = WebhookTokenAuthenticator(client, ttl_seconds=60, clock=lambda: 0.0)  # type: ignore[arg-type]
    auth = KubeletAuth(webhook=webhook)
    assert await auth.authenticate(Credentials("Bearer good")) == UserInfo("alice", "", ("devs",))
    assert await auth.authenticate(Credentials("Bearer good")) == UserInfo("alice", "", ("devs",))
    assert await auth.authenticate(Credentials("Bearer bad")) is None
    assert len(client.reviews) == 2


async def test_subject_access_reviews_ask_about_the_nodes_subresource() -> None:
    client = ReviewingClient({}, {"alice:stats"})
    authorizer = WebhookAuthorizer(client, clock=lambda: 0.0)  # type: ignore[arg-type]
    alice = UserInfo("alice", "", ("devs",))
    assert await authorizer.authorize(alice, NodeAttributes("get", "stats", "n1"))
    assert not await authorizer.authorize(alice, NodeAttributes("create", "proxy", "n1"))
    _, review = client.reviews[-1]
    assert review["spec"]["resourceAttributes"] == {"verb": "create", "group": "", "version": "v1",
                                                    "resource": "nodes", "subresource": "proxy", "name": "n1"}


async def test_unknown_callers_are_anonymous_only_when_allowed() -> None:
    static = StaticTokenAuthenticator("s3cret")
    assert await KubeletAuth(static_token=static).authenticate(Credentials("Bearer s3cret")) == API_SERVER_USER
    assert await KubeletAuth(static_token=static).authenticate(Credentials("Bearer nope")) is None
    assert await KubeletAuth(anonymous=True).authenticate(Credentials()) == ANONYMOUS
