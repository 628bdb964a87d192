"""The ServiceAccount token authenticator: a signed JWT becomes the account's user.

A bearer token that looks like a JWT is verified (signature, issuer, audience,
lifetime) by the `TokenIssuer`; then, as upstream's validator, the objects the
token names must still be there, read from the API server's watch caches (never
from etcd per request):

- the ServiceAccount, with the uid in the token (a deleted and re-created account
  does not inherit the old one's tokens);
- the Pod or Secret the token is bound to, with its uid: deleting the pod ends its
  tokens.

The user is `system:serviceaccount:NS:NAME` (uid: the account's), in the groups
`system:serviceaccounts`, `system:serviceaccounts:NS` and `system:authenticated`;
a pod-bound token adds the extras `authentication.kubernetes.io/pod-name` and
`pod-uid`. Tokens that are not ours answer None, so the next authenticator of the
union may know them.

Kubernetes counterpart: pkg/serviceaccount/jwt.go (jwtTokenAuthenticator.AuthenticateToken),
pkg/serviceaccount/claims.go (validator.Validate), pkg/serviceaccount/util.go (UserInfo)
"""

from __future__ import annotations

import logging
from typing import Any

from apiserver.auth import Credentials, UserInfo
from apiserver.serviceaccount.claims import ObjectRef, PrivateClaims
from apiserver.serviceaccount.issuer import TokenIssuer
from apiserver.serviceaccount.jwt import InvalidToken, looks_like_jwt
from tinykube.api.resources import PODS, SECRETS, SERVICE_ACCOUNTS, ResourceInfo

log = logging.getLogger(__name__)

POD_NAME_EXTRA = "authentication.kubernetes.io/pod-name"
POD_UID_EXTRA = "authentication.kubernetes.io/pod-uid"


def service_account_user(namespace: str, name: str, uid: str,
                         extra: dict[str, tuple[str, ...]] | None = None) -> UserInfo:
    return UserInfo(f"system:serviceaccount:{namespace}:{name}", uid,
                    ("system:serviceaccounts", f"system:serviceaccounts:{namespace}",
                     "system:authenticated"), extra or {})


class ServiceAccountAuthenticator:
    """Authenticator for tokens this API server's TokenIssuer signed."""

    def __init__(self, issuer: TokenIssuer, server: Any) -> None:
        self.issuer = issuer
        self.server = server  # its registries' watch caches answer "does it still exist"

    def authenticate(self, credentials: Credentials) -> UserInfo | None:
        token = credentials.bearer_token
        if token is None or not looks_like_jwt(token):
            return None
        try:
            private = self.issuer.verify(token)
        except InvalidToken as err:
            log.debug("service account token refused reason=%s", err)
            return None
        stale = self._stale(private)
        if stale:
            log.info("service account token refused reason=%s", stale)
            return None
        extra: dict[str, tuple[str, ...]] = {}
        if private.pod is not None:
            extra = {POD_NAME_EXTRA: (private.pod.name,), POD_UID_EXTRA: (private.pod.uid,)}
        return service_account_user(private.namespace, private.service_account.name,
                                    private.service_account.uid, extra)

    def _stale(self, private: PrivateClaims) -> str:
        """Why the objects the token names no longer match ("" when they all do)."""
        checks: list[tuple[ResourceInfo, ObjectRef | None]] = [
            (SERVICE_ACCOUNTS, private.service_account), (PODS, private.pod),
            (SECRETS, private.secret)]
        for info, ref in checks:
            if ref is None:
                continue
            registry = self.server.registries[info]
            obj = registry.cache.cached(registry.key(private.namespace, ref.name))
            if obj is None:
                return f"{info.singular} {private.namespace}/{ref.name} not found"
            if obj["metadata"].get("uid") != ref.uid:
                return f"{info.singular} {private.namespace}/{ref.name} has another uid"
        return ""
