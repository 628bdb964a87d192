"""`tinykube scale`: through the scale subresource, with the --current-replicas precondition."""

from __future__ import annotations

import httpx

from tests.integration.cli_helpers import create, tinykube
from tinykube.testing.processes import APIServerProcess


def make_deployment(http: httpx.Client, namespace: str, name: str, replicas: int) -> str:
    create(http, f"/apis/apps/v1/namespaces/{namespace}/deployments", {
        "metadata": {"name": name, "labels": {"group": "g"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    return f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}"


def test_scale_changes_replicas(apiserver: APIServerProcess, http: httpx.Client, namespace: str) -> None:
    path = make_deployment(http, namespace, "web", 1)
    result = tinykube(apiserver, "-n", namespace, "scale", "deployment", "web", "--replicas=3")
    assert (result.returncode, result.stdout) == (0, "deployment.apps/web scaled\n"), result.stderr
    assert http.get(path).json()["spec"]["replicas"] == 3


def test_current_replicas_precondition(apiserver: APIServerProcess, http: httpx.Client,
                                       namespace: str) -> None:
    path = make_deployment(http, namespace, "web", 2)
    wrong = tinykube(apiserver, "-n", namespace, "scale", "deploy/web", "--replicas=5",
                     "--current-replicas=3")
    assert wrong.returncode == 1
    assert wrong.stderr.strip() == "error: Expected replicas to be 3, was 2"
    assert http.get(path).json()["spec"]["replicas"] == 2
    right = tinykube(apiserver, "-n", namespace, "scale", "deploy/web", "--replicas=5",
                     "--current-replicas=2")
    assert right.returncode == 0, right.stderr
    assert http.get(path).json()["spec"]["replicas"] == 5


def test_scale_by_selector_and_unscalable_kind(apiserver: APIServerProcess, http: httpx.Client,
                                               namespace: str) -> None:
    paths = [make_deployment(http, namespace, name, 1) for name in ("a", "b")]
    result = tinykube(apiserver, "-n", namespace, "scale", "deploy", "-l", "group=g", "--replicas=0")
    assert sorted(result.stdout.splitlines()) == ["deployment.apps/a scaled", "deployment.apps/b scaled"]
    assert [http.get(p).json()["spec"]["replicas"] for p in paths] == [0, 0]
    create(http, f"/api/v1/namespaces/{namespace}/configmaps", {"metadata": {"name": "cm"}})
    refused = tinykube(apiserver, "-n", namespace, "scale", "cm/cm", "--replicas=2")
    assert refused.returncode == 1 and "cannot scale configmaps" in refused.stderr
