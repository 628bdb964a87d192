"""The real kubectl drives tinykube over HTTPS with a bearer token.

Each test gets its own namespace (the example manifest's namespace name is
templated) and its own kubectl discovery cache directory, so nothing cached by one
run leaks into the next. Server state is checked with plain HTTP reads.
"""

from __future__ import annotations

import queue
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from tinykube.testing.processes import REPO_ROOT, APIServerProcess

if shutil.which("kubectl") is None:
    pytest.skip("kubectl is not on PATH", allow_module_level=True)

EXAMPLE = REPO_ROOT / "examples" / "web-app.yaml"
EXAMPLE_NAMESPACE = "web-demo"


@dataclass
class Kubectl:
    kubeconfig: Path
    cache_dir: Path

    def argv(self, *args: str) -> list[str]:
        return ["kubectl", "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.cache_dir),
                *args]

    def run(self, *args: str, stdin: str | None = None,
            timeout_seconds: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*args), input=stdin, capture_output=True, text=True,
                              timeout=timeout_seconds)

    def ok(self, *args: str, stdin: str | None = None) -> str:
        result = self.run(*args, stdin=stdin)
        assert result.returncode == 0, f"kubectl {' '.join(args)} failed:\n{result.stderr}"
        return result.stdout


@dataclass
class WebApp:
    namespace: str
    manifest: Path

    @property
    def text(self) -> str:
        return self.manifest.read_text()

    def rewrite(self, old: str, new: str) -> None:
        assert old in self.text, f"{old!r} is not in the manifest"
        self.manifest.write_text(self.text.replace(old, new))


@pytest.fixture
def kubectl(apiserver: APIServerProcess, tmp_path: Path) -> Kubectl:
    return Kubectl(apiserver.kubeconfig, tmp_path / "kube-cache")


@pytest.fixture
def web_app(tmp_path: Path) -> WebApp:
    namespace = f"web-{uuid.uuid4().hex[:8]}"
    manifest = tmp_path / "web-app.yaml"
    manifest.write_text(EXAMPLE.read_text().replace(EXAMPLE_NAMESPACE, namespace))
    return WebApp(namespace, manifest)


@pytest.fixture
def applied(kubectl: Kubectl, web_app: WebApp) -> WebApp:
    kubectl.ok("apply", "-f", str(web_app.manifest))
    return web_app


def deployment_path(namespace: str, name: str = "web") -> str:
    return f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}"


def test_apply_creates_every_object_and_a_second_apply_changes_nothing(
        kubectl: Kubectl, web_app: WebApp, http: httpx.Client) -> None:
    out = kubectl.ok("apply", "-f", str(web_app.manifest))
    assert f"namespace/{web_app.namespace} created" in out
    for line in ("deployment.apps/web created", "service/web created",
                 "configmap/web-config created"):
        assert line in out

    listing = kubectl.ok("get", "deploy,svc,cm", "-n", web_app.namespace)
    assert "READY   UP-TO-DATE   AVAILABLE" in listing
    assert "CLUSTER-IP" in listing
    for name in ("deployment.apps/web", "service/web", "configmap/web-config"):
        assert name in listing

    deployment = yaml.safe_load(kubectl.ok("get", "deploy", "web", "-n", web_app.namespace,
                                           "-o", "yaml"))
    assert deployment["kind"] == "Deployment"
    assert deployment["spec"]["replicas"] == 4
    assert deployment["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "tinykube/echo:1"

    again = kubectl.ok("apply", "-f", str(web_app.manifest))
    for line in (f"namespace/{web_app.namespace} unchanged", "deployment.apps/web unchanged",
                 "service/web unchanged", "configmap/web-config unchanged"):
        assert line in again
    assert http.get(deployment_path(web_app.namespace)).json()["metadata"]["generation"] == 1


def test_apply_of_a_changed_file_updates_and_prunes_removed_fields(
        kubectl: Kubectl, applied: WebApp, http: httpx.Client) -> None:
    applied.rewrite("image: tinykube/echo:1", "image: tinykube/echo:2")
    applied.rewrite("        readinessProbe:\n          httpGet:\n            path: /\n"
                    "            port: http\n          periodSeconds: 2", "")
    applied.rewrite("        - name: POD_NAME\n          valueFrom:\n            fieldRef:\n"
                    "              fieldPath: metadata.name\n", "")

    out = kubectl.ok("apply", "-f", str(applied.manifest))
    assert "deployment.apps/web configured" in out
    assert "configmap/web-config unchanged" in out

    container = http.get(deployment_path(applied.namespace)).json()[
        "spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "tinykube/echo:2"
    assert "readinessProbe" not in container
    assert [env["name"] for env in container["env"]] == ["MESSAGE"]


def test_server_side_apply_creates_and_updates(kubectl: Kubectl, web_app: WebApp,
                                               http: httpx.Client) -> None:
    out = kubectl.ok("apply", "--server-side", "-f", str(web_app.manifest))
    assert "deployment.apps/web serverside-applied" in out
    web_app.rewrite("replicas: 4", "replicas: 6")
    kubectl.ok("apply", "--server-side", "-f", str(web_app.manifest))
    deployment = http.get(deployment_path(web_app.namespace)).json()
    assert deployment["spec"]["replicas"] == 6
    managers = {entry["manager"] for entry in deployment["metadata"]["managedFields"]}
    assert "kubectl" in managers


def read_lines_into(stream: Iterator[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


def wait_for_line(lines: queue.Queue[str], needle: str, timeout_seconds: float) -> str:
    deadline = time.monotonic() + timeout_seconds
    seen: list[str] = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        seen.append(line)
        if needle in line:
            return line
    raise AssertionError(f"no line with {needle!r} within {timeout_seconds}s; saw {seen!r}")


def create_pod(http: httpx.Client, namespace: str, name: str) -> None:
    pod = {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    response = http.post(f"/api/v1/namespaces/{namespace}/pods", json=pod)
    assert response.status_code == 201, response.text


def test_get_pods_watch_prints_a_row_for_a_new_pod(kubectl: Kubectl, namespace: str,
                                                   http: httpx.Client) -> None:
    create_pod(http, namespace, "listed")
    rows: queue.Queue[str] = queue.Queue()
    watcher = subprocess.Popen(kubectl.argv("get", "pods", "-w", "-n", namespace),
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert watcher.stdout is not None
    reader = threading.Thread(target=read_lines_into, args=(watcher.stdout, rows), daemon=True)
    reader.start()
    try:
        # The listed pod's row comes from the initial list; kubectl watches from that list's
        # resourceVersion, so the pod created afterwards can only arrive through the watch.
        assert "NAME" in wait_for_line(rows, "READY", 30)
        wait_for_line(rows, "listed", 30)
        create_pod(http, namespace, "watched")
        row = wait_for_line(rows, "watched", 30)
        assert "Pending" in row
    finally:
        watcher.kill()
        watcher.wait()
        reader.join(timeout=10)
        if watcher.stdout is not None:
            watcher.stdout.close()


def test_delete_f_removes_the_objects_and_leaves_the_namespace_terminating(
        kubectl: Kubectl, applied: WebApp, http: httpx.Client) -> None:
    namespace = applied.namespace
    objects_only = tmp_manifest_without_namespace(applied)
    out = kubectl.ok("delete", "-f", str(objects_only))
    for line in ('deployment.apps "web" deleted', 'service "web" deleted',
                 'configmap "web-config" deleted'):
        assert line in out
    for path in (deployment_path(namespace), f"/api/v1/namespaces/{namespace}/services/web",
                 f"/api/v1/namespaces/{namespace}/configmaps/web-config"):
        assert http.get(path).status_code == 404, path

    kubectl.ok("delete", "namespace", namespace, "--wait=false")
    assert http.get(f"/api/v1/namespaces/{namespace}").json()["status"]["phase"] == "Terminating"


def tmp_manifest_without_namespace(app: WebApp) -> Path:
    documents = [doc for doc in yaml.safe_load_all(app.text) if doc["kind"] != "Namespace"]
    path = app.manifest.with_name("objects.yaml")
    path.write_text(yaml.safe_dump_all(documents))
    return path


def test_scale_sets_the_replicas(kubectl: Kubectl, applied: WebApp, http: httpx.Client) -> None:
    out = kubectl.ok("scale", "deploy", "web", "--replicas=3", "-n", applied.namespace)
    assert "deployment.apps/web scaled" in out
    assert http.get(deployment_path(applied.namespace)).json()["spec"]["replicas"] == 3


def test_explain_and_api_resources(kubectl: Kubectl) -> None:
    explained = kubectl.ok("explain", "deployment.spec.replicas")
    assert "replicas" in explained
    assert "integer" in explained

    resources = kubectl.ok("api-resources").splitlines()
    names = {tuple(line.split()[:2]) for line in resources[1:]}
    assert ("deployments", "deploy") in names
    assert ("pods", "po") in names


def test_label_annotate_and_patch(kubectl: Kubectl, applied: WebApp, http: httpx.Client) -> None:
    ns = applied.namespace
    assert "deployment.apps/web labeled" in kubectl.ok("label", "deploy", "web", "tier=frontend",
                                                       "-n", ns)
    assert "deployment.apps/web annotated" in kubectl.ok("annotate", "deploy", "web",
                                                         "owner=team-a", "-n", ns)
    kubectl.ok("patch", "deploy", "web", "-n", ns, "--type=json",
               "-p", '[{"op":"replace","path":"/spec/replicas","value":5}]')
    kubectl.ok("patch", "deploy", "web", "-n", ns, "--type=merge",
               "-p", '{"spec":{"minReadySeconds":7}}')

    deployment = http.get(deployment_path(ns)).json()
    assert deployment["metadata"]["labels"]["tier"] == "frontend"
    assert deployment["metadata"]["annotations"]["owner"] == "team-a"
    assert deployment["spec"]["replicas"] == 5
    assert deployment["spec"]["minReadySeconds"] == 7


def test_unknown_field_fails_strict_validation_and_writes_nothing(
        kubectl: Kubectl, web_app: WebApp, namespace: str, http: httpx.Client) -> None:
    deployment = next(doc for doc in yaml.safe_load_all(web_app.text) if doc["kind"] == "Deployment")
    deployment["metadata"]["namespace"] = namespace
    deployment["spec"]["replicaz"] = 3
    result = kubectl.run("apply", "-f", "-", stdin=yaml.safe_dump(deployment))
    assert result.returncode != 0
    assert "unknown field" in result.stderr
    assert "replicaz" in result.stderr
    assert http.get(deployment_path(namespace)).status_code == 404


def test_diff_of_an_unchanged_object_with_empty_fields_exits_0(
        kubectl: Kubectl, namespace: str, tmp_path: Path) -> None:
    manifest = tmp_path / "empty-fields.yaml"
    manifest.write_text(f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: empty-fields
  namespace: {namespace}
  labels: {{}}
  annotations: {{}}
data: {{}}
---
apiVersion: v1
kind: Pod
metadata:
  name: empty-fields
  namespace: {namespace}
spec:
  containers:
  - name: c
    image: busybox
    args: []
    env: []
    resources: {{}}
""")
    kubectl.ok("create", "-f", str(manifest))
    result = kubectl.run("diff", "-f", str(manifest))
    assert result.returncode == 0, f"diff found changes:\n{result.stdout}{result.stderr}"


def test_create_of_a_kind_list_validates_each_item_against_openapi_v2(
        kubectl: Kubectl, namespace: str, http: httpx.Client, tmp_path: Path) -> None:
    manifest = tmp_path / "list.yaml"
    items = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
              "data": {"k": name}} for name in ("first", "second")]
    manifest.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    out = kubectl.ok("create", "-n", namespace, "-f", str(manifest))
    assert out.splitlines() == ["configmap/first created", "configmap/second created"]

    items[1]["metadata"]["name"] = "third"
    items[1]["bogus"] = 1  # kubectl's own validation, with the schema read from /openapi/v2
    manifest.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    refused = kubectl.run("create", "-n", namespace, "-f", str(manifest))
    assert refused.returncode == 1
    assert ('ValidationError(ConfigMap): unknown field "bogus" in io.k8s.api.core.v1.ConfigMap'
            in refused.stderr), refused.stderr
    assert http.get(f"/api/v1/namespaces/{namespace}/configmaps/third").status_code == 404
