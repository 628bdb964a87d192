"""Max in flight: a bound on the requests the API server works on at once.

`MaxInFlightLimit` counts the requests being served, read-only (GET) and mutating
(every other method) apart, and answers a request that would go over its bound
at once with 429 TooManyRequests and `Retry-After: 1`, before any work is done
for it, so a client may safely send it again (client-go and `tinykube.client`
do). It sits in the request chain after authentication:

- long-running requests are not counted: watches (`?watch=true`, `/watch/`
  paths), `pods/{name}/log`, and `nodes/{name}/proxy` (exec, attach and
  port-forward are WebSocket upgrades and never reach an HTTP filter);
- the health endpoints (`/healthz`, `/livez`, `/readyz`) are not counted either,
  so a load balancer's probe is answered while the server sheds load (Kubernetes'
  priority-and-fairness gives them the exempt priority level);
- Lease requests (`coordination.k8s.io` leases: node heartbeats and leader
  election) are not counted: under Kubernetes' priority-and-fairness they have
  their own priority levels (node-high, leader-election), so a flood of pod writes
  never starves them. Without this, at density scale every kubelet's lease renewal
  got 429s, the node lifecycle controller marked the nodes unreachable, and the
  scheduler lost its leadership;
- members of `system:masters` are served even over the bound, as upstream;
- a limit of 0 means no limit for that kind.

One instance is shared by every listener of the process (HTTPS and plain HTTP),
so the bound is per API server process.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/server/filters/maxinflight.go,
staging/src/k8s.io/apiserver/pkg/server/filters/longrunning.go
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from apiserver.auth import INSECURE_SUPERUSER, UserInfo
from apiserver.metrics import path_after_version, request_resource

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 1
TOO_MANY_REQUESTS_MESSAGE = "Too many requests, please try again later."
SYSTEM_PRIVILEGED_GROUP = "system:masters"
HEALTH_PATHS = ("/healthz", "/livez", "/readyz")
# Subresources whose requests stay open as long as the client wants (upstream's
# BasicLongRunningRequestCheck: attach, exec, proxy, log, portforward).
LONG_RUNNING_SUBRESOURCES = frozenset({"attach", "exec", "proxy", "log", "portforward"})
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LEASES_PREFIX = "/apis/coordination.k8s.io/"


def is_long_running(path: str, query_string: bytes) -> bool:
    """Watches and streaming subresources, which are never counted."""
    if parse_qs(query_string.decode("latin-1")).get("watch", [""])[0] in ("true", "1"):
        return True
    rest = path_after_version(path)
    if rest is None:
        return False
    if rest[:1] == ["watch"]:
        return True
    if len(rest) >= 4 and rest[0] == "namespaces":
        rest = rest[2:]  # namespaces/{ns}/{resource}/{name}/{subresource}
    return len(rest) >= 3 and rest[2] in LONG_RUNNING_SUBRESOURCES


def is_lease_request(path: str) -> bool:
    """A request for Leases, which priority-and-fairness serves at its own levels."""
    return path.startswith(LEASES_PREFIX) and request_resource(path) == "leases"


def too_many_requests_body() -> bytes:
    """The Status a refused request gets (Kubernetes' own filter writes the message
    as plain text; tinykube answers every error with a Status)."""
    return json.dumps({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": TOO_MANY_REQUESTS_MESSAGE, "reason": "TooManyRequests",
        "details": {"retryAfterSeconds": RETRY_AFTER_SECONDS}, "code": 429,
    }).encode()


@dataclass
class MaxInFlightLimit:
    """The shared counters.

    - `max_requests_inflight` bounds read-only requests, `max_mutating_requests_inflight`
      the others; 0 is no bound;
    - `in_flight` holds the current counts, `dropped` the refusals, by kind
      ("readOnly" / "mutating", upstream's metric labels).
    """

    max_requests_inflight: int = 400
    max_mutating_requests_inflight: int = 200
    in_flight: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)

    def bound(self, kind: str) -> int:
        return self.max_mutating_requests_inflight if kind == "mutating" \
            else self.max_requests_inflight


class MaxInFlightFilter:
    """ASGI filter applying a `MaxInFlightLimit`; runs after authentication, which
    leaves the caller in `scope["state"]["user"]`."""

    def __init__(self, app: ASGIApp, limit: MaxInFlightLimit) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(HEALTH_PATHS) \
                or is_lease_request(scope["path"]) or is_long_running(scope["path"], scope.get("query_string", b"")):
            await self.app(scope, receive, send)
            return
        kind = "readOnly" if scope["method"] in READ_ONLY_METHODS else "mutating"
        bound = self.limit.bound(kind)
        if bound and self.limit.in_flight[kind] >= bound and not _privileged(scope):
            self.limit.dropped[kind] += 1
            log.debug("too many requests kind=%s in_flight=%d", kind, self.limit.in_flight[kind])
            await _refuse(send)
            return
        self.limit.in_flight[kind] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.limit.in_flight[kind] -= 1


def _privileged(scope: Scope) -> bool:
    """system:masters is never limited, as upstream; the plain HTTP port's superuser is,
    since that port stands in for ordinary clients in tests and benchmarks."""
    user = (scope.get("state") or {}).get("user")
    return isinstance(user, UserInfo) and SYSTEM_PRIVILEGED_GROUP in user.groups \
        and user != INSECURE_SUPERUSER


async def _refuse(send: Send) -> None:
    body = too_many_requests_body()
    await send({"type": "http.response.start", "status": 429, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(RETRY_AFTER_SECONDS).encode())]})
    await send({"type": "http.response.body", "body": body})
