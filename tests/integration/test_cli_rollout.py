"""`tinykube rollout` against a real API server.

History and undo run on ReplicaSets built by hand (controller ownerReferences and
revision annotations, as the Deployment controller writes them); status runs on
hand-written status fields. The last test runs a real rollout with the
controller manager, when it can start.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.cli_helpers import tinykube
from tinykube.testing.processes import APIServerProcess


def template(image: str, pod_hash: str | None = None) -> dict[str, Any]:
    labels = {"app": "web", **({"pod-template-hash": pod_hash} if pod_hash else {})}
    return {"metadata": {"labels": labels},
            "spec": {"containers": [{"name": "web", "image": image}]}}


@pytest.fixture
def deployment(http: httpx.Client, namespace: str) -> dict[str, Any]:
    """Deployment `web` at revision 3 (nginx:3) with ReplicaSets for revisions 1-3."""
    response = http.post(f"/apis/apps/v1/namespaces/{namespace}/deployments", json={
        "metadata": {"name": "web", "annotations": {"deployment.kubernetes.io/revision": "3",
                                                      "team": "blue"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": template("nginx:3")}})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    owner = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
             "uid": created["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
    for revision in (1, 2, 3):
        annotations = {"deployment.kubernetes.io/revision": str(revision)}
        if revision == 2:
            annotations["kubernetes.io/change-cause"] = "upgrade to nginx:2"
        response = http.post(f"/apis/apps/v1/namespaces/{namespace}/replicasets", json={
            "metadata": {"name": f"web-h{revision}", "labels": {"app": "web",
                                                                 "pod-template-hash": f"h{revision}"},
                         "annotations": annotations, "ownerReferences": [owner]},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web",
                                                                 "pod-template-hash": f"h{revision}"}},
                     "template": template(f"nginx:{revision}", f"h{revision}")}})
        assert response.status_code == 201, response.text
    # A ReplicaSet with the same labels that another owner controls is not history.
    response = http.post(f"/apis/apps/v1/namespaces/{namespace}/replicasets", json={
        "metadata": {"name": "stranger", "labels": {"app": "web"},
                     "annotations": {"deployment.kubernetes.io/revision": "9"}},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}},
                 "template": template("evil:9")}})
    assert response.status_code == 201, response.text
    return created


def deployment_path(namespace: str) -> str:
    return f"/apis/apps/v1/namespaces/{namespace}/deployments/web"


def test_history_lists_owned_revisions(apiserver: APIServerProcess, namespace: str,
                                       deployment: dict[str, Any]) -> None:
    result = tinykube(apiserver, "-n", namespace, "rollout", "history", "deployment/web")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("deployment.apps/web \n"
                             "REVISION  CHANGE-CAUSE\n"
                             "1         <none>\n"
                             "2         upgrade to nginx:2\n"
                             "3         <none>\n\n")
    # The namespace flag after the subcommand, as kubectl takes it.
    after = tinykube(apiserver, "rollout", "history", "deployment/web", "-n", namespace)
    assert (after.returncode, after.stdout) == (0, result.stdout), after.stderr
    one = tinykube(apiserver, "-n", namespace, "rollout", "history", "deploy/web", "--revision=1")
    assert one.stdout.startswith("deployment.apps/web with revision #1\nPod Template:\n")
    assert "nginx:1" in one.stdout and "pod-template-hash" not in one.stdout


def test_undo_restores_previous_template_and_annotations(
        apiserver: APIServerProcess, http: httpx.Client, namespace: str,
        deployment: dict[str, Any]) -> None:
    result = tinykube(apiserver, "-n", namespace, "rollout", "undo", "deploy/web")
    assert (result.returncode, result.stdout) == (0, "deployment.apps/web rolled back\n"), result.stderr
    live = http.get(deployment_path(namespace)).json()
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"
    assert live["spec"]["template"]["metadata"]["labels"] == {"app": "web"}
    # The Deployment keeps its own revision; the ReplicaSet's other annotations come along,
    # and the Deployment's unrelated ones are replaced, as kubectl's JSON patch does.
    assert live["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "3",
                                               "kubernetes.io/change-cause": "upgrade to nginx:2"}

    again = tinykube(apiserver, "-n", namespace, "rollout", "undo", "deploy/web", "--to-revision=2")
    assert again.stdout == ("deployment.apps/web skipped rollback (current template already "
                            "matches revision 2)\n")
    missing = tinykube(apiserver, "-n", namespace, "rollout", "undo", "deploy/web", "--to-revision=7")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: unable to find specified revision 7 in history"


def test_pause_resume_and_restart(apiserver: APIServerProcess, http: httpx.Client, namespace: str,
                                  deployment: dict[str, Any]) -> None:
    paused = tinykube(apiserver, "-n", namespace, "rollout", "pause", "deploy/web")
    assert paused.stdout == "deployment.apps/web paused\n", paused.stderr
    assert http.get(deployment_path(namespace)).json()["spec"]["paused"] is True
    twice = tinykube(apiserver, "-n", namespace, "rollout", "pause", "deploy/web")
    assert twice.stderr.strip() == 'error: deployments.apps "web" is already paused'
    undo = tinykube(apiserver, "-n", namespace, "rollout", "undo", "deploy/web")
    assert undo.returncode == 1 and "cannot rollback a paused deployment" in undo.stderr
    resumed = tinykube(apiserver, "-n", namespace, "rollout", "resume", "deploy/web")
    assert resumed.stdout == "deployment.apps/web resumed\n"
    assert not http.get(deployment_path(namespace)).json()["spec"].get("paused")

    restarted = tinykube(apiserver, "-n", namespace, "rollout", "restart", "deploy/web")
    assert restarted.stdout == "deployment.apps/web restarted\n", restarted.stderr
    annotations = http.get(deployment_path(namespace)).json()["spec"]["template"]["metadata"][
        "annotations"]
    stamp = annotations["kubectl.kubernetes.io/restartedAt"]
    assert time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S") and stamp[19] in "+-Z"


def set_status(http: httpx.Client, namespace: str, **status: Any) -> None:
    live = http.get(deployment_path(namespace)).json()
    live["status"] = status
    response = http.put(f"{deployment_path(namespace)}/status", json=live)
    assert response.status_code == 200, response.text


def test_status_reports_progress_and_success(apiserver: APIServerProcess, http: httpx.Client,
                                             namespace: str, deployment: dict[str, Any]) -> None:
    generation = deployment["metadata"]["generation"]
    set_status(http, namespace, observedGeneration=generation, replicas=2, updatedReplicas=2,
               availableReplicas=1)
    once = tinykube(apiserver, "-n", namespace, "rollout", "status", "deploy/web", "--watch=false")
    assert once.stdout == ('Waiting for deployment "web" rollout to finish: 1 of 2 updated replicas '
                           "are available...\n")
    with subprocess.Popen([sys.executable, "-m", "tinykube.cli", "--kubeconfig",
                           str(apiserver.kubeconfig), "-n", namespace, "rollout", "status",
                           "deploy/web", "--timeout=60s"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as status:
        assert status.stdout is not None
        first = status.stdout.readline()
        assert first == 'Waiting for deployment "web" rollout to finish: 1 of 2 updated replicas are available...\n'
        set_status(http, namespace, observedGeneration=generation, replicas=2, updatedReplicas=2,
                   availableReplicas=2)
        out, err = status.communicate(timeout=60)
    assert status.returncode == 0, err
    assert out == 'deployment "web" successfully rolled out\n'


def test_status_fails_on_deadline_and_timeout(apiserver: APIServerProcess, http: httpx.Client,
                                              namespace: str, deployment: dict[str, Any]) -> None:
    generation = deployment["metadata"]["generation"]
    set_status(http, namespace, observedGeneration=generation, replicas=1, updatedReplicas=1)
    timed_out = tinykube(apiserver, "-n", namespace, "rollout", "status", "deploy/web", "--timeout=1s")
    assert timed_out.returncode == 1
    assert timed_out.stdout == ('Waiting for deployment "web" rollout to finish: 1 out of 2 new '
                                "replicas have been updated...\n")
    assert timed_out.stderr.strip() == "error: timed out waiting for the condition"
    set_status(http, namespace, observedGeneration=generation, replicas=1, updatedReplicas=1,
               conditions=[{"type": "Progressing", "status": "False",
                            "reason": "ProgressDeadlineExceeded"}])
    failed = tinykube(apiserver, "-n", namespace, "rollout", "status", "deploy/web")
    assert failed.returncode == 1
    assert failed.stderr.strip() == 'error: deployment "web" exceeded its progress deadline'


@pytest.fixture
def controller_manager(apiserver: APIServerProcess) -> Iterator[subprocess.Popen[bytes]]:
    """The real Deployment and ReplicaSet controllers, for the end-to-end rollout."""
    with subprocess.Popen([sys.executable, "-m", "controller_manager", "--kubeconfig",
                           str(apiserver.kubeconfig), "--leader-elect=false"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as process:
        try:
            yield process
        finally:
            process.terminate()
            process.wait(timeout=15)


def wait_for(condition: Any, what: str, timeout_seconds: float = 30) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_rollout_with_the_deployment_controller(
        apiserver: APIServerProcess, http: httpx.Client, namespace: str,
        controller_manager: subprocess.Popen[bytes]) -> None:
    path = deployment_path(namespace)
    response = http.post(f"/apis/apps/v1/namespaces/{namespace}/deployments", json={
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": template("nginx:1")}})
    assert response.status_code == 201, response.text

    def revisions() -> list[str]:
        items = http.get(f"/apis/apps/v1/namespaces/{namespace}/replicasets").json()["items"]
        return sorted(rs["metadata"].get("annotations", {}).get(
            "deployment.kubernetes.io/revision", "") for rs in items)

    wait_for(lambda: revisions() == ["1"], "the first ReplicaSet")
    patched = tinykube(apiserver, "-n", namespace, "patch", "deploy/web", "-p",
                       '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:2"}]}}}}')
    assert patched.returncode == 0, patched.stderr
    wait_for(lambda: revisions() == ["1", "2"], "the second ReplicaSet")

    history_out = tinykube(apiserver, "-n", namespace, "rollout", "history", "deploy/web").stdout
    assert [line.split()[0] for line in history_out.splitlines()[2:] if line] == ["1", "2"]
    undo = tinykube(apiserver, "-n", namespace, "rollout", "undo", "deploy/web")
    assert undo.stdout == "deployment.apps/web rolled back\n", undo.stderr
    assert http.get(path).json()["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1"
    # The controller moves revision 1's ReplicaSet forward to revision 3.
    wait_for(lambda: revisions() == ["2", "3"], "the rolled-back ReplicaSet to become revision 3")
    status = tinykube(apiserver, "-n", namespace, "rollout", "status", "deploy/web", "--watch=false")
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith(('Waiting for deployment "web" rollout to finish',
                                     'deployment "web" successfully rolled out'))
