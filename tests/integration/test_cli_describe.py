"""`tinykube describe` against a real API server: layout, hidden secrets, events, prefixes."""

from __future__ import annotations

import httpx

from tests.integration.cli_helpers import tinykube
from tinykube.testing.processes import APIServerProcess


def create(http: httpx.Client, path: str, body: dict[str, object]) -> dict[str, object]:
    response = http.post(path, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, object] = response.json()
    return result


def pod(name: str, **labels: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels,
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}",
                                         "team": "blue"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                     "ports": [{"containerPort": 80}],
                                     "env": [{"name": "MODE", "value": "fast"}]}]}}


def test_describe_pod_shows_fields_labels_and_its_events(
        apiserver: APIServerProcess, http: httpx.Client, namespace: str) -> None:
    created = create(http, f"/api/v1/namespaces/{namespace}/pods", pod("web-1", app="web"))
    uid = created["metadata"]["uid"]  # type: ignore[index]
    for reason, message, event_uid in (("Scheduled", "assigned to node-a", uid),
                                       ("Stale", "about an older pod of the same name", "other")):
        create(http, f"/api/v1/namespaces/{namespace}/events", {
            "metadata": {"name": f"web-1.{reason.lower()}"},
            "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": namespace,
                               "uid": event_uid},
            "reason": reason, "message": message, "type": "Normal",
            "source": {"component": "default-scheduler"},
            "firstTimestamp": "2024-01-01T00:00:00Z", "lastTimestamp": "2024-01-01T00:00:00Z",
            "count": 1})
    result = tinykube(apiserver, "-n", namespace, "describe", "pod", "web-1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Name:         web-1"
    assert lines[1] == f"Namespace:    {namespace}"
    assert "Labels:       app=web" in lines
    assert "Annotations:  team: blue" in lines  # last-applied is skipped
    assert "last-applied" not in result.stdout
    assert "Status:       Pending" in lines
    assert any(line.startswith("    Image:") and line.split() == ["Image:", "nginx:1.27"] for line in lines)
    assert any(line.split() == ["MODE:", "fast"] for line in lines)
    events_at = lines.index("Events:")
    assert lines[events_at + 1].split() == ["Type", "Reason", "Age", "From", "Message"]
    rows = lines[events_at + 3:]
    assert len(rows) == 1 and rows[0].split()[:2] == ["Normal", "Scheduled"]
    assert rows[0].endswith("default-scheduler  assigned to node-a")


def test_describe_secret_hides_values_and_shows_sizes(
        apiserver: APIServerProcess, http: httpx.Client, namespace: str) -> None:
    create(http, f"/api/v1/namespaces/{namespace}/secrets", {
        "metadata": {"name": "creds"}, "stringData": {"password": "hunter22", "user": "admin"}})
    result = tinykube(apiserver, "-n", namespace, "describe", "secret/creds")
    assert result.returncode == 0, result.stderr
    assert "hunter22" not in result.stdout and "admin" not in result.stdout
    assert "password:  8 bytes" in result.stdout.splitlines()
    assert "user:      5 bytes" in result.stdout.splitlines()
    assert "Type:  Opaque" in result.stdout


def test_describe_deployment_service_configmap_and_prefix_match(
        apiserver: APIServerProcess, http: httpx.Client, namespace: str) -> None:
    template = {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}
    create(http, f"/apis/apps/v1/namespaces/{namespace}/deployments", {
        "metadata": {"name": "web"}, "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                                               "template": template}})
    create(http, f"/api/v1/namespaces/{namespace}/services", {
        "metadata": {"name": "web"}, "spec": {"selector": {"app": "web"},
                                               "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
    create(http, f"/api/v1/namespaces/{namespace}/configmaps", {
        "metadata": {"name": "settings"}, "data": {"color": "green"}})
    for name in ("api-1", "api-2", "other"):
        create(http, f"/api/v1/namespaces/{namespace}/pods", pod(name))

    deploy = tinykube(apiserver, "-n", namespace, "describe", "deploy", "web")
    assert deploy.returncode == 0, deploy.stderr
    assert "Replicas:               3 desired | 0 updated | 0 total | 0 available | 0 unavailable" \
        in deploy.stdout.splitlines()
    assert "Selector:               app=web" in deploy.stdout.splitlines()
    assert "Pod Template:" in deploy.stdout and "Events:            <none>" in deploy.stdout.splitlines()

    svc = tinykube(apiserver, "-n", namespace, "describe", "svc/web")
    assert svc.returncode == 0, svc.stderr
    assert any(line.split() == ["Port:", "http", "80/TCP"] for line in svc.stdout.splitlines())
    assert any(line.split() == ["TargetPort:", "8080/TCP"] for line in svc.stdout.splitlines())

    cm = tinykube(apiserver, "-n", namespace, "describe", "configmap", "settings")
    assert "color:\n----\ngreen\n" in cm.stdout

    prefixed = tinykube(apiserver, "-n", namespace, "describe", "pods", "api")
    assert prefixed.returncode == 0, prefixed.stderr
    names = [line.split()[1] for line in prefixed.stdout.splitlines() if line.startswith("Name:")]
    assert names == ["api-1", "api-2"]


def test_describe_missing_object_is_a_server_error(apiserver: APIServerProcess, namespace: str) -> None:
    result = tinykube(apiserver, "-n", namespace, "describe", "deploy", "ghost")
    assert result.returncode == 1
    assert result.stderr.strip() == 'Error from server (NotFound): deployments.apps "ghost" not found'


def test_describe_pod_shows_probes_with_kubernetes_defaults(
        apiserver: APIServerProcess, http: httpx.Client, namespace: str) -> None:
    body = pod("probed")
    container = body["spec"]["containers"][0]  # type: ignore[index]
    container["ports"] = [{"name": "http", "containerPort": 80}]
    container["livenessProbe"] = {"httpGet": {"port": "http"}}
    container["readinessProbe"] = {"tcpSocket": {"port": 80}, "periodSeconds": 2}
    created = create(http, f"/api/v1/namespaces/{namespace}/pods", body)
    stored = created["spec"]["containers"][0]  # type: ignore[index]
    assert stored["livenessProbe"] == {  # SetDefaults_Probe, SetDefaults_HTTPGetAction
        "httpGet": {"port": "http", "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
        "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
    result = tinykube(apiserver, "-n", namespace, "describe", "pod", "probed")
    assert result.returncode == 0, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert ("Liveness:   http-get http://:http/ delay=0s timeout=1s period=10s #success=1 "
            "#failure=3") in lines
    assert ("Readiness:  tcp-socket :80 delay=0s timeout=1s period=2s #success=1 "
            "#failure=3") in lines
