"""`tinykube apply`: created / configured / unchanged, removed fields really removed,
partial failure of a multi-document file, and the same protocol as kubectl."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.cli_helpers import tinykube
from tinykube.testing.processes import APIServerProcess

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: front}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: main
        image: nginx:1.25
        env: [{name: A, value: "1"}, {name: B, value: "2"}]
        ports: [{containerPort: 80}]
      - name: sidecar
        image: busybox
"""


def deployment(http: httpx.Client, namespace: str, name: str = "web") -> dict[str, Any]:
    response = http.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_apply_created_configured_unchanged_and_removed_fields(
        apiserver: APIServerProcess, http: httpx.Client, namespace: str, tmp_path: Path) -> None:
    manifest = tmp_path / "web.yaml"
    manifest.write_text(DEPLOYMENT)
    created = tinykube(apiserver, "-n", namespace, "apply", "-f", str(manifest))
    assert (created.returncode, created.stdout) == (0, "deployment.apps/web created\n"), created.stderr
    again = tinykube(apiserver, "-n", namespace, "apply", "-f", str(manifest))
    assert (again.returncode, again.stdout) == (0, "deployment.apps/web unchanged\n"), again.stderr

    # Drop a label, the replicas field, env var A, the ports, and the sidecar container.
    manifest.write_text(DEPLOYMENT.replace(", tier: front", "").replace("  replicas: 2\n", "")
                        .replace('{name: A, value: "1"}, ', "").replace(
                            "        ports: [{containerPort: 80}]\n", "")
                        .replace("      - name: sidecar\n        image: busybox\n", "")
                        .replace("nginx:1.25", "nginx:1.26"))
    configured = tinykube(apiserver, "-n", namespace, "apply", "-f", str(manifest))
    assert (configured.returncode, configured.stdout) == (0, "deployment.apps/web configured\n"), \
        configured.stderr
    live = deployment(http, namespace)
    assert live["metadata"]["labels"] == {"app": "web"}
    assert live["spec"]["replicas"] == 1  # the server default, since the field left the file
    containers = live["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["main"]
    assert containers[0]["image"] == "nginx:1.26"
    assert containers[0]["env"] == [{"name": "B", "value": "2"}]
    assert "ports" not in containers[0]
    final = tinykube(apiserver, "-n", namespace, "apply", "-f", str(manifest))
    assert final.stdout == "deployment.apps/web unchanged\n", final.stderr


def test_apply_keeps_fields_set_by_other_writers(
        apiserver: APIServerProcess, http: httpx.Client, namespace: str, tmp_path: Path) -> None:
    manifest = tmp_path / "web.yaml"
    manifest.write_text(DEPLOYMENT)
    assert tinykube(apiserver, "-n", namespace, "apply", "-f", str(manifest)).returncode == 0
    patched = http.patch(f"/apis/apps/v1/namespaces/{namespace}/deployments/web",
                         json={"metadata": {"labels": {"owner": "someone-else"}}},
                         headers={"Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 200, patched.text
    manifest.write_text(DEPLOYMENT.replace("replicas: 2", "replicas: 3"))
    result = tinykube(apiserver, "-n", namespace, "apply", "-f", str(manifest))
    assert result.stdout == "deployment.apps/web configured\n", result.stderr
    live = deployment(http, namespace)
    assert live["spec"]["replicas"] == 3
    assert live["metadata"]["labels"]["owner"] == "someone-else"


def test_apply_directory_stdin_dry_run_and_selector(
        apiserver: APIServerProcess, http: httpx.Client, namespace: str, tmp_path: Path) -> None:
    nested = tmp_path / "manifests" / "more"
    nested.mkdir(parents=True)
    (tmp_path / "manifests" / "a.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: {pick: 'yes'}}\ndata: {k: v}\n")
    (nested / "b.json").write_text(
        '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}, "data": {"k": "v"}}')
    dry = tinykube(apiserver, "-n", namespace, "apply", "-R", "-f", str(tmp_path / "manifests"),
                   "--dry-run=server")
    assert dry.stdout.splitlines() == ["configmap/a created (server dry run)",
                                       "configmap/b created (server dry run)"], dry.stderr
    assert http.get(f"/api/v1/namespaces/{namespace}/configmaps/a").status_code == 404
    flat = tinykube(apiserver, "-n", namespace, "apply", "-f", str(tmp_path / "manifests"))
    assert flat.stdout == "configmap/a created\n", flat.stderr  # no -R: the subdirectory is skipped
    selected = tinykube(apiserver, "-n", namespace, "apply", "-R", "-l", "pick=yes", "-f",
                        str(tmp_path / "manifests"))
    assert selected.stdout == "configmap/a unchanged\n", selected.stderr
    piped = tinykube(apiserver, "-n", namespace, "apply", "-f", "-",
                     stdin=(nested / "b.json").read_text())
    assert piped.stdout == "configmap/b created\n", piped.stderr


def test_multi_document_apply_reports_the_invalid_document_and_applies_the_rest(
        apiserver: APIServerProcess, http: httpx.Client, namespace: str, tmp_path: Path) -> None:
    manifest = tmp_path / "mixed.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: broken}\nspec: {containers: []}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: last}\n")
    result = tinykube(apiserver, "-n", namespace, "apply", "-f", str(manifest))
    assert result.returncode == 1
    assert result.stdout.splitlines() == ["configmap/first created", "configmap/last created"]
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith(
        f'Error from server (Invalid): error when creating "{manifest}": '), result.stderr
    assert http.get(f"/api/v1/namespaces/{namespace}/pods/broken").status_code == 404


def test_server_side_apply(apiserver: APIServerProcess, http: httpx.Client, namespace: str,
                           tmp_path: Path) -> None:
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {k: v}\n")
    result = tinykube(apiserver, "-n", namespace, "apply", "--server-side", "-f", str(manifest))
    assert result.stdout == "configmap/ssa serverside-applied\n", result.stderr
    assert http.get(f"/api/v1/namespaces/{namespace}/configmaps/ssa").json()["data"] == {"k": "v"}


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_tinykube_and_kubectl_speak_the_same_apply_protocol(
        apiserver: APIServerProcess, namespace: str, tmp_path: Path) -> None:
    def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["kubectl", "--kubeconfig", str(apiserver.kubeconfig), "--cache-dir",
                               str(tmp_path / "kube-cache"), "-n", namespace, *args],
                              capture_output=True, text=True, timeout=60)

    first = tmp_path / "first.yaml"
    first.write_text(DEPLOYMENT)
    assert tinykube(apiserver, "-n", namespace, "apply", "-f", str(first)).returncode == 0
    by_kubectl = kubectl("apply", "-f", str(first))
    assert (by_kubectl.returncode, by_kubectl.stdout) == (0, "deployment.apps/web unchanged\n"), \
        by_kubectl.stderr

    # Now kubectl goes first, with a change; tinykube must see nothing left to do.
    second = tmp_path / "second.yaml"
    second.write_text(DEPLOYMENT.replace("replicas: 2", "replicas: 4").replace(", tier: front", ""))
    changed = kubectl("apply", "-f", str(second))
    assert changed.stdout == "deployment.apps/web configured\n", changed.stderr
    by_tinykube = tinykube(apiserver, "-n", namespace, "apply", "-f", str(second))
    assert (by_tinykube.returncode, by_tinykube.stdout) == (0, "deployment.apps/web unchanged\n"), \
        by_tinykube.stderr
    # And a change made by tinykube is one kubectl agrees with.
    third = tmp_path / "third.yaml"
    third.write_text(DEPLOYMENT.replace("nginx:1.25", "nginx:1.27"))
    assert tinykube(apiserver, "-n", namespace, "apply", "-f", str(third)).stdout == \
        "deployment.apps/web configured\n"
    assert kubectl("apply", "-f", str(third)).stdout == "deployment.apps/web unchanged\n"


def test_apply_prints_the_servers_warning(apiserver: APIServerProcess, namespace: str, tmp_path: Path) -> None:
    """A Warning header from the server (here: a finalizer without a domain) is printed
    on stderr as kubectl prints it, and the object is still written."""
    manifest = tmp_path / "tidy.yaml"
    manifest.write_text(f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: tidy
  namespace: {namespace}
  finalizers: [tidy-up, example.com/cleanup]
""")
    result = tinykube(apiserver, "apply", "-f", str(manifest))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "configmap/tidy created\n"
    assert result.stderr == ('Warning: metadata.finalizers: "tidy-up": prefer a domain-qualified finalizer '
                             "name to avoid accidental conflicts with other finalizer writers\n")
    again = tinykube(apiserver, "apply", "-f", str(manifest))
    assert again.returncode == 0 and again.stderr == "", again.stderr  # warned when added only
    cleared = tinykube(apiserver, "-n", namespace, "patch", "configmap", "tidy", "--type=merge",
                       "-p", '{"metadata": {"finalizers": null}}')
    assert cleared.returncode == 0, cleared.stderr  # so the namespace can go
