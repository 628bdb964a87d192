"""Job controller: preload caches, run syncs on a fake clock, assert on the recorded actions."""

from __future__ import annotations

from typing import Any

from controller_fakes import FakeClient, cache_add, parsed, typed_factory

from controller_manager.job import JobController
from tinykube.api.batch import JOB_COMPLETION_INDEX_ANNOTATION, JOB_TRACKING_FINALIZER
from tinykube.client import EventRecorder, FakeClock

KEY = "default/pi"
UID = "uid-pi"
SELECTOR = {"batch.kubernetes.io/controller-uid": UID}
START = "2026-01-01T00:00:00Z"  # the fake clock's wall time starts here
Obj = dict[str, Any]


def job(*, completions: int | None = 1, parallelism: int = 1, backoff_limit: int = 6, status: Obj | None = None,
        restart_policy: str = "Never", **spec: Any) -> Obj:
    body: Obj = {"parallelism": parallelism, "backoffLimit": backoff_limit, "completionMode": "NonIndexed",
                 "suspend": False, "selector": {"matchLabels": dict(SELECTOR)},
                 "template": {"metadata": {"labels": dict(SELECTOR)},
                              "spec": {"restartPolicy": restart_policy,
                                       "containers": [{"name": "main", "image": "busybox:1"}]}}, **spec}
    if completions is not None:
        body["completions"] = completions
    return {"apiVersion": "batch/v1", "kind": "Job", "spec": body, "status": status or {},
            "metadata": {"name": "pi", "namespace": "default", "uid": UID, "resourceVersion": "1",
                         "generation": 1, "creationTimestamp": START}}


def job_pod(name: str, phase: str = "Running", *, finalizer: bool = True, exit_code: int | None = None,
            index: int | None = None, deleting: bool = False, conditions: list[Obj] | None = None,
            restarts: int = 0, finished_at: str = START) -> Obj:
    meta: Obj = {"name": name, "namespace": "default", "uid": f"uid-{name}", "labels": dict(SELECTOR),
                 "resourceVersion": "5", "creationTimestamp": START,
                 "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "pi", "uid": UID,
                                      "controller": True, "blockOwnerDeletion": True}]}
    if finalizer:
        meta["finalizers"] = [JOB_TRACKING_FINALIZER]
    if index is not None:
        meta["annotations"] = {JOB_COMPLETION_INDEX_ANNOTATION: str(index)}
    if deleting:
        meta["deletionTimestamp"] = START
    state: Obj = {"running": {"startedAt": START}}
    if phase in ("Succeeded", "Failed"):
        code = exit_code if exit_code is not None else (0 if phase == "Succeeded" else 1)
        state = {"terminated": {"exitCode": code, "finishedAt": finished_at}}
    status: Obj = {"phase": phase, "conditions": conditions or [], "containerStatuses": [
        {"name": "main", "ready": phase == "Running", "restartCount": restarts, "image": "busybox:1",
         "imageID": "", "state": state}]}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"nodeName": "node-1", "containers": [{"name": "main", "image": "busybox:1"}]}, "status": status}


def make_controller(job_obj: Obj, pods: list[Obj], clock: FakeClock | None = None
                    ) -> tuple[JobController, FakeClient, FakeClock]:
    client = FakeClient()
    clock = clock or FakeClock()
    controller = JobController(client, typed_factory(client), EventRecorder(client, "test"),  # type: ignore[arg-type]
                               clock=clock)
    cache_add(controller.job_informer, job_obj)
    client.seed("jobs", job_obj)
    cache_add(controller.pod_informer, *pods)
    return controller, client, clock


def statuses(client: FakeClient) -> list[Obj]:
    return [a.body["status"] for a in client.writes("jobs", "update_status")]


def condition(status: Obj, condition_type: str) -> Obj | None:
    return next((c for c in status.get("conditions") or [] if c["type"] == condition_type), None)


def finalizer_patches(client: FakeClient) -> list[str]:
    return sorted(a.name for a in client.writes("pods", "patch")
                  if a.body == {"metadata": {"$deleteFromPrimitiveList/finalizers": [JOB_TRACKING_FINALIZER]}})


async def reasons(controller: JobController, client: FakeClient) -> list[str]:
    await controller.recorder.flush()
    return [e["reason"] for e in client.events]


# --- creating pods ---------------------------------------------------------------------------


async def test_creates_parallelism_pods_with_finalizer_and_owner() -> None:
    controller, client, _ = make_controller(job(completions=5, parallelism=2), [])
    await controller.sync_job(KEY)
    created = client.writes("pods", "create")
    assert len(created) == 2
    meta = created[0].body["metadata"]
    assert meta["generateName"] == "pi-"
    assert meta["finalizers"] == [JOB_TRACKING_FINALIZER]
    assert meta["ownerReferences"][0] == {"apiVersion": "batch/v1", "kind": "Job", "name": "pi", "uid": UID,
                                          "controller": True, "blockOwnerDeletion": True}
    assert meta["labels"] == SELECTOR
    status = statuses(client)[-1]
    assert (status["active"], status["startTime"]) == (2, START)
    assert await reasons(controller, client) == ["SuccessfulCreate", "SuccessfulCreate"]


async def test_never_more_active_than_remaining_completions() -> None:
    done = {"succeeded": 4, "startTime": START}
    controller, client, _ = make_controller(job(completions=5, parallelism=3, status=done), [])
    await controller.sync_job(KEY)
    assert len(client.writes("pods", "create")) == 1


async def test_expectations_prevent_creating_twice_before_pods_are_seen() -> None:
    controller, client, _ = make_controller(job(completions=3, parallelism=3), [])
    await controller.sync_job(KEY)
    await controller.sync_job(KEY)
    assert len(client.writes("pods", "create")) == 3


# --- counting finished pods exactly once ------------------------------------------------------


async def test_finished_pod_recorded_uncounted_then_finalizer_removed_then_counted() -> None:
    controller, client, _ = make_controller(job(completions=2), [job_pod("pi-a", "Succeeded")])
    await controller.sync_job(KEY)
    first, last = statuses(client)[0], statuses(client)[-1]
    assert first["uncountedTerminatedPods"] == {"succeeded": ["uid-pi-a"]}
    assert first.get("succeeded") is None
    assert finalizer_patches(client) == ["pi-a"]
    assert last["succeeded"] == 1 and not last["uncountedTerminatedPods"]
    order = [(a.verb, a.resource) for a in client.actions if a.verb in ("update_status", "patch")]
    assert order[:2] == [("update_status", "jobs"), ("patch", "pods")]  # durable record before the finalizer goes


async def test_restart_after_recording_resumes_without_double_counting() -> None:
    # The previous controller wrote step 1 and died before removing the finalizer.
    recorded = {"startTime": START, "succeeded": 1, "uncountedTerminatedPods": {"succeeded": ["uid-pi-b"]}}
    pods = [job_pod("pi-a", "Succeeded", finalizer=False), job_pod("pi-b", "Succeeded")]
    controller, client, _ = make_controller(job(completions=3, status=recorded), pods)
    await controller.sync_job(KEY)
    assert finalizer_patches(client) == ["pi-b"]
    writes = statuses(client)
    assert all(w["uncountedTerminatedPods"].get("succeeded") != ["uid-pi-b", "uid-pi-b"] for w in writes)
    assert writes[-1]["succeeded"] == 2 and not writes[-1]["uncountedTerminatedPods"]


async def test_restart_after_finalizer_removal_counts_once() -> None:
    # Died after removing the finalizer: the UID is still uncounted, the pod has no finalizer.
    recorded = {"startTime": START, "succeeded": 1, "uncountedTerminatedPods": {"succeeded": ["uid-pi-b"]}}
    pods = [job_pod("pi-a", "Succeeded", finalizer=False), job_pod("pi-b", "Succeeded", finalizer=False)]
    controller, client, _ = make_controller(job(completions=3, status=recorded), pods)
    await controller.sync_job(KEY)
    assert finalizer_patches(client) == []
    assert statuses(client)[-1]["succeeded"] == 2
    # Counted pods without the finalizer are never counted again.
    cache_add(controller.job_informer, {**job(completions=3), "status": statuses(client)[-1]})
    await controller.sync_job(KEY)
    assert statuses(client)[-1]["succeeded"] == 2


async def test_stale_pod_cache_after_removal_does_not_count_again() -> None:
    controller, client, _ = make_controller(job(completions=3), [job_pod("pi-a", "Succeeded")])
    await controller.sync_job(KEY)
    cache_add(controller.job_informer, {**job(completions=3), "status": statuses(client)[-1]})
    await controller.sync_job(KEY)  # the pod cache still shows the finalizer
    assert statuses(client)[-1]["succeeded"] == 1
    assert finalizer_patches(client) == ["pi-a"]


# --- failures ---------------------------------------------------------------------------------


async def test_backoff_limit_exceeded_fails_job_after_interim_condition() -> None:
    pods = [job_pod("pi-a", "Failed"), job_pod("pi-b", "Failed")]
    controller, client, _ = make_controller(job(completions=1, backoff_limit=1), pods)
    await controller.sync_job(KEY)
    last = statuses(client)[-1]
    assert last["failed"] == 2
    target, failed = condition(last, "FailureTarget"), condition(last, "Failed")
    assert target is not None and target["reason"] == "BackoffLimitExceeded"
    assert failed is not None and (failed["reason"], failed["message"]) == (
        "BackoffLimitExceeded", "Job has reached the specified backoff limit")
    assert client.writes("pods", "create") == []
    assert "BackoffLimitExceeded" in await reasons(controller, client)


async def test_failing_job_waits_for_terminating_pods_before_failed() -> None:
    pods = [job_pod("pi-a", "Failed"), job_pod("pi-b", "Failed"), job_pod("pi-c")]
    controller, client, _ = make_controller(job(completions=2, parallelism=2, backoff_limit=1), pods)
    await controller.sync_job(KEY)
    assert [a.name for a in client.writes("pods", "delete")] == ["pi-c"]
    assert "pi-c" in finalizer_patches(client)
    last = statuses(client)[-1]
    assert condition(last, "FailureTarget") is not None and condition(last, "Failed") is None
    assert last["failed"] == 3  # the killed pod counts as failed


async def test_pod_creation_waits_for_failure_backoff() -> None:
    clock = FakeClock()
    failed_at = "2026-01-01T00:00:00Z"
    controller, client, clock = make_controller(job(completions=1), [job_pod("pi-a", "Failed", finished_at=failed_at)],
                                                clock)
    await controller.sync_job(KEY)
    assert client.writes("pods", "create") == []
    clock.advance(9.5)
    assert len(controller.queue) == 0
    clock.advance(0.5)
    assert len(controller.queue) == 1
    await controller.sync_job(KEY)
    assert len(client.writes("pods", "create")) == 1


async def test_active_deadline_exceeded_deletes_active_pods() -> None:
    clock = FakeClock()
    running = {"startTime": START}
    controller, client, clock = make_controller(job(completions=1, activeDeadlineSeconds=30, status=running),
                                                [job_pod("pi-a")], clock)
    clock.advance(31)
    await controller.sync_job(KEY)
    assert [a.name for a in client.writes("pods", "delete")] == ["pi-a"]
    target = condition(statuses(client)[-1], "FailureTarget")
    assert target is not None and target["reason"] == "DeadlineExceeded"


async def test_deadline_not_reached_requeues_for_the_time_left() -> None:
    controller, client, clock = make_controller(job(activeDeadlineSeconds=30, status={"startTime": START}),
                                                [job_pod("pi-a")])
    await controller.sync_job(KEY)
    assert client.writes("pods", "delete") == []
    clock.advance(29)
    assert len(controller.queue) == 0
    clock.advance(1)
    assert len(controller.queue) == 1


async def test_on_failure_restarts_count_against_backoff_limit() -> None:
    controller, client, _ = make_controller(job(backoff_limit=2, restart_policy="OnFailure"),
                                            [job_pod("pi-a", restarts=2)])
    await controller.sync_job(KEY)
    target = condition(statuses(client)[-1], "FailureTarget")
    assert target is not None and target["reason"] == "BackoffLimitExceeded"


# --- pod failure policy -----------------------------------------------------------------------


def policy(*rules: Obj) -> Obj:
    return {"podFailurePolicy": {"rules": list(rules)}}


async def test_pod_failure_policy_fail_job_on_exit_code() -> None:
    rule = {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}}
    controller, client, _ = make_controller(job(**policy(rule)), [job_pod("pi-a", "Failed", exit_code=42)])
    await controller.sync_job(KEY)
    failed = condition(statuses(client)[-1], "Failed")
    assert failed is not None and failed["reason"] == "PodFailurePolicy"
    assert failed["message"] == ("Container main for pod default/pi-a failed with exit code 42 matching FailJob "
                                 "rule at index 0")


async def test_pod_failure_policy_ignore_disruption_does_not_count() -> None:
    rule = {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}
    disrupted = job_pod("pi-a", "Failed", conditions=[{"type": "DisruptionTarget", "status": "True"}])
    controller, client, _ = make_controller(job(backoff_limit=0, **policy(rule)), [disrupted])
    await controller.sync_job(KEY)
    assert finalizer_patches(client) == ["pi-a"]
    last = statuses(client)[-1]
    assert not last.get("failed") and condition(last, "FailureTarget") is None
    assert len(client.writes("pods", "create")) == 1  # replaced, no backoff


async def test_pod_failure_policy_not_in_counts_other_codes() -> None:
    rule = {"action": "Count", "onExitCodes": {"operator": "NotIn", "values": [3]}}
    controller, client, _ = make_controller(job(backoff_limit=0, **policy(rule)),
                                            [job_pod("pi-a", "Failed", exit_code=5)])
    await controller.sync_job(KEY)
    assert condition(statuses(client)[-1], "Failed") is not None


# --- completion, indexes, suspend ---------------------------------------------------------------


async def test_completions_reached_completes_job() -> None:
    pods = [job_pod("pi-a", "Succeeded"), job_pod("pi-b", "Succeeded")]
    controller, client, _ = make_controller(job(completions=2, parallelism=2), pods)
    await controller.sync_job(KEY)
    last = statuses(client)[-1]
    assert condition(last, "SuccessCriteriaMet") is not None
    complete = condition(last, "Complete")
    assert complete is not None and complete["reason"] == "CompletionsReached"
    assert (last["succeeded"], last["active"], last["completionTime"]) == (2, 0, START)
    assert "Completed" in await reasons(controller, client)


async def test_finished_job_releases_remaining_finalizers() -> None:
    done = {"conditions": [{"type": "Complete", "status": "True"}], "succeeded": 1}
    controller, client, _ = make_controller(job(status=done), [job_pod("pi-late", "Succeeded")])
    await controller.sync_job(KEY)
    assert finalizer_patches(client) == ["pi-late"]
    assert statuses(client) == []


async def test_indexed_job_creates_lowest_pending_indexes_with_env() -> None:
    pods = [job_pod("pi-0-x", "Succeeded", index=0)]
    controller, client, _ = make_controller(job(completions=4, parallelism=2, completionMode="Indexed"), pods)
    await controller.sync_job(KEY)
    assert statuses(client)[0]["completedIndexes"] == "0"
    created = [a.body for a in client.writes("pods", "create")]
    assert [p["metadata"]["annotations"][JOB_COMPLETION_INDEX_ANNOTATION] for p in created] == ["1", "2"]
    assert created[0]["metadata"]["labels"][JOB_COMPLETION_INDEX_ANNOTATION] == "1"
    assert created[0]["metadata"]["generateName"] == "pi-1-"
    assert created[0]["spec"]["hostname"] == "pi-1"
    env = created[0]["spec"]["containers"][0]["env"]
    assert env == [{"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
        "fieldPath": f"metadata.annotations['{JOB_COMPLETION_INDEX_ANNOTATION}']"}}}]


async def test_indexed_duplicate_success_is_not_counted() -> None:
    recorded = {"startTime": START, "succeeded": 1, "completedIndexes": "0"}
    pods = [job_pod("pi-0-y", "Succeeded", index=0)]
    controller, client, _ = make_controller(job(completions=2, completionMode="Indexed", status=recorded), pods)
    await controller.sync_job(KEY)
    assert finalizer_patches(client) == ["pi-0-y"]
    assert statuses(client)[-1]["succeeded"] == 1


async def test_suspend_deletes_active_pods_and_resume_restarts_clock() -> None:
    running = {"startTime": START, "active": 1}
    controller, client, clock = make_controller(job(suspend=True, status=running), [job_pod("pi-a")])
    await controller.sync_job(KEY)
    assert [a.name for a in client.writes("pods", "delete")] == ["pi-a"]
    last = statuses(client)[-1]
    suspended = condition(last, "Suspended")
    assert suspended is not None and (suspended["status"], suspended["reason"]) == ("True", "JobSuspended")
    assert "startTime" not in last and last["active"] == 0
    assert "Suspended" in await reasons(controller, client)

    clock.advance(60)
    gone = parsed(controller.pod_informer, job_pod("pi-a"))  # the kubelet killed it, it is gone
    controller.pod_informer.indexer.delete(gone)
    controller.delete_pod(gone)
    cache_add(controller.job_informer, {**job(), "status": last})
    await controller.sync_job(KEY)
    resumed = statuses(client)[-1]
    assert condition(resumed, "Suspended")["reason"] == "JobResumed"  # type: ignore[index]
    assert resumed["startTime"] == "2026-01-01T00:01:00Z"
    assert len(client.writes("pods", "create")) == 1


# --- orphans --------------------------------------------------------------------------------------


async def test_pods_of_a_deleted_job_lose_their_finalizer() -> None:
    controller, client, _ = make_controller(job(), [job_pod("pi-a", "Succeeded")])
    controller.job_informer.indexer.delete(controller.job_informer.indexer.get(KEY))
    await controller.sync_job(KEY)
    assert finalizer_patches(client) == ["pi-a"]
