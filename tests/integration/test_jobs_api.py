"""batch/v1 over the wire: discovery, defaults, the generated selector, Kubernetes'
validation messages, and kubectl's `api-resources`, `create job` and `get jobs`.

Only the API server runs here (no controllers); tests/integration/test_jobs.py runs
Jobs to completion on hollow nodes.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tinykube.testing.processes import APIServerProcess

KUBECTL = shutil.which("kubectl")


def kubectl(apiserver: APIServerProcess, cache_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KUBECTL or "kubectl", "--kubeconfig", str(apiserver.kubeconfig),
         "--cache-dir", str(cache_dir), *args],
        capture_output=True, text=True, timeout=60)


def job(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                {"name": "main", "image": "busybox:1", "command": ["true"]}]}}, **spec}}


def jobs_path(namespace: str) -> str:
    return f"/apis/batch/v1/namespaces/{namespace}/jobs"


def test_job_defaults_and_generated_selector(http: httpx.Client, namespace: str) -> None:
    response = http.post(jobs_path(namespace), json=job("pi"))
    assert response.status_code == 201, response.text
    created = response.json()
    uid = created["metadata"]["uid"]
    spec = created["spec"]
    assert (spec["parallelism"], spec["completions"], spec["backoffLimit"]) == (1, 1, 6)
    assert (spec["completionMode"], spec["suspend"], spec["manualSelector"]) == \
        ("NonIndexed", False, False)
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    labels = spec["template"]["metadata"]["labels"]
    assert labels == {"batch.kubernetes.io/controller-uid": uid, "controller-uid": uid,
                      "batch.kubernetes.io/job-name": "pi", "job-name": "pi"}
    assert created["metadata"]["labels"] == labels


@pytest.mark.parametrize(("spec", "field", "message"), [
    ({"completions": -1}, "spec.completions",
     "spec.completions: Invalid value: -1: must be greater than or equal to 0"),
    ({"parallelism": -2}, "spec.parallelism",
     "spec.parallelism: Invalid value: -2: must be greater than or equal to 0"),
    ({"backoffLimit": -1}, "spec.backoffLimit",
     "spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0"),
    ({"completionMode": "Indexed", "parallelism": 2}, "spec.completions",
     "spec.completions: Required value: when completion mode is Indexed"),
])
def test_job_validation_messages(http: httpx.Client, namespace: str, spec: dict[str, Any],
                                 field: str, message: str) -> None:
    response = http.post(jobs_path(namespace), json=job("bad", **spec))
    assert response.status_code == 422, response.text
    status = response.json()
    assert status["reason"] == "Invalid"
    assert message in status["message"]
    assert field in [cause["field"] for cause in status["details"]["causes"]]


def test_job_restart_policy_always_is_refused(http: httpx.Client, namespace: str) -> None:
    body = job("always")
    del body["spec"]["template"]["spec"]["restartPolicy"]
    response = http.post(jobs_path(namespace), json=body)
    assert response.status_code == 422
    assert ('spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: '
            '"OnFailure", "Never"') in response.json()["message"]


def test_job_template_is_immutable(http: httpx.Client, namespace: str) -> None:
    created = http.post(jobs_path(namespace), json=job("frozen")).json()
    created["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:2"
    response = http.put(f"{jobs_path(namespace)}/frozen", json=created)
    assert response.status_code == 422
    assert "spec.template: Invalid value" in response.json()["message"]
    assert "field is immutable" in response.json()["message"]


def test_cron_job_defaults_and_job_template_validation(http: httpx.Client, namespace: str) -> None:
    path = f"/apis/batch/v1/namespaces/{namespace}/cronjobs"
    template = {"spec": job("x")["spec"]}
    response = http.post(path, json={"apiVersion": "batch/v1", "kind": "CronJob",
                                     "metadata": {"name": "tick"},
                                     "spec": {"schedule": "*/5 * * * *", "jobTemplate": template}})
    assert response.status_code == 201, response.text
    spec = response.json()["spec"]
    assert (spec["concurrencyPolicy"], spec["suspend"], spec["successfulJobsHistoryLimit"],
            spec["failedJobsHistoryLimit"]) == ("Allow", False, 3, 1)
    assert spec["jobTemplate"]["spec"]["backoffLimit"] == 6
    bad = {"spec": {**job("x")["spec"], "completions": -1}}
    response = http.post(path, json={"apiVersion": "batch/v1", "kind": "CronJob",
                                     "metadata": {"name": "bad"},
                                     "spec": {"schedule": "@hourly", "jobTemplate": bad}})
    assert response.status_code == 422
    assert ("spec.jobTemplate.spec.completions: Invalid value: -1: must be greater than or "
            "equal to 0") in response.json()["message"]


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed on this machine")
def test_kubectl_api_resources_create_and_get_jobs(apiserver: APIServerProcess, http: httpx.Client,
                                                   namespace: str, tmp_path: Path) -> None:
    cache = tmp_path / "kube-cache"
    resources = kubectl(apiserver, cache, "api-resources", "--api-group=batch")
    assert resources.returncode == 0, resources.stderr
    rows = [line.split() for line in resources.stdout.splitlines()[1:]]
    assert ["cronjobs", "cj", "batch/v1", "true", "CronJob"] in rows
    assert ["jobs", "batch/v1", "true", "Job"] in rows

    created = kubectl(apiserver, cache, "create", "job", "hello", "--image=busybox:1", "-n",
                      namespace, "--", "echo", "hi")
    assert created.returncode == 0, created.stderr
    assert "job.batch/hello created" in created.stdout
    stored = http.get(f"{jobs_path(namespace)}/hello").json()
    container = stored["spec"]["template"]["spec"]["containers"][0]
    assert (container["image"], container["command"]) == ("busybox:1", ["echo", "hi"])
    assert stored["spec"]["template"]["spec"]["restartPolicy"] == "Never"

    listing = kubectl(apiserver, cache, "get", "jobs", "-n", namespace)
    assert listing.returncode == 0, listing.stderr
    header, *lines = listing.stdout.splitlines()
    assert header.split() == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert lines[0].split()[:3] == ["hello", "Running", "0/1"]
    wide = kubectl(apiserver, cache, "get", "jobs", "-n", namespace, "-o", "wide").stdout
    assert wide.splitlines()[0].split()[5:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
