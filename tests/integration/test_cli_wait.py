"""`tinykube wait`: conditions, jsonpath and deletion, observed through list+watch."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx

from tests.integration.cli_helpers import create, tinykube
from tinykube.testing.processes import APIServerProcess


def start_wait(apiserver: APIServerProcess, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tinykube.cli", "--kubeconfig",
                             str(apiserver.kubeconfig), "wait", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def make_pod(http: httpx.Client, namespace: str, name: str, **labels: str) -> str:
    create(http, f"/api/v1/namespaces/{namespace}/pods", {
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    return f"/api/v1/namespaces/{namespace}/pods/{name}"


def set_status(http: httpx.Client, path: str, phase: str, ready: str) -> None:
    pod = http.get(path).json()
    pod["status"] = {"phase": phase, "conditions": [{"type": "Ready", "status": ready}]}
    response = http.put(f"{path}/status", json=pod)
    assert response.status_code == 200, response.text


def test_wait_for_condition_met_after_a_change(apiserver: APIServerProcess, http: httpx.Client,
                                               namespace: str) -> None:
    path = make_pod(http, namespace, "p")
    make_pod(http, namespace, "p-other")  # must not satisfy a wait on "p"
    set_status(http, f"{path}-other", "Running", "True")
    waiter = start_wait(apiserver, "-n", namespace, "--for=condition=Ready", "pod/p", "--timeout=60s")
    set_status(http, path, "Running", "True")
    out, err = waiter.communicate(timeout=60)
    assert (waiter.returncode, out) == (0, "pod/p condition met\n"), err


def test_wait_for_false_condition_and_jsonpath(apiserver: APIServerProcess, http: httpx.Client,
                                               namespace: str) -> None:
    path = make_pod(http, namespace, "p")
    set_status(http, path, "Running", "False")
    not_ready = tinykube(apiserver, "-n", namespace, "wait", "--for=condition=Ready=false", "pod/p")
    assert not_ready.stdout == "pod/p condition met\n", not_ready.stderr
    phase = tinykube(apiserver, "-n", namespace, "wait", "--for=jsonpath={.status.phase}=Running",
                     "pods", "p")
    assert phase.stdout == "pod/p condition met\n", phase.stderr


def test_wait_times_out_with_an_error(apiserver: APIServerProcess, http: httpx.Client,
                                      namespace: str) -> None:
    make_pod(http, namespace, "p")
    result = tinykube(apiserver, "-n", namespace, "wait", "--for=condition=Ready", "pod/p",
                      "--timeout=1s")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: timed out waiting for the condition on pods/p"


def pod_watches(http: httpx.Client) -> int:
    """How many pod watches the server has answered (its request metrics)."""
    for line in http.get("/metrics").text.splitlines():
        if line.startswith('apiserver_request_total{verb="WATCH",resource="pods",code="200"}'):
            return int(float(line.split()[-1]))
    return 0


def test_wait_for_delete_by_selector(apiserver: APIServerProcess, http: httpx.Client,
                                     namespace: str) -> None:
    paths = [make_pod(http, namespace, name, app="gone") for name in ("a", "b")]
    watches = pod_watches(http)
    waiter = start_wait(apiserver, "-n", namespace, "--for=delete", "pods", "-l", "app=gone",
                        "--timeout=60s")
    # The waiter lists the pods before it watches the first; delete them only then.
    deadline = time.monotonic() + 30
    while pod_watches(http) == watches:
        assert waiter.poll() is None, waiter.communicate()
        assert time.monotonic() < deadline, "the waiter never started watching"
    for path in paths:
        response = http.request("DELETE", path, json={"gracePeriodSeconds": 0})
        assert response.status_code == 200, response.text
    out, err = waiter.communicate(timeout=60)
    assert waiter.returncode == 0, err
    assert sorted(out.splitlines()) == ["pod/a condition met", "pod/b condition met"]


def test_wait_on_missing_object(apiserver: APIServerProcess, namespace: str) -> None:
    deleted = tinykube(apiserver, "-n", namespace, "wait", "--for=delete", "pod/ghost")
    assert deleted.returncode == 0, deleted.stderr
    ready = tinykube(apiserver, "-n", namespace, "wait", "--for=condition=Ready", "pod/ghost")
    assert ready.returncode == 1
    assert ready.stderr.strip() == 'Error from server (NotFound): pods "ghost" not found'
    nothing = tinykube(apiserver, "-n", namespace, "wait", "--for=delete", "pods", "--all")
    assert nothing.returncode == 1 and "no matching resources found" in nothing.stderr
