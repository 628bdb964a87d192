"""TokenManager: the tokens of projected serviceAccountToken volumes.

The kubelet asks the API server for a token (TokenRequest on the pod's
ServiceAccount, bound to the pod) and caches it per (namespace, account,
audience, lifetime, pod uid). A cached token is reused until it needs a refresh:
past 80 % of its lifetime, or 24 hours old, whichever comes first, as upstream
(which adds a few seconds of jitter; we do not, so tests are exact). If the
refresh fails while the old token is still valid, the old one is served and the
next sync tries again. A pod's tokens are forgotten when its volumes are removed.

Kubernetes counterpart: pkg/kubelet/token/token_manager.go
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from tinykube.api.resources import SERVICE_ACCOUNTS, ResourceInfo

log = logging.getLogger(__name__)

MAX_TTL_SECONDS = 24 * 3600
REFRESH_FRACTION = 0.2  # refresh when less than this fraction of the lifetime is left
DEFAULT_EXPIRATION_SECONDS = 3600


class TokenRequester(Protocol):
    async def create_subresource(self, info: ResourceInfo, name: str, subresource: str,
                                 body: Any, namespace: str | None = None) -> dict[str, Any]: ...


@dataclass(frozen=True)
class CachedToken:
    token: str
    expiration_timestamp: float  # seconds since the epoch
    expiration_seconds: int
    pod_uid: str

    @property
    def issued_at(self) -> float:
        return self.expiration_timestamp - self.expiration_seconds


def requires_refresh(cached: CachedToken, now: float) -> bool:
    if now >= cached.issued_at + MAX_TTL_SECONDS:
        return True
    return now >= cached.expiration_timestamp - cached.expiration_seconds * REFRESH_FRACTION


class TokenManager:
    """Guarantees: at most one TokenRequest per key per refresh; an expired token is
    never served."""

    def __init__(self, client: TokenRequester, clock: Callable[[], float] = time.time) -> None:
        self.client, self.clock = client, clock
        self._cache: dict[tuple[str, ...], CachedToken] = {}

    async def get_service_account_token(self, namespace: str, account: str, *, audience: str,
                                        expiration_seconds: int | None, pod_name: str,
                                        pod_uid: str) -> str:
        seconds = expiration_seconds or DEFAULT_EXPIRATION_SECONDS
        key = (namespace, account, audience, str(seconds), pod_uid)
        cached = self._cache.get(key)
        now = self.clock()
        if cached is not None and not requires_refresh(cached, now):
            return cached.token
        request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {
            "audiences": [audience] if audience else [], "expirationSeconds": seconds,
            "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": pod_name, "uid": pod_uid}}}
        try:
            answer = await self.client.create_subresource(SERVICE_ACCOUNTS, account, "token",
                                                          request, namespace)
        except Exception as err:
            if cached is not None and now < cached.expiration_timestamp:
                log.warning("token refresh failed, serving the cached token pod=%s/%s err=%s",
                            namespace, pod_name, err)
                return cached.token
            raise
        status, spec = answer.get("status") or {}, answer.get("spec") or {}
        expires = datetime.fromisoformat(status["expirationTimestamp"].replace("Z", "+00:00"))
        fresh = CachedToken(status["token"], expires.timestamp(),
                            int(spec.get("expirationSeconds") or seconds), pod_uid)
        self._cache[key] = fresh
        log.info("service account token issued pod=%s/%s account=%s expires=%s", namespace,
                 pod_name, account, status["expirationTimestamp"])
        return fresh.token

    def delete_service_account_token(self, pod_uid: str) -> None:
        for key in [k for k, cached in self._cache.items() if cached.pod_uid == pod_uid]:
            del self._cache[key]
