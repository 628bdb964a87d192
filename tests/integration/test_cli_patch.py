"""`tinykube patch`: strategic, merge and JSON patches; no-change detection; bad input."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.integration.cli_helpers import create, tinykube
from tinykube.testing.processes import APIServerProcess


@pytest.fixture
def deployment(http: httpx.Client, namespace: str) -> str:
    create(http, f"/apis/apps/v1/namespaces/{namespace}/deployments", {
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "a", "image": "nginx:1"},
                                                      {"name": "b", "image": "redis:7"}]}}}})
    return f"/apis/apps/v1/namespaces/{namespace}/deployments/web"


def test_strategic_patch_merges_containers_by_name(apiserver: APIServerProcess, http: httpx.Client,
                                                   namespace: str, deployment: str) -> None:
    patch = '{"spec":{"template":{"spec":{"containers":[{"name":"b","image":"redis:8"}]}}}}'
    result = tinykube(apiserver, "-n", namespace, "patch", "deployment", "web", "-p", patch)
    assert (result.returncode, result.stdout) == (0, "deployment.apps/web patched\n"), result.stderr
    containers = http.get(deployment).json()["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("a", "nginx:1"), ("b", "redis:8")]

    again = tinykube(apiserver, "-n", namespace, "patch", "deployment", "web", "-p", patch)
    assert again.stdout == "deployment.apps/web patched (no change)\n"


def test_merge_patch_replaces_lists_and_accepts_yaml(apiserver: APIServerProcess, http: httpx.Client,
                                                     namespace: str, deployment: str) -> None:
    patch = "spec:\n  template:\n    spec:\n      containers:\n      - name: only\n        image: busybox\n"
    result = tinykube(apiserver, "-n", namespace, "patch", "deploy/web", "--type", "merge", "-p", patch)
    assert result.returncode == 0, result.stderr
    containers = http.get(deployment).json()["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["only"]


def test_json_patch_from_file(apiserver: APIServerProcess, http: httpx.Client, namespace: str,
                              deployment: str, tmp_path: Path) -> None:
    patch_file = tmp_path / "patch.json"
    patch_file.write_text('[{"op":"replace","path":"/spec/replicas","value":4}]')
    result = tinykube(apiserver, "-n", namespace, "patch", "deploy", "web", "--type=json",
                      "--patch-file", str(patch_file))
    assert result.returncode == 0, result.stderr
    assert http.get(deployment).json()["spec"]["replicas"] == 4


def test_bad_patches_fail_with_one_line(apiserver: APIServerProcess, namespace: str,
                                        deployment: str) -> None:
    not_a_list = tinykube(apiserver, "-n", namespace, "patch", "deploy", "web", "--type=json",
                          "-p", '{"spec":{}}')
    assert not_a_list.returncode == 1 and not_a_list.stderr.startswith("error:")
    failing_test = tinykube(apiserver, "-n", namespace, "patch", "deploy", "web", "--type=json", "-p",
                            '[{"op":"test","path":"/spec/replicas","value":9}]')
    assert failing_test.returncode == 1
    assert failing_test.stderr.startswith("Error from server (")
    missing = tinykube(apiserver, "-n", namespace, "patch", "deploy", "ghost", "-p", "{}")
    assert missing.stderr.strip() == 'Error from server (NotFound): deployments.apps "ghost" not found'
