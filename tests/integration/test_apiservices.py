"""APIServices: one Local APIService per served group version, kept by the API server;
aggregated (Service-backed) ones are refused, since tinykube serves none."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tinykube.testing.processes import APIServerProcess, wait_until

BASE = "/apis/apiregistration.k8s.io/v1/apiservices"


def names(http: httpx.Client) -> set[str]:
    response = http.get(BASE)
    assert response.status_code == 200, response.text
    return {item["metadata"]["name"] for item in response.json()["items"]}


def test_every_served_group_version_has_a_local_available_api_service(http: httpx.Client) -> None:
    found = names(http)
    assert {"v1.apps", "v2.autoscaling", "v1.autoscaling", "v1.batch", "v1beta1.metrics.k8s.io",
            "v1.discovery.k8s.io", "v1.events.k8s.io", "v1alpha1.flow.tinykube.io"} <= found
    apps = http.get(f"{BASE}/v1.apps").json()
    assert apps["spec"]["group"] == "apps" and "service" not in apps["spec"]
    assert apps["metadata"]["labels"] == {"kube-aggregator.kubernetes.io/automanaged": "onstart"}
    [available] = apps["status"]["conditions"]
    assert (available["type"], available["status"], available["reason"]) == ("Available", "True", "Local")


def test_an_aggregated_api_service_is_refused_and_nothing_is_stored(http: httpx.Client) -> None:
    body = {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": {"name": "v1alpha1.example.com"},
            "spec": {"group": "example.com", "version": "v1alpha1", "groupPriorityMinimum": 1000,
                     "versionPriority": 15, "service": {"namespace": "default", "name": "example"}}}
    response = http.post(BASE, json=body)
    assert response.status_code == 422, response.text
    status = response.json()
    assert status["reason"] == "Invalid"
    assert status["details"]["causes"][0]["field"] == "spec.service"
    assert "tinykube serves no aggregated APIs" in status["message"]
    assert http.get(f"{BASE}/v1alpha1.example.com").status_code == 404


def test_a_deleted_api_service_comes_back(http: httpx.Client) -> None:
    assert http.delete(f"{BASE}/v1.batch").status_code == 200
    wait_until(lambda: "v1.batch" in names(http), 30, "v1.batch registered again")


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH")
def test_kubectl_lists_them_with_service_and_availability(apiserver: APIServerProcess, tmp_path: Path) -> None:
    result = subprocess.run(["kubectl", "--kubeconfig", str(apiserver.kubeconfig), "--cache-dir", str(tmp_path),
                             "get", "apiservices"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[1:3] for line in result.stdout.splitlines()[1:]}
    assert rows["v1.apps"] == ["Local", "True"] and rows["v1beta1.metrics.k8s.io"] == ["Local", "True"]
