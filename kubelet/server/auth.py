"""Who may call the kubelet API: authentication, then authorization, for every request but /healthz.

Authentication (the first that recognises the caller wins):

- **client certificate** (`--client-ca-file`): the TLS handshake verified it against
  that CA; the user is its CN, the groups its O (the API server presents kubeadm's
  `CN=kube-apiserver-kubelet-client, O=system:masters`);
- **webhook** (`--authentication-token-webhook`): a bearer token is sent to the API
  server as a TokenReview, answers cached for `--authentication-token-webhook-cache-ttl`;
- **static token** (`--kubelet-api-token-file`, tinykube's hollow-node test path only):
  the one token the test API server presents, as user `kube-apiserver-kubelet-client`;
- **anonymous** (`--anonymous-auth=true`): anyone else is `system:anonymous`.

Nobody recognised: 401. Authorization (`--authorization-mode`): `AlwaysAllow`, or
`Webhook`: a SubjectAccessReview asks the API server whether the user may use the
`nodes/<subresource>` of this node, with upstream's mapping of path to subresource
(`/stats/...` → stats, `/metrics...` → metrics, `/logs/...` → log, everything else
— containerLogs, exec, portForward — → proxy) and of method to verb; refused: 403
`Forbidden (user=..., verb=..., resource=nodes, subresource=...)`.

Kubernetes counterpart: pkg/kubelet/server/auth.go, pkg/kubelet/apis/config (KubeletAuthentication),
staging/src/k8s.io/apiserver/plugin/pkg/authenticator/token/webhook,
staging/src/k8s.io/apiserver/plugin/pkg/authorizer/webhook
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tinykube.authn import ANONYMOUS, Credentials, UserInfo
from tinykube.authn import X509Authenticator
from tinykube.client import APIStatusError, RESTClient, TransportError

log = logging.getLogger(__name__)

API_SERVER_USER = UserInfo("kube-apiserver-kubelet-client", "", ("system:masters", "system:authenticated"))
VERBS = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass(frozen=True)
class NodeAttributes:
    """What a kubelet API request asks, in RBAC's terms (always resource `nodes`)."""

    verb: str
    subresource: str
    node_name: str


def request_attributes(method: str, path: str, node_name: str) -> NodeAttributes:
    """upstream's nodeAuthorizerAttributesGetter: the path decides the subresource."""
    subresource = "proxy"
    for prefix, name in (("/stats", "stats"), ("/metrics", "metrics"), ("/logs/", "log"), ("/spec", "spec")):
        if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
            subresource = name
    return NodeAttributes(VERBS.get(method.upper(), method.lower()), subresource, node_name)


class StaticTokenAuthenticator:
    """One shared token (`--kubelet-api-token-file`): the hollow-node test clusters only."""

    def __init__(self, token: str) -> None:
        self.token = token

    def authenticate(self, credentials: Credentials) -> UserInfo | None:
        presented = credentials.bearer_token
        if presented and hmac.compare_digest(presented.encode(), self.token.encode()):
            return API_SERVER_USER
        return None


class _TTLCache:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock, self.entries = clock, dict[Any, tuple[float, Any]]()

    def get(self, key: Any) -> tuple[bool, Any]:
        entry = self.entries.get(key)
        if entry is None or entry[0] <= self.clock():
            self.entries.pop(key, None)
            return False, None
        return True, entry[1]

    def put(self, key: Any, value: Any, ttl_seconds: float) -> None:
        if len(self.entries) > 10_000:
            self.entries.clear()
        self.entries[key] = (self.clock() + ttl_seconds, value)


class WebhookTokenAuthenticator:
    """Bearer tokens checked by the API server (authentication.k8s.io/v1 TokenReview)."""

    def __init__(self, client: RESTClient, ttl_seconds: float = 120.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client, self.ttl_seconds, self.cache = client, ttl_seconds, _TTLCache(clock)

    async def authenticate(self, credentials: Credentials) -> UserInfo | None:
        token = credentials.bearer_token
        if not token:
            return None
        found, user = self.cache.get(token)
        if found:
            return user  # type: ignore[no-any-return]
        review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
        try:
            answer = await self.client.request("POST", "/apis/authentication.k8s.io/v1/tokenreviews", body=review)
        except (APIStatusError, TransportError) as err:
            log.info("token review failed err=%s", err)
            return None  # not cached: the next request asks again
        status = answer.get("status") or {}
        user = None
        if status.get("authenticated"):
            info = status.get("user") or {}
            user = UserInfo(str(info.get("username") or ""), str(info.get("uid") or ""),
                            tuple(info.get("groups") or ()))
        self.cache.put(token, user, self.ttl_seconds)
        return user


class WebhookAuthorizer:
    """Asks the API server (authorization.k8s.io/v1 SubjectAccessReview) about `nodes/<subresource>`."""

    def __init__(self, client: RESTClient, allowed_ttl_seconds: float = 300.0,
                 denied_ttl_seconds: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.client, self.cache = client, _TTLCache(clock)
        self.allowed_ttl_seconds, self.denied_ttl_seconds = allowed_ttl_seconds, denied_ttl_seconds

    async def authorize(self, user: UserInfo, attributes: NodeAttributes) -> bool:
        key = (user, attributes)
        found, allowed = self.cache.get(key)
        if found:
            return bool(allowed)
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": {
            "user": user.name, "uid": user.uid, "groups": list(user.groups),
            "resourceAttributes": {"verb": attributes.verb, "group": "", "version": "v1", "resource": "nodes",
                                   "subresource": attributes.subresource, "name": attributes.node_name}}}
        try:
            answer = await self.client.request(
                "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body=review)
        except (APIStatusError, TransportError) as err:
            log.info("subject access review failed err=%s", err)
            return False
        allowed = bool((answer.get("status") or {}).get("allowed"))
        self.cache.put(key, allowed, self.allowed_ttl_seconds if allowed else self.denied_ttl_seconds)
        return allowed


@dataclass
class KubeletAuth:
    """The kubelet API's authenticators (asked in this order) and authorizer (None: AlwaysAllow)."""

    x509: X509Authenticator | None = None
    static_token: StaticTokenAuthenticator | None = None
    webhook: WebhookTokenAuthenticator | None = None
    anonymous: bool = False
    authorizer: WebhookAuthorizer | None = None

    async def authenticate(self, credentials: Credentials) -> UserInfo | None:
        for authenticator in (self.x509, self.static_token):
            user = authenticator.authenticate(credentials) if authenticator is not None else None
            if user is not None:
                return user
        if self.webhook is not None:
            user = await self.webhook.authenticate(credentials)
            if user is not None:
                return user
        return ANONYMOUS if self.anonymous else None

    async def authorize(self, user: UserInfo, attributes: NodeAttributes) -> bool:
        return self.authorizer is None or await self.authorizer.authorize(user, attributes)
