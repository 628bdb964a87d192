"""The audit step of the request chain: one event per stage of every audited request.

It runs after authentication (the user is known) and outside max-in-flight and
authorization, as kube-apiserver's WithAudit, so a 429 or a 403 is audited too:

- the policy's level for the request's attributes decides; `None` costs one
  policy lookup and nothing else, and with no `--audit-policy-file` the step is
  not in the chain at all;
- RequestReceived when the request comes in; ResponseStarted when a long-running
  request (watch, exec, attach, port-forward, proxy, log) sends its headers;
  ResponseComplete when the answer is done; Panic when the handler crashed;
- the answer's status is its code, or its whole v1 Status for an error (an
  APIError raised further in, such as authorization's 403, is answered here);
- the request body is read on its way to the handler (a create's body names the
  object; from `Request` on it is logged); from `RequestResponse` on the response
  body of a short request is logged too;
- the response carries `Audit-Id`; an `Audit-ID` request header is kept as the ID;
- the authorization step adds `authorization.k8s.io/decision` and `.../reason`
  through `annotate(scope, ...)`.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/endpoints/filters/audit.go,
staging/src/k8s.io/apiserver/pkg/endpoints/filters/authorization.go (the annotations)
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import yaml
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apiserver.audit.event import AuditRecord, Backend, Clock, utc_now
from apiserver.audit.policy import Level, Policy
from apiserver.auth import ANONYMOUS, UserInfo
from apiserver.authorization.attributes import request_attributes
from apiserver.errors import APIError

SCOPE_KEY = "tinykube.audit"
LONG_RUNNING_VERBS = frozenset({"watch", "proxy"})
LONG_RUNNING_SUBRESOURCES = frozenset({"attach", "exec", "proxy", "log", "portforward"})
MAX_LOGGED_BODY_BYTES = 3 * 1024 * 1024  # the API's request limit; larger bodies are not logged


@dataclass(frozen=True)
class AuditConfig:
    policy: Policy
    backend: Backend


def annotate(scope: Scope, **annotations: str) -> None:
    """Add annotations to the request's audit event, if it is audited."""
    record = scope.get(SCOPE_KEY)
    if record is not None:
        record.annotate(**annotations)


def _decode_body(body: bytes, content_type: str) -> Any:
    if not body or len(body) > MAX_LOGGED_BODY_BYTES:
        return None
    try:
        if "yaml" in content_type:
            return yaml.safe_load(body)
        return json.loads(body) if "json" in content_type or body[:1] in (b"{", b"[") else None
    except (ValueError, yaml.YAMLError):
        return None


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}


def _source_ips(headers: dict[str, str], scope: Scope) -> list[str]:
    """X-Forwarded-For, then X-Real-Ip, then the peer (upstream's SourceIPs)."""
    ips = [ip.strip() for ip in headers.get("x-forwarded-for", "").split(",") if ip.strip()]
    for ip in (headers.get("x-real-ip", "").strip(), (scope.get("client") or ("",))[0]):
        if ip and ip not in ips:
            ips.append(ip)
    return ips


class AuditFilter:
    def __init__(self, app: ASGIApp, config: AuditConfig, clock: Clock = utc_now) -> None:
        self.app, self.policy, self.backend, self.clock = app, config.policy, config.backend, clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        user: UserInfo = scope.get("state", {}).get("user") or ANONYMOUS
        query = scope.get("query_string", b"").decode("latin-1")
        attributes = request_attributes(user, scope["method"], scope["path"], query)
        decision = self.policy.decide(attributes)
        if decision.level is Level.NONE:
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        uri = scope.get("raw_path", scope["path"].encode()).decode("latin-1") + (f"?{query}" if query else "")
        record = AuditRecord(headers.get("audit-id") or str(uuid.uuid4()), decision, attributes, uri,
                             _source_ips(headers, scope), headers.get("user-agent", ""), self.backend,
                             self.clock)
        scope[SCOPE_KEY] = record
        long_running = attributes.verb in LONG_RUNNING_VERBS or \
            attributes.subresource in LONG_RUNNING_SUBRESOURCES
        record.emit("RequestReceived")
        await self._serve(scope, receive, send, record, headers.get("content-type", ""), long_running,
                          with_body=attributes.verb in ("create", "update", "patch"))

    async def _serve(self, scope: Scope, receive: Receive, send: Send, record: AuditRecord,
                     content_type: str, long_running: bool, with_body: bool) -> None:
        request_body: list[bytes] = []
        response_body: list[bytes] = []
        response: dict[str, Any] = {}

        async def receive_recorded() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                request_body.append(message.get("body", b""))
                if not message.get("more_body"):
                    record.set_request_object(_decode_body(b"".join(request_body), content_type))
            return message

        async def send_recorded(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["code"] = message["status"]
                response["type"] = _headers(message).get("content-type", "")
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"audit-id", record.audit_id.encode())]}
                if long_running:
                    record.set_status(message["status"])
                    record.emit("ResponseStarted")
            elif message["type"] == "http.response.body" and not long_running and \
                    (record.decision.level >= Level.REQUEST_RESPONSE or response["code"] >= 400):
                response_body.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive_recorded if with_body else receive, send_recorded)
        except APIError as err:
            if "code" in response:  # mid-stream: the chain's outer step ends it
                record.set_status(err.code, err.status())
                record.emit("ResponseComplete")
                raise
            # Answered here, as the chain would, so the Status carries the Audit-Id too.
            await Response(err.body(), err.code, media_type="application/json")(
                scope, receive, send_recorded)
        except Exception as err:
            record.set_status(500, {"kind": "Status", "status": "Failure", "reason": "InternalError",
                                    "message": f"APIServer panic'd: {err}"})
            record.emit("Panic")
            raise
        code = response.get("code", 200)
        body = _decode_body(b"".join(response_body), response.get("type", ""))
        record.set_status(code, body if code >= 400 and isinstance(body, dict) else None)
        if code < 400 and body is not None:
            record.set_response_object(body)
        record.emit("ResponseComplete")
