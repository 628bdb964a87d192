"""Counting finished pods exactly once, with the `batch.kubernetes.io/job-tracking` finalizer.

Every pod a Job creates carries the finalizer, so it cannot vanish before it is
counted. A finished pod goes through three steps, each durable before the next:
1. its UID is added to status.uncountedTerminatedPods (a status write);
2. its finalizer is removed (a pod patch);
3. its UID leaves uncountedTerminatedPods and status.succeeded/failed grows by one
   (a later status write).
A controller that restarts between any two steps resumes where it stopped: a UID
already in uncountedTerminatedPods is never added twice, and a pod without the
finalizer is never counted unless its UID is still uncounted. Pods whose finalizer
removal is in flight are skipped (finalizer expectations), since the cache may
still show the finalizer after step 3.

`account_finished_pods` is step 1's decision (pure); `count_released` is step 3's.
The controller performs the writes.

Kubernetes counterpart: pkg/controller/job/job_controller.go
(trackJobStatusAndRemoveFinalizers, flushUncountedAndRemoveFinalizers)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controller_manager.job.util import (
    PolicyMatch,
    completion_index,
    finish_time,
    format_indexes,
    has_tracking_finalizer,
    is_indexed,
    is_pod_failed,
    match_pod_failure_policy,
    parse_indexes,
    phase,
)
from tinykube.api.batch import Job, JobStatus, PodFailurePolicyAction, UncountedTerminatedPods
from tinykube.api.core import Pod, PodPhase


@dataclass
class Accounting:
    """What one sync learnt from the finished pods that still carry the finalizer."""

    new_succeeded: list[str] = field(default_factory=list)
    new_failed: list[str] = field(default_factory=list)
    completed_indexes: set[int] = field(default_factory=set)
    to_release: list[Pod] = field(default_factory=list)
    fail_job: PolicyMatch | None = None
    success_times: list[float] = field(default_factory=list)
    failure_times: list[float] = field(default_factory=list)

    @property
    def has_new(self) -> bool:
        return bool(self.new_succeeded or self.new_failed)


def uncounted_of(status: JobStatus) -> UncountedTerminatedPods:
    if status.uncounted_terminated_pods is None:
        status.uncounted_terminated_pods = UncountedTerminatedPods()
    return status.uncounted_terminated_pods


def account_finished_pods(job: Job, status: JobStatus, pods: list[Pod], expected_removals: set[str],
                          now: float) -> Accounting:
    """Which finished pods are newly counted, which lose their finalizer now, and
    whether one of them fails the Job through the podFailurePolicy."""
    uncounted = uncounted_of(status)
    known = set(uncounted.succeeded or []) | set(uncounted.failed or [])
    result = Accounting(completed_indexes=parse_indexes(status.completed_indexes))
    completions = job.spec.completions or 0
    for pod in pods:
        uid = pod.metadata.uid or ""
        if not has_tracking_finalizer(pod) or uid in expected_removals:
            continue
        if uid in known:
            result.to_release.append(pod)  # recorded by an earlier sync: finish its steps
            continue
        if phase(pod) == PodPhase.SUCCEEDED:
            result.to_release.append(pod)
            result.success_times.append(finish_time(pod, now))
            if not is_indexed(job):
                result.new_succeeded.append(uid)
                continue
            index = completion_index(pod)
            # A second success for one index, or an index out of range, is not counted.
            if index is not None and index < completions and index not in result.completed_indexes:
                result.completed_indexes.add(index)
                result.new_succeeded.append(uid)
        elif is_pod_failed(pod):
            result.to_release.append(pod)
            match = match_pod_failure_policy(job, pod)
            if match.action == PodFailurePolicyAction.FAIL_JOB and result.fail_job is None:
                result.fail_job = match
            if match.counts:
                result.new_failed.append(uid)
                result.failure_times.append(finish_time(pod, now))
    return result


def record_uncounted(status: JobStatus, accounting: Accounting, indexed: bool) -> None:
    """Step 1 applied to a status copy."""
    uncounted = uncounted_of(status)
    uncounted.succeeded = [*(uncounted.succeeded or []), *accounting.new_succeeded]
    uncounted.failed = [*(uncounted.failed or []), *accounting.new_failed]
    if indexed:
        status.completed_indexes = format_indexes(accounting.completed_indexes)


def count_released(status: JobStatus, pods: list[Pod], released: set[str]) -> None:
    """Step 3 applied to a status copy: an uncounted UID whose pod is gone, has no
    finalizer, or just lost it moves into the counters."""
    uncounted = uncounted_of(status)
    by_uid = {pod.metadata.uid: pod for pod in pods}

    def done(uid: str) -> bool:
        pod = by_uid.get(uid)
        return pod is None or not has_tracking_finalizer(pod) or uid in released

    for attribute in ("succeeded", "failed"):
        uids: list[str] = getattr(uncounted, attribute) or []
        finished = [uid for uid in uids if done(uid)]
        setattr(status, attribute, (getattr(status, attribute) or 0) + len(finished))
        setattr(uncounted, attribute, [uid for uid in uids if uid not in finished])
