"""A table of bad inputs, each answered with the right 4xx Status and nothing written.

Every row is one request a careless client could send. The server must answer with a
v1 Status (`kind: Status`, `status: Failure`, `code` equal to the HTTP code), the
reason Kubernetes uses, the offending field in `details.causes` where Kubernetes names
one, and storage must be untouched: the watched collection (or object) reads the same
before and after.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

Setup = Callable[[httpx.Client, str], dict[str, str]]

CM = "/api/v1/namespaces/{ns}/configmaps"
PODS = "/api/v1/namespaces/{ns}/pods"
SERVICES = "/api/v1/namespaces/{ns}/services"
DEPLOYMENTS = "/apis/apps/v1/namespaces/{ns}/deployments"


def configmap(name: str = "cm", **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **extra},
            "data": {"k": "v"}}


def pod(name: str = "p", containers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": containers if containers is not None
                     else [{"name": "c", "image": "busybox"}]}}


def deployment(name: str = "d", app: str = "d", replicas: Any = 1) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}},
                     "template": {"metadata": {"labels": {"app": app}},
                                  "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}


def service(name: str = "s", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80}], **spec}}


def random_cluster_ip() -> str:
    # The top of the service range, away from what sequential allocation hands out.
    return f"10.96.{random.randint(200, 254)}.{random.randint(1, 254)}"


def created(http: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post(path, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


# --- setups: each prepares what its row needs and returns values for the path/body ---

def existing_configmap(http: httpx.Client, ns: str) -> dict[str, str]:
    obj = created(http, CM.format(ns=ns), configmap("cm"))
    return {"uid": obj["metadata"]["uid"], "rv": obj["metadata"]["resourceVersion"]}


def configmap_updated_once(http: httpx.Client, ns: str) -> dict[str, str]:
    obj = created(http, CM.format(ns=ns), configmap("cm"))
    stale = obj["metadata"]["resourceVersion"]
    obj["data"] = {"k": "newer"}
    response = http.put(f"{CM.format(ns=ns)}/cm", json=obj)
    assert response.status_code == 200, response.text
    return {"rv": stale}


def existing_deployment(http: httpx.Client, ns: str) -> dict[str, str]:
    created(http, DEPLOYMENTS.format(ns=ns), deployment("d"))
    return {}


def existing_pod(http: httpx.Client, ns: str) -> dict[str, str]:
    obj = created(http, PODS.format(ns=ns), pod("p"))
    return {"rv": obj["metadata"]["resourceVersion"]}


def existing_service(http: httpx.Client, ns: str) -> dict[str, str]:
    obj = created(http, SERVICES.format(ns=ns), service("s"))
    return {"rv": obj["metadata"]["resourceVersion"], "ip": obj["spec"]["clusterIP"]}


def service_with_random_ip(http: httpx.Client, ns: str) -> dict[str, str]:
    for _ in range(20):
        ip = random_cluster_ip()
        response = http.post(SERVICES.format(ns=ns), json=service("first", clusterIP=ip))
        if response.status_code == 201:
            return {"ip": ip}
    raise AssertionError("no free cluster IP found for the setup")


def terminating_namespace(http: httpx.Client, ns: str) -> dict[str, str]:
    doomed = f"doomed-{uuid.uuid4().hex[:8]}"
    created(http, "/api/v1/namespaces", {"metadata": {"name": doomed}})
    assert http.delete(f"/api/v1/namespaces/{doomed}").status_code == 200
    phase = http.get(f"/api/v1/namespaces/{doomed}").json()["status"]["phase"]
    assert phase == "Terminating"
    return {"ns": doomed}


@dataclass(frozen=True)
class BadInput:
    id: str
    method: str
    path: str
    code: int
    reason: str
    body: Any = None
    content: bytes | None = None
    content_type: str = "application/json"
    params: dict[str, str] = field(default_factory=dict)
    field: str | None = None
    message: str | None = None
    setup: Setup | None = None
    watched: str = CM


def with_body(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return json.loads(json.dumps(body)) | changes


CASES = [
    BadInput("malformed-json", "POST", CM, 400, "BadRequest",
             content=b'{"metadata": {"name": "x"', message="could not be decoded"),
    BadInput("malformed-yaml", "POST", CM, 400, "BadRequest", content_type="application/yaml",
             content=b"metadata:\n  name: [unclosed\n  data: {\n"),
    BadInput("body-not-an-object", "POST", CM, 400, "BadRequest", content=b"[1, 2, 3]"),
    BadInput("wrong-kind-for-url", "POST", CM, 400, "BadRequest",
             body={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}),
    BadInput("invalid-name", "POST", CM, 422, "Invalid", body=configmap("Bad_Name"),
             field="metadata.name"),
    BadInput("missing-name", "POST", CM, 422, "Invalid",
             body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}, field="metadata.name"),
    BadInput("missing-containers", "POST", PODS, 422, "Invalid", body=pod(containers=[]),
             field="spec.containers", watched=PODS),
    BadInput("container-without-image", "POST", PODS, 422, "Invalid",
             body=pod(containers=[{"name": "c"}]), field="spec.containers[0].image", watched=PODS),
    BadInput("invalid-label-key", "POST", CM, 422, "Invalid",
             body=configmap(labels={"bad key!": "x"}), field="metadata.labels"),
    BadInput("invalid-label-value", "POST", CM, 422, "Invalid",
             body=configmap(labels={"ok": "not a valid value!"}), field="metadata.labels"),
    BadInput("unknown-field-strict", "POST", CM, 400, "BadRequest",
             body=configmap() | {"datum": {"k": "v"}}, params={"fieldValidation": "Strict"},
             message='strict decoding error: unknown field "datum"'),
    BadInput("replicas-as-string", "POST", DEPLOYMENTS, 400, "BadRequest",
             body=deployment(replicas="3"), watched=DEPLOYMENTS),
    BadInput("namespace-mismatch", "POST", CM, 400, "BadRequest",
             body=configmap(namespace="elsewhere"),
             message="does not match the namespace"),
    BadInput("missing-namespace", "POST", "/api/v1/namespaces/no-such-ns-x/configmaps", 404,
             "NotFound", body=configmap(), message='namespaces "no-such-ns-x" not found',
             watched="/api/v1/namespaces/no-such-ns-x"),
    BadInput("duplicate-create", "POST", CM, 409, "AlreadyExists", body=configmap("cm"),
             setup=existing_configmap),
    BadInput("stale-resource-version", "PUT", CM + "/cm", 409, "Conflict",
             body=configmap("cm", resourceVersion="{rv}"), setup=configmap_updated_once,
             message="the object has been modified"),
    BadInput("immutable-deployment-selector", "PUT", DEPLOYMENTS + "/d", 422, "Invalid",
             body=deployment("d", app="other"), field="spec.selector",
             setup=existing_deployment, watched=DEPLOYMENTS),
    BadInput("pod-spec-change-other-than-image", "PUT", PODS + "/p", 422, "Invalid",
             body=with_body(pod("p", containers=[{"name": "c", "image": "busybox",
                                                  "command": ["sleep", "1"]}])),
             field="spec", setup=existing_pod, watched=PODS),
    BadInput("service-cluster-ip-change", "PUT", SERVICES + "/s", 422, "Invalid",
             body=service("s", clusterIP="10.96.254.254"), field="spec.clusterIP",
             setup=existing_service, watched=SERVICES),
    BadInput("cluster-ip-taken", "POST", SERVICES, 422, "Invalid",
             body=service("second", clusterIP="{ip}"), field="spec.clusterIP",
             message="already allocated", setup=service_with_random_ip, watched=SERVICES),
    BadInput("node-port-out-of-range", "POST", SERVICES, 422, "Invalid",
             body=service("np", type="NodePort", ports=[{"port": 80, "nodePort": 29999}]),
             field="spec.ports[0].nodePort", watched=SERVICES),
    BadInput("unsupported-field-selector", "GET", PODS, 400, "BadRequest",
             params={"fieldSelector": "spec.frobnicator=x"}, watched=PODS),
    BadInput("malformed-label-selector", "GET", PODS, 400, "BadRequest",
             params={"labelSelector": "app in (web"}, watched=PODS),
    BadInput("watch-from-a-malformed-resource-version", "GET", CM, 400, "BadRequest",
             params={"watch": "true", "resourceVersion": "abc", "timeoutSeconds": "5"},
             message="invalid resource version"),
    BadInput("name-mismatch-body-vs-url", "PUT", CM + "/cm", 400, "BadRequest",
             body=configmap("other"), setup=existing_configmap,
             message="does not match the name on the URL"),
    BadInput("update-of-a-missing-object", "PUT", CM + "/absent", 404, "NotFound",
             body=configmap("absent"), message='configmaps "absent" not found'),
    BadInput("body-over-limit", "POST", CM, 413, "RequestEntityTooLarge",
             body=configmap("big") | {"data": {"k": "x" * (3 * 1024 * 1024 + 1)}}),
    BadInput("unknown-resource", "GET", "/api/v1/namespaces/{ns}/widgets", 404, "NotFound"),
    BadInput("unsupported-patch-content-type", "PATCH", CM + "/cm", 415, "UnsupportedMediaType",
             content=b"k=v", content_type="text/plain", setup=existing_configmap),
    BadInput("invalid-json-patch-op", "PATCH", CM + "/cm", 422, "Invalid",
             content=b'[{"op": "frobnicate", "path": "/data/k", "value": "x"}]',
             content_type="application/json-patch+json", setup=existing_configmap),
    BadInput("delete-uid-precondition-mismatch", "DELETE", CM + "/cm", 409, "Conflict",
             body={"preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}},
             message="Precondition failed", setup=existing_configmap),
    BadInput("bad-propagation-policy", "DELETE", CM + "/cm", 422, "Invalid",
             body={"propagationPolicy": "Sideways"}, field="propagationPolicy",
             setup=existing_configmap),
    BadInput("create-in-terminating-namespace", "POST", CM, 403, "Forbidden", body=configmap(),
             message="because it is being terminated", setup=terminating_namespace),
]

# Where Kubernetes itself is not precise: a JSON patch with an unknown op is a 422 from
# the patch applier in some paths and a 400 from the decoder in others.
ALTERNATIVE_ANSWERS = {"invalid-json-patch-op": {(400, "BadRequest")}}


def fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**values) if "{" in value and "}" in value else value
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    return value


def snapshot(http: httpx.Client, path: str) -> Any:
    """What storage holds at `path`: each item's resourceVersion, or the object's, or the code."""
    response = http.get(path)
    if response.status_code != 200:
        return response.status_code
    body = response.json()
    if "items" in body:
        return {item["metadata"]["name"]: item["metadata"]["resourceVersion"]
                for item in body["items"]}
    return body["metadata"]["resourceVersion"]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_refused_and_nothing_is_written(case: BadInput, http: httpx.Client,
                                                     namespace: str) -> None:
    assert_refused_and_unwritten(case, http, namespace)


def assert_refused_and_unwritten(case: BadInput, http: httpx.Client, namespace: str) -> None:
    """Send the case's request; check the Status it gets and that storage did not change."""
    values = {"ns": namespace}
    if case.setup is not None:
        values |= case.setup(http, namespace)
    path = case.path.format(**values)
    watched = case.watched.format(**values)
    content = case.content
    if content is None and case.body is not None:
        content = json.dumps(fill(case.body, values)).encode()
    before = snapshot(http, watched)

    response = http.request(case.method, path, content=content, params=case.params,
                            headers={"Content-Type": case.content_type})

    answers = {(case.code, case.reason)} | ALTERNATIVE_ANSWERS.get(case.id, set())
    assert response.headers["content-type"].startswith("application/json"), response.text
    status = response.json()
    assert (response.status_code, status.get("reason")) in answers, response.text
    assert status["kind"] == "Status"
    assert status["apiVersion"] == "v1"
    assert status["status"] == "Failure"
    assert status["code"] == response.status_code
    if case.message is not None:
        assert case.message in status["message"]
    if case.field is not None:
        fields = [cause.get("field", "") for cause in status["details"]["causes"]]
        assert any(f.startswith(case.field) for f in fields), fields
    assert snapshot(http, watched) == before
