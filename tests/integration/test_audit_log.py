"""The audit log of a real API server: a create, a forbidden request and a watch.

The API server runs with `--authorization-mode=AlwaysDeny` (system:masters is
still allowed), an audit policy and `--audit-log-path`; the test reads the JSON
lines it writes.

Kubernetes counterpart: test/integration/controlplane/audit/audit_test.go
"""

from __future__ import annotations

import json
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tinykube.testing.processes import APIServerProcess, Etcd, start_apiserver, wait_until

POLICY = """apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  nonResourceURLs: [/readyz, /livez, /healthz]
- level: RequestResponse
  resources: [{group: "", resources: [configmaps]}]
- level: Metadata
"""
BOB_TOKEN = "bob-token"


@pytest.fixture(scope="module")
def audited(etcd: Etcd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[APIServerProcess]:
    workdir = tmp_path_factory.mktemp("audited-apiserver")
    (workdir / "policy.yaml").write_text(POLICY)
    (workdir / "users.csv").write_text(f'admin-token,admin,admin-uid,"system:masters"\n'
                                       f"{BOB_TOKEN},bob,bob-uid,developers\n")
    server = start_apiserver(etcd.url, workdir, token="admin-token", flags=(
        "--token-auth-file", str(workdir / "users.csv"), "--authorization-mode", "AlwaysDeny",
        "--audit-policy-file", str(workdir / "policy.yaml"),
        "--audit-log-path", str(workdir / "audit.log")))
    yield server
    server.stop()


def events(server: APIServerProcess) -> list[dict[str, Any]]:
    path = Path(server.workdir) / "audit.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def events_of(server: APIServerProcess, audit_id: str, count: int) -> list[dict[str, Any]]:
    wait_until(lambda: len([e for e in events(server) if e["auditID"] == audit_id]) >= count, 10,
               f"{count} audit events of {audit_id}")
    return [e for e in events(server) if e["auditID"] == audit_id]


def client(server: APIServerProcess, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.https_url, verify=ssl.create_default_context(cafile=str(server.ca_file)),
                        headers={"Authorization": f"Bearer {token}", "User-Agent": "audit-test/1.0"})


def test_a_create_is_audited_with_its_bodies_and_the_authorizer_decision(audited: APIServerProcess) -> None:
    name = f"cm-{uuid.uuid4().hex[:6]}"
    with client(audited, "admin-token") as admin:
        response = admin.post("/api/v1/namespaces/default/configmaps",
                              json={"metadata": {"name": name}, "data": {"a": "b"}})
    assert response.status_code == 201
    received, complete = events_of(audited, response.headers["audit-id"], 2)
    assert (received["stage"], complete["stage"]) == ("RequestReceived", "ResponseComplete")
    assert complete["level"] == "RequestResponse" and complete["verb"] == "create"
    assert complete["requestURI"] == "/api/v1/namespaces/default/configmaps"
    assert complete["user"] == {"username": "admin", "uid": "admin-uid",
                                "groups": ["system:masters", "system:authenticated"]}
    assert complete["userAgent"] == "audit-test/1.0" and complete["sourceIPs"] == ["127.0.0.1"]
    assert complete["objectRef"] == {"resource": "configmaps", "namespace": "default", "name": name,
                                     "apiVersion": "v1"}
    assert complete["responseStatus"] == {"metadata": {}, "code": 201}
    assert complete["requestObject"]["data"] == {"a": "b"}
    assert complete["responseObject"]["metadata"]["uid"] == response.json()["metadata"]["uid"]
    assert complete["annotations"]["authorization.k8s.io/decision"] == "allow"
    assert "responseStatus" not in received and "responseObject" not in received


def test_a_forbidden_request_is_audited_with_its_status(audited: APIServerProcess) -> None:
    with client(audited, BOB_TOKEN) as bob:
        response = bob.get("/api/v1/namespaces/default/pods")
    assert response.status_code == 403
    complete = events_of(audited, response.headers["audit-id"], 2)[-1]
    assert complete["level"] == "Metadata" and complete["verb"] == "list"
    assert complete["user"]["username"] == "bob"
    assert complete["responseStatus"]["code"] == 403
    assert complete["responseStatus"]["reason"] == "Forbidden"
    assert complete["responseStatus"]["message"] == response.json()["message"]
    assert complete["annotations"] == {"authorization.k8s.io/decision": "forbid",
                                       "authorization.k8s.io/reason": "Everything is forbidden."}
    assert "requestObject" not in complete and "responseObject" not in complete


def test_a_watch_reports_response_started(audited: APIServerProcess) -> None:
    with client(audited, "admin-token") as admin:
        with admin.stream("GET", "/api/v1/namespaces/default/configmaps",
                          params={"watch": "true", "timeoutSeconds": "30"}) as watch:
            assert watch.status_code == 200
            audit_id = watch.headers["audit-id"]
            received, started = events_of(audited, audit_id, 2)
    assert (received["stage"], started["stage"]) == ("RequestReceived", "ResponseStarted")
    assert started["verb"] == "watch" and started["responseStatus"] == {"metadata": {}, "code": 200}
    assert started["requestURI"] == "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=30"
    complete = events_of(audited, audit_id, 3)[2]  # when the client went away
    assert complete["stage"] == "ResponseComplete"
