"""The CronJob controller with a whole control plane (etcd, API server, controller manager,
scheduler, hollow nodes), acting through the API as a user.

An every-minute CronJob gets its Job at the next minute boundary (so the one test that
waits does so for at most ~60 s): named `<cronjob>-<unix minutes>`, owned by the
CronJob, annotated with its scheduled time, and listed in `status.active` with
`lastScheduleTime` set; once the Job controller has run it on a hollow node, it leaves
`status.active` and sets `lastSuccessfulTime`. A schedule Kubernetes refuses is a 422 with its message.
`tinykube create cronjob` / `create job --from=cronjob/X` and kubectl's same commands
work against the API server.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from control_plane_fixtures import ControlPlane, Obj, wait_for
from test_control_plane import ns, plane  # noqa: F401  (fixtures: this module gets a cluster of its own)

from tests.integration.cli_helpers import tinykube as run_cli

KUBECTL = shutil.which("kubectl")
MINUTE_DEADLINE_SECONDS = 75.0  # the next minute boundary, plus the controller's and the API's latency


def cron_job(name: str, schedule: str) -> Obj:
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
            "spec": {"schedule": schedule, "successfulJobsHistoryLimit": 1,
                     "jobTemplate": {"metadata": {"labels": {"app": name}},
                                     "spec": {"template": {"spec": {
                                         "restartPolicy": "OnFailure",
                                         "containers": [{"name": "c", "image": "busybox:1",
                                                         "command": ["echo", "hi"],
                                                         # the hollow node's fake runtime exits it at once, 0
                                                         "env": [{"name": "FAKE_RUN_SECONDS", "value": "0"}]}]}}}}}}


def cron_jobs_path(namespace: str) -> str:
    return f"/apis/batch/v1/namespaces/{namespace}/cronjobs"


def test_an_every_minute_cron_job_creates_its_job_at_the_minute(plane: ControlPlane, ns: str) -> None:
    response = plane.http.post(cron_jobs_path(ns), json=cron_job("tick", "*/1 * * * *"))
    assert response.status_code == 201, response.text
    uid = response.json()["metadata"]["uid"]
    next_minute = (int(time.time()) // 60 + 1) * 60

    def owned_jobs() -> list[Obj]:
        items: list[Obj] = plane.get(f"/apis/batch/v1/namespaces/{ns}/jobs")["items"]
        return [j for j in items if any(r["uid"] == uid for r in j["metadata"].get("ownerReferences") or ())]

    [job] = wait_for(owned_jobs, "the CronJob's first Job", MINUTE_DEADLINE_SECONDS)
    scheduled_minute = int(job["metadata"]["name"].removeprefix("tick-"))
    assert scheduled_minute * 60 >= next_minute - 60  # this minute or the next: never one from the past
    assert job["metadata"]["labels"]["app"] == "tick"
    stamp = job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
    assert stamp == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(scheduled_minute * 60))
    [owner] = job["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("CronJob", "tick", True)

    def status() -> Obj:
        got: Obj = plane.get(f"{cron_jobs_path(ns)}/tick").get("status") or {}
        return got

    got = wait_for(lambda: status() if status().get("lastScheduleTime") else None, "lastScheduleTime")
    assert got["lastScheduleTime"] == stamp
    # The Job controller runs it to completion on a hollow node; the CronJob notices.
    done = wait_for(lambda: status() if status().get("lastSuccessfulTime") and not status().get("active") else None,
                    "the finished Job to leave status.active and set lastSuccessfulTime")
    completed = plane.get(f"/apis/batch/v1/namespaces/{ns}/jobs/{job['metadata']['name']}")["status"]
    assert done["lastSuccessfulTime"] >= completed["completionTime"]  # a later minute's run may have ended too

    def reasons() -> set[str]:
        events = plane.get(f"/api/v1/namespaces/{ns}/events")["items"]
        return {e["reason"] for e in events if e["involvedObject"]["name"] == "tick"}

    wait_for(lambda: {"SuccessfulCreate", "SawCompletedJob"} <= reasons(), "SuccessfulCreate and SawCompletedJob")


def test_an_invalid_schedule_is_refused_with_kubernetes_message(plane: ControlPlane, ns: str) -> None:
    response = plane.http.post(cron_jobs_path(ns), json=cron_job("bad", "*/1 * * *"))
    assert response.status_code == 422, response.text
    status = response.json()
    assert status["reason"] == "Invalid"
    assert status["message"] == ('CronJob.batch "bad" is invalid: spec.schedule: Invalid value: "*/1 * * *": '
                                 "expected exactly 5 fields, found 4: [*/1 * * *]")



def assert_manual_job_of(plane: ControlPlane, ns: str, job_name: str, cron_job_name: str) -> None:
    job = plane.get(f"/apis/batch/v1/namespaces/{ns}/jobs/{job_name}")
    assert job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    [owner] = job["metadata"]["ownerReferences"]
    cron = plane.get(f"{cron_jobs_path(ns)}/{cron_job_name}")
    assert (owner["kind"], owner["name"], owner["uid"]) == ("CronJob", cron_job_name, cron["metadata"]["uid"])
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1"


def test_tinykube_and_kubectl_create_cronjob_and_a_job_from_it(plane: ControlPlane, ns: str, tmp_path: Path) -> None:
    result = run_cli(plane.api, "-n", ns, "create", "cronjob", "hourly", "--image=busybox:1",
                     "--schedule=0 * * * *", "--", "echo", "hi", timeout_seconds=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "cronjob.batch/hourly created"
    spec = plane.get(f"{cron_jobs_path(ns)}/hourly")["spec"]
    assert spec["schedule"] == "0 * * * *"
    pod_spec = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod_spec["restartPolicy"] == "OnFailure"
    assert pod_spec["containers"][0]["command"] == ["echo", "hi"]
    made_job = run_cli(plane.api, "-n", ns, "create", "job", "hourly-now", "--from=cronjob/hourly", timeout_seconds=60)
    assert made_job.returncode == 0, made_job.stderr
    assert made_job.stdout.strip() == "job.batch/hourly-now created"
    assert_manual_job_of(plane, ns, "hourly-now", "hourly")
    missing = run_cli(plane.api, "-n", ns, "create", "job", "x", "--from=cronjob/nothing", timeout_seconds=60)
    assert missing.returncode != 0
    assert 'Error from server (NotFound): cronjobs.batch "nothing" not found' in missing.stderr
    if KUBECTL is None:
        pytest.skip("kubectl is not installed")
    made = subprocess.run([KUBECTL, "--kubeconfig", str(plane.api.kubeconfig), "--cache-dir", str(tmp_path),
                           "-n", ns, "create", "cronjob", "nightly", "--image=busybox:1", "--schedule=0 3 * * *"],
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    assert plane.get(f"{cron_jobs_path(ns)}/nightly")["spec"]["concurrencyPolicy"] == "Allow"
    from_kubectl = subprocess.run([KUBECTL, "--kubeconfig", str(plane.api.kubeconfig), "--cache-dir", str(tmp_path),
                                   "-n", ns, "create", "job", "nightly-now", "--from=cronjob/nightly"],
                                  capture_output=True, text=True, timeout=60)
    assert from_kubectl.returncode == 0, from_kubectl.stderr
    assert_manual_job_of(plane, ns, "nightly-now", "nightly")
    refused = subprocess.run([KUBECTL, "--kubeconfig", str(plane.api.kubeconfig), "--cache-dir", str(tmp_path),
                              "-n", ns, "create", "cronjob", "broken", "--image=busybox:1", "--schedule=99 * * * *"],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert 'spec.schedule: Invalid value: "99 * * * *": end of range (99) above maximum (59): 99' in refused.stderr
