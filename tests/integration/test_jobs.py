"""Jobs on a whole control plane: etcd, API server, controller-managers, scheduler and
three hollow nodes whose fake runtime ends each container as its env says
(FAKE_RUN_SECONDS, FAKE_EXIT_CODE).

A Job of 5 completions and parallelism 2 completes with 5 successes and never more
than 2 active pods (checked at every pod event); a failing Job stops at its
backoffLimit with BackoffLimitExceeded; a finished Job with ttlSecondsAfterFinished
is deleted together with its pods; `tinykube create/get/describe/delete job` work
as kubectl's do. The module has its own cluster.
"""

from __future__ import annotations

import re
from typing import Any

from control_plane_fixtures import ControlPlane, Obj, PodWatch, is_active, wait_for
from test_control_plane import ns, plane  # noqa: F401  (fixtures: this module gets a cluster of its own)

from tests.integration.cli_helpers import tinykube as run_cli
from tinykube.api.batch import JOB_TRACKING_FINALIZER

JOB_DEADLINE_SECONDS = 90.0


def job(name: str, *, completions: int = 1, parallelism: int = 1, env: dict[str, str], **spec: Any) -> Obj:
    container = {"name": "main", "image": "busybox:1", "command": ["sh", "-c", "true"],
                 "env": [{"name": k, "value": v} for k, v in env.items()]}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"completions": completions, "parallelism": parallelism, **spec,
                     "template": {"spec": {"restartPolicy": "Never", "containers": [container]}}}}


def create_job(plane: ControlPlane, ns: str, body: Obj) -> Obj:
    response = plane.http.post(f"/apis/batch/v1/namespaces/{ns}/jobs", json=body)
    assert response.status_code == 201, response.text
    created: Obj = response.json()
    return created


def get_job(plane: ControlPlane, ns: str, name: str) -> Obj:
    return plane.get(f"/apis/batch/v1/namespaces/{ns}/jobs/{name}")


def true_condition(job_obj: Obj, condition_type: str) -> Obj | None:
    return next((c for c in (job_obj.get("status") or {}).get("conditions") or []
                 if c["type"] == condition_type and c["status"] == "True"), None)


def job_pods(plane: ControlPlane, ns: str, name: str) -> list[Obj]:
    items: list[Obj] = plane.get(f"/api/v1/namespaces/{ns}/pods",
                                 labelSelector=f"batch.kubernetes.io/job-name={name}")["items"]
    return items


def test_job_completes_with_bounded_parallelism(plane: ControlPlane, ns: str) -> None:  # noqa: F811
    def at_most_two_active(pods: dict[str, Obj]) -> None:
        active = [p["metadata"]["name"] for p in pods.values() if is_active(p)]
        assert len(active) <= 2, f"{len(active)} active pods: {active}"

    watch = PodWatch.start(plane, ns, at_most_two_active)
    try:
        create_job(plane, ns, job("five", completions=5, parallelism=2, env={"FAKE_RUN_SECONDS": "1"}))
        done = wait_for(lambda: true_condition(get_job(plane, ns, "five"), "Complete"), "Job five Complete",
                        JOB_DEADLINE_SECONDS)
    finally:
        watch.stop()
    status = get_job(plane, ns, "five")["status"]
    assert (status["succeeded"], status.get("failed", 0), status["active"]) == (5, 0, 0)
    assert done["reason"] == "CompletionsReached"
    assert status["completionTime"] >= status["startTime"]
    assert len(watch.created) == 5
    pods = job_pods(plane, ns, "five")
    assert sorted(p["status"]["phase"] for p in pods) == ["Succeeded"] * 5
    assert all(JOB_TRACKING_FINALIZER not in (p["metadata"].get("finalizers") or []) for p in pods)


def test_failing_job_stops_at_backoff_limit(plane: ControlPlane, ns: str) -> None:  # noqa: F811
    create_job(plane, ns, job("fails", backoffLimit=1, env={"FAKE_EXIT_CODE": "3"}))
    failed = wait_for(lambda: true_condition(get_job(plane, ns, "fails"), "Failed"), "Job fails Failed",
                      JOB_DEADLINE_SECONDS)
    assert (failed["reason"], failed["message"]) == ("BackoffLimitExceeded",
                                                     "Job has reached the specified backoff limit")
    status = get_job(plane, ns, "fails")["status"]
    assert (status["failed"], status["active"]) == (2, 0)
    pods = job_pods(plane, ns, "fails")
    assert len(pods) == 2
    terminated = [p["status"]["containerStatuses"][0]["state"]["terminated"] for p in pods]
    assert [t["exitCode"] for t in terminated] == [3, 3]
    events = plane.get(f"/api/v1/namespaces/{ns}/events")["items"]
    assert any(e["reason"] == "BackoffLimitExceeded" and e["involvedObject"]["name"] == "fails" for e in events)


def test_finished_job_with_ttl_is_deleted_with_its_pods(plane: ControlPlane, ns: str) -> None:  # noqa: F811
    create_job(plane, ns, job("brief", ttlSecondsAfterFinished=0, env={"FAKE_EXIT_CODE": "0"}))
    wait_for(lambda: plane.http.get(f"/apis/batch/v1/namespaces/{ns}/jobs/brief").status_code == 404,
             "Job brief deleted by its TTL", JOB_DEADLINE_SECONDS)
    wait_for(lambda: not job_pods(plane, ns, "brief"), "the pods of Job brief deleted", JOB_DEADLINE_SECONDS)


def test_cli_create_get_describe_and_delete_job(plane: ControlPlane, ns: str) -> None:  # noqa: F811
    created = run_cli(plane.api, "-n", ns, "create", "job", "hello", "--image=busybox:1", "--", "echo", "hi")
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "job.batch/hello created"
    stored = get_job(plane, ns, "hello")
    container = stored["spec"]["template"]["spec"]["containers"][0]
    assert (container["name"], container["command"]) == ("hello", ["echo", "hi"])
    # `echo hi` runs forever on a hollow node (no FAKE_* env): the Job stays Running.
    wait_for(lambda: (get_job(plane, ns, "hello").get("status") or {}).get("active") == 1, "Job hello active")

    listing = run_cli(plane.api, "-n", ns, "get", "jobs")
    assert listing.returncode == 0, listing.stderr
    header, row = listing.stdout.splitlines()[:2]
    assert header.split() == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert row.split()[:3] == ["hello", "Running", "0/1"]

    described = run_cli(plane.api, "-n", ns, "describe", "job", "hello")
    assert described.returncode == 0, described.stderr
    for line in ("Parallelism:", "Completions:", "Completion Mode:", "Start Time:", "Pods Statuses:",
                 "Pod Template:", "Events:"):
        assert line in described.stdout, f"{line!r} missing from:\n{described.stdout}"
    assert re.search(r"Pods Statuses: +1 Active \([01] Ready\) / 0 Succeeded / 0 Failed", described.stdout)
    assert "SuccessfulCreate" in described.stdout

    deleted = run_cli(plane.api, "-n", ns, "delete", "job", "hello")
    assert deleted.returncode == 0, deleted.stderr
    wait_for(lambda: not job_pods(plane, ns, "hello"), "the pods of Job hello deleted with it",
             JOB_DEADLINE_SECONDS)
