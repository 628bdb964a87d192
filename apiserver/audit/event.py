"""One audit event as it is built through a request, and where events go.

`AuditRecord` holds the audit.k8s.io/v1 Event of one request: filled at
RequestReceived (who, what, from where), completed as the request goes on (the
authorizer's annotations, the object's name from a create's body, the response
status, the bodies by level) and written at each stage the policy keeps. The
fields and their order are upstream's; timestamps are MicroTime (microseconds, UTC).

`LogBackend` writes one JSON object per line to a file (mode 0600: bodies may hold
Secrets) or stdout (`--audit-log-path=-`), flushed per event.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/apis/audit/v1/types.go,
staging/src/k8s.io/apiserver/pkg/audit/request.go, staging/src/k8s.io/apiserver/plugin/pkg/audit/log/backend.go
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from typing import IO, Any, Protocol

from apiserver.audit.policy import Decision, Level
from apiserver.authorization.attributes import Attributes

Clock = Callable[[], datetime]
DECISION_ANNOTATION = "authorization.k8s.io/decision"
REASON_ANNOTATION = "authorization.k8s.io/reason"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def micro_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Backend(Protocol):
    def process_event(self, event: dict[str, Any]) -> None: ...


class LogBackend:
    def __init__(self, path: str) -> None:
        self._stream: IO[str]
        if path == "-":
            self._stream = sys.stdout
        else:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._stream = os.fdopen(descriptor, "a", encoding="utf-8")

    def process_event(self, event: dict[str, Any]) -> None:
        self._stream.write(json.dumps(event, separators=(",", ":")) + "\n")
        self._stream.flush()


def _without_managed_fields(obj: Any) -> Any:
    if not isinstance(obj, dict):
        return obj
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        obj = {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    if isinstance(obj.get("items"), list):
        obj = {**obj, "items": [_without_managed_fields(item) for item in obj["items"]]}
    return obj


class AuditRecord:
    """Guarantees: one event per kept stage, each a fresh dict (stages never share
    mutable state with the backend); bodies only at the levels that log them."""

    def __init__(self, audit_id: str, decision: Decision, attributes: Attributes, request_uri: str,
                 source_ips: list[str], user_agent: str, backend: Backend, clock: Clock = utc_now) -> None:
        self.decision, self.backend, self.clock = decision, backend, clock
        self.audit_id = audit_id
        user: dict[str, Any] = {"username": attributes.user.name}
        if attributes.user.uid:
            user["uid"] = attributes.user.uid
        if attributes.user.groups:
            user["groups"] = list(attributes.user.groups)
        self.event: dict[str, Any] = {
            "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": decision.level.wire,
            "auditID": audit_id, "stage": "", "requestURI": request_uri, "verb": attributes.verb,
            "user": user, "sourceIPs": source_ips}
        if user_agent:
            self.event["userAgent"] = user_agent
        if attributes.resource_request:
            ref = {"resource": attributes.resource, "namespace": attributes.namespace,
                   "name": attributes.name, "apiGroup": attributes.api_group,
                   "apiVersion": attributes.api_version, "subresource": attributes.subresource}
            self.event["objectRef"] = {k: v for k, v in ref.items() if v}
        self.received = micro_time(clock())
        self.response_status: dict[str, Any] | None = None
        self.request_object: Any = None
        self.response_object: Any = None
        self.annotations: dict[str, str] = {}

    def annotate(self, **annotations: str) -> None:
        self.annotations.update(annotations)

    def set_request_object(self, obj: Any) -> None:
        """The decoded request body: names the object of a create; logged from Request on."""
        ref = self.event.get("objectRef")
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        if ref is not None and isinstance(meta, dict):
            for field in ("namespace", "name", "uid", "resourceVersion"):
                if not ref.get(field) and meta.get(field):
                    ref[field] = meta[field]
        if self.decision.level >= Level.REQUEST:
            self.request_object = obj

    def set_response_object(self, obj: Any) -> None:
        if self.decision.level >= Level.REQUEST_RESPONSE:
            self.response_object = obj

    def set_status(self, code: int, status: dict[str, Any] | None = None) -> None:
        """`status`: the v1 Status the answer carried (failures), else only the code."""
        if status is not None and status.get("kind") == "Status":
            self.response_status = {k: v for k, v in status.items() if k not in ("kind", "apiVersion")}
            self.response_status.setdefault("metadata", {})
            self.response_status["code"] = code
        else:
            self.response_status = {"metadata": {}, "code": code}

    def emit(self, stage: str) -> None:
        if stage in self.decision.omit_stages:
            return
        event = {**self.event, "stage": stage}
        if "objectRef" in event:
            event["objectRef"] = dict(event["objectRef"])
        if self.response_status is not None and stage != "RequestReceived":
            event["responseStatus"] = self.response_status
        omit = self.decision.omit_managed_fields
        if self.request_object is not None:
            event["requestObject"] = _without_managed_fields(self.request_object) if omit else self.request_object
        if self.response_object is not None and stage == "ResponseComplete":
            event["responseObject"] = (_without_managed_fields(self.response_object) if omit
                                       else self.response_object)
        event["requestReceivedTimestamp"] = self.received
        event["stageTimestamp"] = micro_time(self.clock())
        if self.annotations:
            event["annotations"] = dict(self.annotations)
        self.backend.process_event(event)
