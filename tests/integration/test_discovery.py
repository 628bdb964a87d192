"""Discovery, OpenAPI, Tables, health and metrics: what kubectl reads before acting.

The Accept headers are the ones kubectl 1.32 sends (see the kubectl wire notes):
aggregated discovery negotiated v2 → v2beta1 → plain JSON, the Table Accept for
`kubectl get`, and the protobuf-first Accept of typed clients (answered in JSON).
"""

from __future__ import annotations

import httpx
import pytest

V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
KUBECTL_DISCOVERY_ACCEPT = f"{V2},{V2BETA1},application/json"
TABLE_ACCEPT = ("application/json;as=Table;v=v1;g=meta.k8s.io,"
                "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")
PROTOBUF_FIRST = "application/vnd.kubernetes.protobuf,application/json"

SHORT_NAMES = {"po": "pods", "deploy": "deployments", "rs": "replicasets",
               "sts": "statefulsets", "ds": "daemonsets", "svc": "services", "ep": "endpoints",
               "ns": "namespaces", "no": "nodes", "cm": "configmaps", "ing": "ingresses",
               "hpa": "horizontalpodautoscalers", "pv": "persistentvolumes",
               "pvc": "persistentvolumeclaims", "sa": "serviceaccounts"}


def test_version_reports_an_integer_minor(http: httpx.Client) -> None:
    version = http.get("/version").json()
    assert version["major"] == "1"
    assert version["minor"] == "32"
    assert version["gitVersion"].startswith("v1.32.")


def aggregated(http: httpx.Client, path: str, accept: str) -> httpx.Response:
    response = http.get(path, headers={"Accept": accept})
    assert response.status_code == 200, response.text
    return response


def discovered_resources(http: httpx.Client) -> dict[str, dict[str, object]]:
    """Every resource in aggregated discovery of /api and /apis, by plural name."""
    found: dict[str, dict[str, object]] = {}
    for path in ("/api", "/apis"):
        for group in aggregated(http, path, KUBECTL_DISCOVERY_ACCEPT).json()["items"]:
            for version in group["versions"]:
                for resource in version["resources"]:
                    found.setdefault(resource["resource"], resource)
    return found


@pytest.mark.parametrize("path", ["/api", "/apis"])
def test_aggregated_discovery_negotiates_v2_then_v2beta1(http: httpx.Client, path: str) -> None:
    v2 = aggregated(http, path, KUBECTL_DISCOVERY_ACCEPT)
    assert v2.headers["content-type"] == V2
    assert v2.json()["kind"] == "APIGroupDiscoveryList"
    assert v2.json()["apiVersion"] == "apidiscovery.k8s.io/v2"

    v2beta1 = aggregated(http, path, f"{V2BETA1},application/json")
    assert v2beta1.headers["content-type"] == V2BETA1
    assert v2beta1.json()["apiVersion"] == "apidiscovery.k8s.io/v2beta1"


def test_core_group_is_in_aggregated_api(http: httpx.Client) -> None:
    groups = aggregated(http, "/api", KUBECTL_DISCOVERY_ACCEPT).json()["items"]
    assert [version["version"] for version in groups[0]["versions"]] == ["v1"]
    names = {group["metadata"].get("name", "") for group in
             aggregated(http, "/apis", KUBECTL_DISCOVERY_ACCEPT).json()["items"]}
    assert {"apps", "networking.k8s.io", "autoscaling"} <= names


def test_short_names_are_discovered(http: httpx.Client) -> None:
    resources = discovered_resources(http)
    for short, plural in SHORT_NAMES.items():
        assert plural in resources, plural
        assert short in (resources[plural].get("shortNames") or []), plural
    assert resources["pods"]["scope"] == "Namespaced"
    assert resources["nodes"]["scope"] == "Cluster"


def test_legacy_resource_lists(http: httpx.Client) -> None:
    core = http.get("/api/v1").json()
    assert core["kind"] == "APIResourceList"
    assert core["groupVersion"] == "v1"
    pods = next(r for r in core["resources"] if r["name"] == "pods")
    assert pods["namespaced"] is True
    assert pods["kind"] == "Pod"
    assert "po" in pods["shortNames"]
    assert {"get", "list", "watch", "create", "delete"} <= set(pods["verbs"])

    apps = http.get("/apis/apps/v1").json()
    assert apps["kind"] == "APIResourceList"
    assert apps["groupVersion"] == "apps/v1"
    names = {r["name"] for r in apps["resources"]}
    assert {"deployments", "deployments/scale", "replicasets"} <= names


def test_openapi_v3_root_and_group_document(http: httpx.Client) -> None:
    root = http.get("/openapi/v3")
    assert root.status_code == 200
    paths = root.json()["paths"]
    assert "api/v1" in paths
    assert "apis/apps/v1" in paths

    url = paths["apis/apps/v1"]["serverRelativeURL"]
    assert "hash=" in url
    document = http.get(url)
    assert document.status_code == 200
    assert "immutable" in document.headers["cache-control"]
    schema = document.json()["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"]
    assert schema["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}]


def test_openapi_v2_is_served_as_json_and_as_the_protobuf_kubectl_asks_for(
        http: httpx.Client) -> None:
    document = http.get("/openapi/v2", headers={"Accept": "application/json"})
    assert document.status_code == 200
    definitions = document.json()["definitions"]
    assert definitions["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}]
    protobuf = http.get("/openapi/v2", headers={
        "Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
    assert protobuf.status_code == 200
    assert protobuf.headers["content-type"] == \
        "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    assert protobuf.content.startswith(b"\x0a\x032.0")  # field 1 (swagger): "2.0"


def create_pod(http: httpx.Client, namespace: str, name: str) -> None:
    pod = {"metadata": {"name": name, "labels": {"app": name}},
           "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    assert http.post(f"/api/v1/namespaces/{namespace}/pods", json=pod).status_code == 201


def test_get_pods_as_table(http: httpx.Client, namespace: str) -> None:
    create_pod(http, namespace, "tabled")
    response = http.get(f"/api/v1/namespaces/{namespace}/pods",
                        params={"limit": "500"}, headers={"Accept": TABLE_ACCEPT})
    assert response.status_code == 200
    table = response.json()
    assert table["kind"] == "Table"
    assert table["apiVersion"] == "meta.k8s.io/v1"
    columns = [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0]
    assert columns == ["Name", "Ready", "Status", "Restarts", "Age"]
    [row] = table["rows"]
    assert row["cells"][:3] == ["tabled", "0/1", "Pending"]
    metadata = row["object"]["metadata"]
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert metadata["name"] == "tabled"
    assert metadata["namespace"] == namespace
    assert metadata["labels"] == {"app": "tabled"}


def test_protobuf_first_accept_gets_json(http: httpx.Client, namespace: str) -> None:
    create_pod(http, namespace, "typed")
    response = http.get(f"/api/v1/namespaces/{namespace}/pods/typed",
                        headers={"Accept": PROTOBUF_FIRST})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["kind"] == "Pod"


@pytest.mark.parametrize("path", ["/healthz", "/livez", "/readyz"])
def test_health_endpoints(http: httpx.Client, path: str) -> None:
    assert http.get(path).status_code == 200


def test_metrics_count_requests_by_verb_and_resource(http: httpx.Client, namespace: str) -> None:
    http.get(f"/api/v1/namespaces/{namespace}/configmaps")
    http.post(f"/api/v1/namespaces/{namespace}/configmaps", json={"metadata": {"name": "m"}})
    text = http.get("/metrics").text
    samples = [line for line in text.splitlines()
               if line.startswith("apiserver_request_total{")]
    assert any('verb="LIST"' in line and 'resource="configmaps"' in line for line in samples), \
        samples
    assert any('verb="POST"' in line and 'resource="configmaps"' in line for line in samples), \
        samples
