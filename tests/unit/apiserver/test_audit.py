"""Audit: policy rule matching (first match wins) and the events of one request."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
import yaml
from starlette.types import Message, Receive, Scope, Send

from apiserver.audit.event import AuditRecord
from apiserver.audit.filter import AuditConfig, AuditFilter, annotate
from apiserver.audit.policy import Level, PolicyError, parse_policy
from apiserver.auth import UserInfo
from apiserver.authorization.attributes import request_attributes
from apiserver.errors import APIError

ALICE = UserInfo("alice", "u1", ("dev", "system:authenticated"))
NODE = UserInfo("system:node:n1", "", ("system:nodes",))

POLICY = parse_policy(yaml.safe_load("""
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: ["system:node:n1"]
- level: None
  nonResourceURLs: [/healthz, "/metrics*"]
- level: RequestResponse
  resources: [{group: "", resources: [secrets], resourceNames: [db]}]
- level: Request
  userGroups: [dev]
  verbs: [create, update]
  namespaces: [team]
- level: Metadata
  resources: [{group: apps, resources: ["deployments/*"]}, {group: "", resources: ["*/status"]}]
  omitStages: [ResponseStarted]
- level: Metadata
  nonResourceURLs: ["*"]
"""))


@pytest.mark.parametrize(("user", "method", "path", "level"), [
    (NODE, "GET", "/api/v1/namespaces/team/secrets/db", Level.NONE),       # rule 1: the user
    (ALICE, "GET", "/healthz", Level.NONE),                                # rule 2: exact URL
    (ALICE, "GET", "/metrics/slis", Level.NONE),                           # rule 2: prefix*
    (ALICE, "GET", "/api/v1/namespaces/x/secrets/db", Level.REQUEST_RESPONSE),
    (ALICE, "GET", "/api/v1/namespaces/x/secrets/other", Level.NONE),      # name not listed
    (ALICE, "POST", "/api/v1/namespaces/team/configmaps", Level.REQUEST),  # group+verb+namespace
    (ALICE, "POST", "/api/v1/namespaces/other/configmaps", Level.NONE),    # namespace differs
    (ALICE, "GET", "/api/v1/namespaces/team/configmaps", Level.NONE),      # verb differs
    (ALICE, "GET", "/apis/apps/v1/namespaces/a/deployments/d/scale", Level.METADATA),
    (ALICE, "GET", "/apis/apps/v1/namespaces/a/deployments/d", Level.METADATA),  # resource/* too
    (ALICE, "GET", "/apis/apps/v1/namespaces/a/replicasets/r", Level.NONE),
    (ALICE, "PUT", "/api/v1/namespaces/a/pods/p/status", Level.METADATA),   # */status
    (ALICE, "GET", "/version", Level.METADATA),                            # non-resource *
    (ALICE, "GET", "/api/v1/pods", Level.NONE),                            # resource: no rule
])
def test_first_matching_rule_decides(user: UserInfo, method: str, path: str, level: Level) -> None:
    assert POLICY.decide(request_attributes(user, method, path)).level is level


def test_omit_stages_of_policy_and_rule_add_up() -> None:
    decision = POLICY.decide(request_attributes(ALICE, "GET", "/api/v1/namespaces/a/pods/p/status"))
    assert decision.omit_stages == {"RequestReceived", "ResponseStarted"}


@pytest.mark.parametrize(("document", "message"), [
    ({"apiVersion": "audit.k8s.io/v1beta2", "kind": "Policy"}, 'no kind "Policy" is registered'),
    ({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [{"level": "Everything"}]},
     'rules[0].level: Unsupported value: "Everything"'),
    ({"apiVersion": "audit.k8s.io/v1", "kind": "Policy",
      "rules": [{"level": "None", "omitStages": ["Later"]}]}, 'rules[0].omitStages[0]: Unsupported value'),
    ({"apiVersion": "audit.k8s.io/v1", "kind": "Policy",
      "rules": [{"level": "None", "resources": [{"resources": ["pods"]}], "nonResourceURLs": ["/x"]}]},
     "rules cannot apply to both regular resources and non-resource URLs"),
    ({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [{"level": "None", "user": ["a"]}]},
     'unknown field "user"'),
])
def test_invalid_policies_are_refused(document: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy(document)
    assert message in str(err.value)


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def process_event(self, event: dict[str, Any]) -> None:
        self.events.append(event)


def clock() -> datetime:
    return datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


async def run(app: Any, policy_yaml: str, method: str, path: str, body: bytes = b"",
              query: bytes = b"") -> tuple[list[dict[str, Any]], list[Message]]:
    recorder = Recorder()
    audit = AuditFilter(app, AuditConfig(parse_policy(yaml.safe_load(policy_yaml)), recorder), clock)
    sent: list[Message] = []
    scope = {"type": "http", "method": method, "path": path, "query_string": query,
             "headers": [(b"user-agent", b"kubectl/v1.30"), (b"content-type", b"application/json")],
             "client": ("10.0.0.9", 5555), "state": {"user": ALICE}}

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    try:
        await audit(scope, receive, send)
    except (APIError, RuntimeError):
        pass  # the chain's outer step answers them
    return recorder.events, sent


def policy(level: str) -> str:
    return f"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{{level: {level}}}]\n"


async def created(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    annotate(scope, **{"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""})
    await send({"type": "http.response.start", "status": 201,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"kind":"ConfigMap","metadata":{"name":"cm"}}'})


async def test_a_create_at_request_response_level() -> None:
    events, sent = await run(created, policy("RequestResponse"), "POST",
                             "/api/v1/namespaces/team/configmaps", b'{"metadata":{"name":"cm"}}')
    assert [e["stage"] for e in events] == ["RequestReceived", "ResponseComplete"]
    done = events[1]
    assert done == {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
        "auditID": events[0]["auditID"], "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/team/configmaps", "verb": "create",
        "user": {"username": "alice", "uid": "u1", "groups": ["dev", "system:authenticated"]},
        "sourceIPs": ["10.0.0.9"], "userAgent": "kubectl/v1.30",
        "objectRef": {"resource": "configmaps", "namespace": "team", "name": "cm", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 201},
        "requestObject": {"metadata": {"name": "cm"}},
        "responseObject": {"kind": "ConfigMap", "metadata": {"name": "cm"}},
        "requestReceivedTimestamp": "2026-01-02T03:04:05.678901Z",
        "stageTimestamp": "2026-01-02T03:04:05.678901Z",
        "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""}}
    assert (b"audit-id", events[0]["auditID"].encode()) in sent[0]["headers"]


async def test_metadata_level_logs_no_bodies_but_names_the_created_object() -> None:
    events, _ = await run(created, policy("Metadata"), "POST", "/api/v1/namespaces/team/configmaps",
                          b'{"metadata":{"name":"cm"}}')
    assert events[1]["objectRef"]["name"] == "cm"
    assert "requestObject" not in events[1] and "responseObject" not in events[1]


async def test_a_refused_request_records_its_status() -> None:
    async def forbidden(scope: Scope, receive: Receive, send: Send) -> None:
        raise APIError(403, "Forbidden", 'pods is forbidden: User "alice" cannot list resource "pods"')

    events, sent = await run(forbidden, policy("Metadata"), "GET", "/api/v1/pods")
    assert sent[0]["status"] == 403 and (b"audit-id", events[0]["auditID"].encode()) in sent[0]["headers"]
    assert events[-1]["stage"] == "ResponseComplete"
    assert events[-1]["responseStatus"] == {
        "metadata": {}, "status": "Failure",
        "message": 'pods is forbidden: User "alice" cannot list resource "pods"',
        "reason": "Forbidden", "code": 403}


async def test_a_watch_reports_response_started_and_a_crash_is_panic() -> None:
    async def watch(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("boom")

    listed, _ = await run(watch, policy("Metadata"), "GET", "/api/v1/pods")
    assert [e["stage"] for e in listed] == ["RequestReceived", "Panic"]  # a list is not long-running
    watched, _ = await run(watch, policy("Metadata"), "GET", "/api/v1/pods", query=b"watch=true")
    assert [(e["stage"], e["verb"]) for e in watched] == [
        ("RequestReceived", "watch"), ("ResponseStarted", "watch"), ("Panic", "watch")]
    assert watched[1]["responseStatus"] == {"metadata": {}, "code": 200}
    assert watched[2]["responseStatus"]["code"] == 500
    assert watched[0]["requestURI"] == "/api/v1/pods?watch=true"


async def test_level_none_sends_nothing_and_leaves_the_request_alone() -> None:
    events, sent = await run(created, policy("None"), "POST", "/api/v1/namespaces/team/configmaps", b"{}")
    assert events == [] and all(h[0] != b"audit-id" for h in sent[0]["headers"])


def test_record_omits_managed_fields_when_asked() -> None:
    decision = parse_policy({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitManagedFields": True,
                             "rules": [{"level": "Request"}]}).decide(
        request_attributes(ALICE, "POST", "/api/v1/namespaces/a/configmaps"))
    recorder = Recorder()
    record = AuditRecord("id", decision, request_attributes(ALICE, "POST", "/api/v1/namespaces/a/configmaps"),
                         "/x", [], "", recorder, clock)
    record.set_request_object({"metadata": {"name": "a", "managedFields": [{}]}})
    record.emit("ResponseComplete")
    assert recorder.events[0]["requestObject"] == {"metadata": {"name": "a"}}
