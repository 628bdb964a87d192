"""`tinykube edit`: $EDITOR is a script the test writes, which rewrites the YAML file."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
import pytest

from tests.integration.cli_helpers import create, tinykube
from tinykube.testing.processes import APIServerProcess


def editor(tmp_path: Path, body: str) -> dict[str, str]:
    """An environment whose EDITOR runs `body` (Python, with `path` and `text`) on the file;
    each run is numbered in `calls` and the file it saw is kept as seen-<n>.yaml."""
    script = tmp_path / "editor.py"
    script.write_text(
        "import sys, pathlib\n"
        f"log = pathlib.Path({str(tmp_path)!r})\n"
        "calls = len(list(log.glob('seen-*.yaml'))) + 1\n"
        "path = pathlib.Path(sys.argv[1])\n"
        "text = path.read_text()\n"
        "(log / f'seen-{calls}.yaml').write_text(text)\n" + body)
    return {**os.environ, "EDITOR": f"{sys.executable} {script}"}


@pytest.fixture
def config_map(http: httpx.Client, namespace: str) -> str:
    create(http, f"/api/v1/namespaces/{namespace}/configmaps",
           {"metadata": {"name": "settings"}, "data": {"color": "green", "size": "small"}})
    return f"/api/v1/namespaces/{namespace}/configmaps/settings"


def test_edit_applies_the_change(apiserver: APIServerProcess, http: httpx.Client, namespace: str,
                                 config_map: str, tmp_path: Path) -> None:
    env = editor(tmp_path, "path.write_text(text.replace('green', 'blue').replace('  size: small\\n', ''))\n")
    result = tinykube(apiserver, "-n", namespace, "edit", "configmap", "settings", env=env)
    assert (result.returncode, result.stdout) == (0, "configmap/settings edited\n"), result.stderr
    assert http.get(config_map).json()["data"] == {"color": "blue"}
    seen = (tmp_path / "seen-1.yaml").read_text()
    assert seen.startswith("# Please edit the object below.")
    assert "kind: ConfigMap" in seen and "color: green" in seen


def test_edit_unchanged_is_cancelled(apiserver: APIServerProcess, http: httpx.Client, namespace: str,
                                     config_map: str, tmp_path: Path) -> None:
    before = http.get(config_map).json()["metadata"]["resourceVersion"]
    result = tinykube(apiserver, "-n", namespace, "edit", "cm/settings", env=editor(tmp_path, ""))
    assert (result.returncode, result.stdout) == (0, "Edit cancelled, no changes made.\n")
    assert http.get(config_map).json()["metadata"]["resourceVersion"] == before


def test_edit_reopens_with_the_error_then_saves_the_fix(
        apiserver: APIServerProcess, http: httpx.Client, namespace: str, tmp_path: Path) -> None:
    create(http, f"/apis/apps/v1/namespaces/{namespace}/deployments", {
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    body = ("if calls == 1:\n"
            "    path.write_text(text.replace('replicas: 1', 'replicas: -1'))\n"
            "else:\n"
            "    path.write_text(text.replace('replicas: -1', 'replicas: 4'))\n")
    result = tinykube(apiserver, "-n", namespace, "edit", "deploy/web", env=editor(tmp_path, body))
    assert (result.returncode, result.stdout) == (0, "deployment.apps/web edited\n"), result.stderr
    reopened = (tmp_path / "seen-2.yaml").read_text()
    assert '# deployments.apps "web" was not valid:' in reopened
    assert "replicas: -1" in reopened
    assert http.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/web").json()[
        "spec"]["replicas"] == 4


def test_edit_gives_up_when_the_error_is_not_fixed(
        apiserver: APIServerProcess, http: httpx.Client, namespace: str, config_map: str,
        tmp_path: Path) -> None:
    body = "path.write_text(text.replace('name: settings', 'name: renamed'))\n"
    renamed = tinykube(apiserver, "-n", namespace, "edit", "cm/settings", env=editor(tmp_path, body))
    assert renamed.returncode == 1
    assert renamed.stderr.strip() == "error: At least one of apiVersion, kind and name was changed"
