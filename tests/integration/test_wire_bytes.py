"""Answers compared byte for byte with what a real kube-apiserver sent.

Clients compare these bytes: the official Python client puts the body of a failed
call into `ApiException` and `FailToCreateError` texts, and its own e2e tests assert
those strings. Each `RECORDED_*` body below was written by a real kube-apiserver
(quoted from public client logs and test fixtures, with their Content-Length where the
log kept it); the test makes the same mistake against tinykube with the same names
and asserts the same bytes come back.

The discovery documents' slashed paths (`/api/`, `/apis/apps/v1/`, `/version/`)
are the ones Kubernetes' OpenAPI spec names, so the generated client calls them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

# kube-apiserver, POST of a PersistentVolume that exists (Content-Length 238 in the log).
RECORDED_ALREADY_EXISTS = (
    b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":'
    b'"persistentvolumes \\"mysql-instance-pv\\" already exists","reason":"AlreadyExists",'
    b'"details":{"name":"mysql-instance-pv","kind":"persistentvolumes"},"code":409}\n')
RECORDED_ALREADY_EXISTS_LENGTH = 238

# kube-apiserver, PUT with a stale resourceVersion (a ResourceQuota in the recording).
RECORDED_CONFLICT = (
    b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":'
    b'"Operation cannot be fulfilled on resourcequotas \\"quota\\": the object has been '
    b'modified; please apply your changes to the latest version and try again",'
    b'"reason":"Conflict","details":{"name":"quota","kind":"resourcequotas"},"code":409}\n')

# kube-apiserver, an object named against DNS-1123 rules (a custom kind in the recording).
RECORDED_INVALID_NAME = (
    b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":'
    b'"OcsCluster.ocs.ibm.io \\"ps-AWS-MZ-1\\" is invalid: metadata.name: Invalid value: '
    b'\\"ps-AWS-MZ-1\\": a lowercase RFC 1123 subdomain must consist of lower case '
    b"alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
    b"character (e.g. 'example.com', regex used for validation is "
    b"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')\","
    b'"reason":"Invalid","details":{"name":"ps-AWS-MZ-1","group":"ocs.ibm.io",'
    b'"kind":"OcsCluster","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: '
    b'\\"ps-AWS-MZ-1\\": a lowercase RFC 1123 subdomain must consist of lower case '
    b"alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
    b"character (e.g. 'example.com', regex used for validation is "
    b"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')\","
    b'"field":"metadata.name"}]},"code":422}\n')

# kube-apiserver, GET of a missing object in a group (the shape of every 404).
RECORDED_NOT_FOUND = (
    b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":'
    b'"deployments.apps \\"web\\" not found","reason":"NotFound",'
    b'"details":{"name":"web","group":"apps","kind":"deployments"},"code":404}\n')


def persistent_volume(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                     "hostPath": {"path": f"/tmp/{name}"}}}


@pytest.fixture
def volume(http: httpx.Client) -> Iterator[str]:
    name = "mysql-instance-pv"
    response = http.post("/api/v1/persistentvolumes", json=persistent_volume(name))
    assert response.status_code == 201, response.text
    yield name
    http.delete(f"/api/v1/persistentvolumes/{name}")


def test_already_exists_is_the_recorded_bytes(http: httpx.Client, volume: str) -> None:
    response = http.post("/api/v1/persistentvolumes", json=persistent_volume(volume))
    assert response.status_code == 409
    assert response.content == RECORDED_ALREADY_EXISTS
    assert response.headers["content-length"] == str(RECORDED_ALREADY_EXISTS_LENGTH)
    assert response.headers["content-type"] == "application/json"


def test_conflict_is_the_recorded_bytes_with_this_kind(http: httpx.Client, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    created = http.post(path, json={"metadata": {"name": "quota"}, "data": {"a": "1"}})
    assert created.status_code == 201, created.text
    stale = created.json()
    changed = {**stale, "data": {"a": "2"}}
    assert http.put(f"{path}/quota", json=changed).status_code == 200
    response = http.put(f"{path}/quota", json=stale)
    assert response.status_code == 409
    assert response.content == RECORDED_CONFLICT.replace(b"resourcequotas", b"configmaps")


def test_invalid_is_the_recorded_bytes_with_this_kind(http: httpx.Client, namespace: str) -> None:
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ps-AWS-MZ-1"},
            "spec": {"selector": {"matchLabels": {"app": "a"}},
                     "template": {"metadata": {"labels": {"app": "a"}},
                                  "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
    response = http.post(f"/apis/apps/v1/namespaces/{namespace}/deployments", json=body)
    assert response.status_code == 422
    expected = (RECORDED_INVALID_NAME.replace(b"OcsCluster.ocs.ibm.io", b"Deployment.apps")
                .replace(b'"group":"ocs.ibm.io","kind":"OcsCluster"',
                         b'"group":"apps","kind":"Deployment"'))
    assert response.content == expected


def test_not_found_is_the_recorded_bytes(http: httpx.Client) -> None:
    namespace = f"absent-{uuid.uuid4().hex[:8]}"
    response = http.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/web")
    assert response.status_code == 404
    assert response.content == RECORDED_NOT_FOUND


@pytest.mark.parametrize("path, kind", [
    ("/api/", "APIVersions"),
    ("/apis/", "APIGroupList"),
    ("/api/v1/", "APIResourceList"),
    ("/apis/apps/", "APIGroup"),
    ("/apis/apps/v1/", "APIResourceList"),
])
def test_discovery_answers_on_the_slashed_paths_of_the_openapi_spec(
        http: httpx.Client, path: str, kind: str) -> None:
    response = http.get(path)
    assert response.status_code == 200, response.text
    assert response.json()["kind"] == kind
    assert response.json() == http.get(path.rstrip("/")).json()


def test_version_answers_on_its_slashed_path_without_credentials(
        apiserver: object) -> None:
    url = getattr(apiserver, "https_url")
    with httpx.Client(base_url=url, verify=False) as anonymous:  # noqa: S501 (own test server)
        response = anonymous.get("/version/")
    assert response.status_code == 200, response.text
    assert "gitVersion" in response.json()


def test_empty_optional_lists_and_maps_are_dropped_and_empty_structs_kept(
        http: httpx.Client, namespace: str) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "empty", "labels": {}, "annotations": None},
           "spec": {"containers": [{"name": "c", "image": "busybox", "args": [], "env": [],
                                    "resources": {}}], "volumes": []}}
    response = http.post(f"/api/v1/namespaces/{namespace}/pods", json=pod)
    assert response.status_code == 201, response.text
    stored = http.get(f"/api/v1/namespaces/{namespace}/pods/empty").json()
    assert "labels" not in stored["metadata"] and "annotations" not in stored["metadata"]
    container = stored["spec"]["containers"][0]
    assert "args" not in container and "env" not in container
    assert container["resources"] == {}  # a Go struct: omitempty keeps it
    assert "volumes" not in stored["spec"]
