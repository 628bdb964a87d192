"""The Job controller: run a Job's pods until enough succeed, or the Job fails.

`sync_job(key)` is level-triggered:
1. claim the Job's pods; count finished ones exactly once (tracking.py: UIDs into
   uncountedTerminatedPods, finalizers off, then into succeeded/failed);
2. decide: a podFailurePolicy FailJob, `failed > backoffLimit` (or container
   restarts past it under OnFailure), or activeDeadlineSeconds fail the Job;
   enough successes complete it. The interim FailureTarget / SuccessCriteriaMet
   condition comes first, active pods are deleted, and the terminal Failed /
   Complete condition is added once no pod is left running or terminating;
3. otherwise manage (pods.py): suspend deletes active pods; else create pods up to
   min(parallelism, completions - succeeded) after the failure backoff (10 s
   doubling to 6 min), or delete extras;
4. write status (active, ready, terminating, startTime, conditions) if it changed.

Handlers only enqueue: Job events their key, pod events their controller Job
(by name, so a pod whose Job is gone still has its finalizer removed).

Invariants:
- creates and deletes wait for expectations; a pod whose finalizer removal is in
  flight is never counted again (finalizer expectations);
- status writes carry the Job's resourceVersion: a stale Job conflicts instead of
  counting twice.

Kubernetes counterpart: pkg/controller/job/job_controller.go
"""

from __future__ import annotations

import logging
from typing import Any

from controller_manager.controller_utils import (
    Controller, UIDTrackingExpectations, as_selector, claim_objects, is_pod_active, recheck_owner,
)
from controller_manager.job import pods as pod_control
from controller_manager.job.tracking import account_finished_pods, count_released, record_uncounted, uncounted_of
from controller_manager.job.util import (
    BackoffRecord, condition_true, has_tracking_finalizer, is_indexed, is_job_finished, is_terminating, set_condition,
)
from tinykube.api.batch import Job, JobConditionType, JobStatus
from tinykube.api.core import Pod, PodPhase, pod_is_ready
from tinykube.api.meta import get_controller_of, new_controller_ref, now_rfc3339, parse_rfc3339, split_meta_namespace_key
from tinykube.api.registry import deep_copy
from tinykube.api.resources import JOBS, PODS
from tinykube.client import (
    NAMESPACE_INDEX, REAL_CLOCK, Clock, ControllerExpectations, EventRecorder, RESTClient, SharedInformerFactory,
    meta_namespace_key,
)

log = logging.getLogger(__name__)

KIND = "Job"
BACKOFF_LIMIT_EXCEEDED = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
DEADLINE_EXCEEDED = ("DeadlineExceeded", "Job was active longer than specified deadline")
POD_FAILURE_POLICY_REASON = "PodFailurePolicy"
COMPLETIONS_REACHED = ("CompletionsReached", "Reached expected number of succeeded pods")


class JobController(Controller):
    """Guarantees:
    - a finished pod is counted once, across restarts, and loses its finalizer;
    - never more than `parallelism` active pods it created and observed;
    - status is written only when it changed."""

    name = "job"

    def __init__(self, client: RESTClient, factory: SharedInformerFactory, recorder: EventRecorder,
                 *, clock: Clock = REAL_CLOCK, **options: Any) -> None:
        super().__init__(client, recorder, self.sync_job, clock=clock)
        self.expectations = UIDTrackingExpectations(ControllerExpectations(clock))
        self.finalizer_expectations: dict[str, set[str]] = {}
        self.backoff: dict[str, BackoffRecord] = {}
        self.job_informer = factory.informer_for(JOBS)
        self.pod_informer = factory.informer_for(PODS)
        self.job_informer.add_event_handler(self.enqueue, lambda old, cur: self.enqueue(cur), self.delete_job)
        self.pod_informer.add_event_handler(self.add_pod, self.update_pod, self.delete_pod)

    # --- event handlers: only turn events into keys ------------------------------------

    def delete_job(self, job: Job) -> None:
        self.queue.add(meta_namespace_key(job))

    @staticmethod
    def job_key_of(pod: Pod) -> str | None:
        ref = get_controller_of(pod)
        if ref is None or ref.kind != KIND:
            return None
        return f"{pod.metadata.namespace}/{ref.name}"

    def add_pod(self, pod: Pod) -> None:
        key = self.job_key_of(pod)
        if key is None:
            return
        if pod.metadata.deletion_timestamp is not None:
            self.expectations.deletion_observed(key, meta_namespace_key(pod))
        else:
            self.expectations.creation_observed(key)
        self.queue.add(key)

    def update_pod(self, old: Pod, cur: Pod) -> None:
        if old.metadata.resource_version == cur.metadata.resource_version:
            return
        key = self.job_key_of(cur)
        if key is None:
            return
        if cur.metadata.deletion_timestamp is not None and old.metadata.deletion_timestamp is None:
            self.expectations.deletion_observed(key, meta_namespace_key(cur))
        if not has_tracking_finalizer(cur):
            self.finalizer_removal_observed(key, cur.metadata.uid or "")
        self.queue.add(key)

    def delete_pod(self, pod: Pod) -> None:
        key = self.job_key_of(pod)
        if key is None:
            return
        self.expectations.deletion_observed(key, meta_namespace_key(pod))
        self.finalizer_removal_observed(key, pod.metadata.uid or "")
        self.queue.add(key)

    def finalizer_removal_observed(self, key: str, uid: str) -> None:
        expected = self.finalizer_expectations.get(key)
        if expected is not None:
            expected.discard(uid)

    # --- the reconcile --------------------------------------------------------------------

    async def sync_job(self, key: str) -> None:
        namespace, name = split_meta_namespace_key(key)
        job: Job | None = self.job_informer.indexer.get(key)
        await self.release_orphans(key, namespace, name, job)
        if job is None:
            self.expectations.delete_expectations(key)
            self.finalizer_expectations.pop(key, None)
            self.backoff.pop(key, None)
            return
        pods = await self.get_pods_for_job(job, namespace)
        if job.metadata.deletion_timestamp is not None or is_job_finished(job):
            # Nothing more to count: let every pod go (the GC or the TTL deletes them).
            await pod_control.remove_finalizers(self, key, [p for p in pods if has_tracking_finalizer(p)])
            return
        now = self.clock.wall()
        status = deep_copy(job.status) if job.status else JobStatus()
        accounting = account_finished_pods(job, status, pods, self.finalizer_expectations.get(key, set()), now)
        self.backoff.setdefault(key, BackoffRecord()).record(accounting.success_times, accounting.failure_times)
        if accounting.has_new:  # step 1 must be durable before any finalizer goes
            record_uncounted(status, accounting, is_indexed(job))
            job = await self.write_status(job, status)
            status = deep_copy(job.status) if job.status else JobStatus()
        released = await pod_control.remove_finalizers(self, key, accounting.to_release)
        count_released(status, pods, released)
        await self.reconcile(job, key, status, pods, accounting.fail_job.message if accounting.fail_job else None)

    async def reconcile(self, job: Job, key: str, status: JobStatus, pods: list[Pod], fail_message: str | None) -> None:
        """Step 2-4 of the module doc on a status copy whose counts are up to date."""
        now_text = now_rfc3339(self.clock.wall)
        conditions = status.conditions = list(status.conditions or [])
        suspended = bool(job.spec.suspend)
        active_pods = [p for p in pods if is_pod_active(p)]
        terminating = sum(1 for p in pods if is_terminating(p))
        uncounted = uncounted_of(status)
        succeeded = (status.succeeded or 0) + len(uncounted.succeeded or [])
        failed = (status.failed or 0) + len(uncounted.failed or [])
        if status.start_time is None and not suspended:
            status.start_time = now_text

        failure = self.failure_condition(job, status, active_pods, failed, fail_message)
        success = failure is None and self.success_reached(job, status, succeeded, len(active_pods))
        if failure is not None:
            set_condition(conditions, JobConditionType.FAILURE_TARGET, "True", *failure, now_text)
        elif success:
            set_condition(conditions, JobConditionType.SUCCESS_CRITERIA_MET, "True", *COMPLETIONS_REACHED, now_text)

        if failure is not None or success:
            deleted = await pod_control.delete_job_pods(self, job, key, active_pods)
            if failure is not None:
                status.failed = (status.failed or 0) + deleted  # pods killed by a failing Job count as failed
            active_pods, created = [], 0
            self.finish_if_drained(job, status, terminating + deleted, failure, now_text)
        else:
            created = 0
            self.update_suspend_condition(job, status, now_text)
            if self.expectations.satisfied_expectations(key):
                active_pods, created = await pod_control.manage_job(self, job, key, status, active_pods,
                                                                    succeeded)
            self.requeue_for_deadline(job, key, status)

        finished = is_job_finished(Job(metadata=job.metadata, spec=job.spec, status=status))
        status.active = 0 if finished else len(active_pods) + created
        status.ready = 0 if finished else sum(1 for p in active_pods if pod_is_ready(p))
        status.terminating = 0 if finished else terminating
        if suspended and not finished:
            status.start_time = None  # a suspended Job is not running: resuming starts the clock anew
        normalize(status)
        if job.status is None or job.status.to_dict() != status.to_dict():
            await self.write_status(job, status)

    def failure_condition(self, job: Job, status: JobStatus, active_pods: list[Pod], failed: int,
                          fail_message: str | None) -> tuple[str, str] | None:
        """(reason, message) of a failure, or None. A FailureTarget once set stays."""
        existing = next((c for c in status.conditions or [] if c.type == JobConditionType.FAILURE_TARGET
                         and c.status == "True"), None)
        if existing is not None:
            return existing.reason or "", existing.message or ""
        if fail_message is not None:
            return POD_FAILURE_POLICY_REASON, fail_message
        backoff_limit = job.spec.backoff_limit if job.spec.backoff_limit is not None else 6
        if failed > backoff_limit or past_backoff_limit_on_failure(job, active_pods, backoff_limit):
            return BACKOFF_LIMIT_EXCEEDED
        if past_active_deadline(job, status, self.clock.wall()):
            return DEADLINE_EXCEEDED
        return None

    @staticmethod
    def success_reached(job: Job, status: JobStatus, succeeded: int, active: int) -> bool:
        if condition_true(Job(metadata=job.metadata, spec=job.spec, status=status),
                          JobConditionType.SUCCESS_CRITERIA_MET):
            return True
        if job.spec.completions is None:
            return succeeded > 0 and active == 0  # a work queue: any success, once the rest ended
        return succeeded >= job.spec.completions

    def finish_if_drained(self, job: Job, status: JobStatus, terminating: int,
                          failure: tuple[str, str] | None, now_text: str) -> None:
        """The terminal condition, once no pod runs or terminates and all are counted."""
        uncounted = uncounted_of(status)
        if terminating or uncounted.succeeded or uncounted.failed:
            return
        conditions = status.conditions = status.conditions if status.conditions is not None else []
        if failure is not None:
            if set_condition(conditions, JobConditionType.FAILED, "True", *failure, now_text):
                self.recorder.event(job, "Warning", failure[0], failure[1])
        elif set_condition(conditions, JobConditionType.COMPLETE, "True", *COMPLETIONS_REACHED, now_text):
            status.completion_time = now_text
            self.recorder.event(job, "Normal", "Completed", "Job completed")

    def update_suspend_condition(self, job: Job, status: JobStatus, now_text: str) -> None:
        conditions = status.conditions = status.conditions if status.conditions is not None else []
        if job.spec.suspend:
            if set_condition(conditions, JobConditionType.SUSPENDED, "True", "JobSuspended", "Job suspended", now_text):
                self.recorder.event(job, "Normal", "Suspended", "Job suspended")
        elif set_condition(conditions, JobConditionType.SUSPENDED, "False", "JobResumed", "Job resumed", now_text):
            self.recorder.event(job, "Normal", "Resumed", "Job resumed")
            status.start_time = now_text  # the deadline counts from the resume

    def requeue_for_deadline(self, job: Job, key: str, status: JobStatus) -> None:
        deadline = job.spec.active_deadline_seconds
        if deadline is None or status.start_time is None or job.spec.suspend:
            return
        elapsed = self.clock.wall() - parse_rfc3339(status.start_time).timestamp()
        self.queue.add_after(key, max(0.0, deadline - elapsed))

    # --- reads and writes -------------------------------------------------------------

    async def get_pods_for_job(self, job: Job, namespace: str) -> list[Pod]:
        """The pods `job` controls, orphans adopted. Finished pods stay while they
        hold the finalizer; those without it still count toward nothing."""
        uid = job.metadata.uid or ""
        candidates = [p for p in self.pod_informer.indexer.by_index(NAMESPACE_INDEX, namespace)
                      if (ref := get_controller_of(p)) is None or ref.uid == uid]
        return await claim_objects(self.client, PODS, job, new_controller_ref(job), as_selector(job.spec.selector),
                                   candidates, recheck_owner(self.client, JOBS, job))

    async def release_orphans(self, key: str, namespace: str, name: str, job: Job | None) -> None:
        """Pods still holding the finalizer for a Job that is gone (or replaced by a namesake)."""
        uid = job.metadata.uid if job is not None else None
        orphans = [p for p in self.pod_informer.indexer.by_index(NAMESPACE_INDEX, namespace)
                   if has_tracking_finalizer(p) and (ref := get_controller_of(p)) is not None
                   and ref.kind == KIND and ref.name == name and ref.uid != uid]
        if orphans:
            await pod_control.remove_finalizers(self, key, orphans)

    async def write_status(self, job: Job, status: JobStatus) -> Job:
        normalize(status)
        updated = deep_copy(job)
        updated.status = status
        return Job.from_dict(await self.client.update_status(JOBS, updated))


def normalize(status: JobStatus) -> None:
    """Empty lists as absent, so a status read back compares equal to the one written."""
    status.conditions = status.conditions or None
    uncounted = uncounted_of(status)
    uncounted.succeeded = uncounted.succeeded or None
    uncounted.failed = uncounted.failed or None
    status.completed_indexes = status.completed_indexes or None


def past_backoff_limit_on_failure(job: Job, active_pods: list[Pod], backoff_limit: int) -> bool:
    """Under restartPolicy OnFailure failures are container restarts: their sum over
    running and pending pods counts against the limit (pastBackoffLimitOnFailure)."""
    spec = job.spec.template.spec
    if spec is None or spec.restart_policy != "OnFailure":
        return False
    restarts = 0
    for pod in active_pods:
        if pod.status is None or pod.status.phase not in (PodPhase.RUNNING, PodPhase.PENDING):
            continue
        for status in [*(pod.status.init_container_statuses or []), *(pod.status.container_statuses or [])]:
            restarts += status.restart_count
    return restarts > 0 if backoff_limit == 0 else restarts >= backoff_limit


def past_active_deadline(job: Job, status: JobStatus, now: float) -> bool:
    deadline = job.spec.active_deadline_seconds
    if deadline is None or status.start_time is None or job.spec.suspend:
        return False
    return now - parse_rfc3339(status.start_time).timestamp() >= deadline
