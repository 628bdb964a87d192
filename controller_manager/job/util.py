"""Pure helpers of the Job controller: conditions, completion indexes, the pod
failure policy, the backoff between pod re-creations, and the pod template.

Nothing here does I/O; `controller.py` and `tracking.py` call these with objects
from the informer caches (never mutating them) and the injected clock's time.

Kubernetes counterpart: pkg/controller/job/utils.go, indexed_job_utils.go,
pod_failure_policy.go, backoff_utils.go
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tinykube.api.batch import (
    JOB_COMPLETION_INDEX_ANNOTATION,
    JOB_TRACKING_FINALIZER,
    CompletionMode,
    Job,
    JobCondition,
    JobConditionType,
    PodFailurePolicyAction,
)
from tinykube.api.core import (
    EnvVar,
    EnvVarSource,
    ObjectFieldSelector,
    Pod,
    PodPhase,
    PodTemplateSpec,
)
from tinykube.api.meta import ConditionStatus, ObjectMeta, get_condition, parse_rfc3339
from tinykube.api.registry import deep_copy

# The backoff between pod re-creations after failures: 10 s doubling, at most 6 minutes.
DEFAULT_JOB_POD_FAILURE_BACKOFF_SECONDS = 10.0
MAX_JOB_POD_FAILURE_BACKOFF_SECONDS = 360.0
JOB_COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"
# Pods per sync the controller creates or deletes at most (MaxPodCreateDeletePerSync).
MAX_POD_CREATE_DELETE_PER_SYNC = 500


# --- conditions --------------------------------------------------------------------------


def condition_true(job: Job, condition_type: str) -> bool:
    condition = get_condition(job.status.conditions if job.status else None, condition_type)
    return condition is not None and condition.status == ConditionStatus.TRUE


def is_job_finished(job: Job) -> bool:
    """Complete or Failed (util.IsJobFinished)."""
    return condition_true(job, JobConditionType.COMPLETE) or condition_true(job, JobConditionType.FAILED)


def set_condition(conditions: list[JobCondition], condition_type: str, status: str, reason: str,
                  message: str, now: str) -> bool:
    """Add or update a condition in place; the transition time moves only when the
    status changes. Returns whether anything changed (ensureJobConditionStatus)."""
    current = get_condition(conditions, condition_type)
    if current is None:
        if status != ConditionStatus.TRUE:
            return False  # a False condition is only recorded over a True one
        conditions.append(JobCondition(type=condition_type, status=status, reason=reason, message=message,
                                       last_probe_time=now, last_transition_time=now))
        return True
    if (current.status, current.reason, current.message) == (status, reason, message):
        return False
    if current.status != status:
        current.last_transition_time = now
    current.status, current.reason, current.message, current.last_probe_time = status, reason, message, now
    return True


# --- pods ----------------------------------------------------------------------------------


def phase(pod: Pod) -> str | None:
    return pod.status.phase if pod.status else None


def has_tracking_finalizer(pod: Pod) -> bool:
    return JOB_TRACKING_FINALIZER in (pod.metadata.finalizers or ())


def is_terminating(pod: Pod) -> bool:
    return pod.metadata.deletion_timestamp is not None and phase(pod) not in (PodPhase.SUCCEEDED,
                                                                              PodPhase.FAILED)


def is_pod_failed(pod: Pod) -> bool:
    """Failed, or deleted before it could finish (isPodFailed): an orphan or
    evicted pod never reaches Failed, and must still count."""
    return phase(pod) == PodPhase.FAILED or is_terminating(pod)


def finish_time(pod: Pod, fallback: float) -> float:
    """When the pod ended: its containers' latest finishedAt, else `fallback` (getFinishedTime)."""
    latest: float | None = None
    statuses = (pod.status.container_statuses or []) if pod.status else []
    for status in statuses:
        terminated = status.state.terminated if status.state else None
        if terminated is not None and terminated.finished_at:
            moment = parse_rfc3339(terminated.finished_at).timestamp()
            latest = moment if latest is None else max(latest, moment)
    return latest if latest is not None else fallback


# --- completion indexes ---------------------------------------------------------------------


def is_indexed(job: Job) -> bool:
    return job.spec.completion_mode == CompletionMode.INDEXED


def completion_index(pod: Pod) -> int | None:
    """The pod's index from its annotation, None when missing or malformed."""
    value = (pod.metadata.annotations or {}).get(JOB_COMPLETION_INDEX_ANNOTATION)
    if value is None or not value.isdigit():
        return None
    return int(value)


def parse_indexes(text: str | None) -> set[int]:
    """"1,3-5,7" -> {1, 3, 4, 5, 7}."""
    result: set[int] = set()
    for part in (text or "").split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        result.update(range(int(first), int(last or first) + 1))
    return result


def format_indexes(indexes: Iterable[int]) -> str:
    """Sorted, three or more consecutive numbers written as "first-last" (succeededIndexes.String)."""
    ordered = sorted(set(indexes))
    parts: list[str] = []
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        if end - start >= 2:
            parts.append(f"{ordered[start]}-{ordered[end]}")
        else:
            parts.extend(str(i) for i in ordered[start:end + 1])
        start = end + 1
    return ",".join(parts)


def pod_template_for_job(job: Job) -> PodTemplateSpec:
    """The template every pod of `job` starts from: the tracking finalizer added, and
    for Indexed Jobs JOB_COMPLETION_INDEX read from the index annotation through the
    downward API (addCompletionIndexEnvVariables)."""
    template = deep_copy(job.spec.template)
    template.metadata = template.metadata or ObjectMeta()
    finalizers = list(template.metadata.finalizers or [])
    if JOB_TRACKING_FINALIZER not in finalizers:
        finalizers.append(JOB_TRACKING_FINALIZER)
    template.metadata.finalizers = finalizers
    if is_indexed(job) and template.spec is not None:
        source = EnvVarSource(field_ref=ObjectFieldSelector(
            field_path=f"metadata.annotations['{JOB_COMPLETION_INDEX_ANNOTATION}']"))
        for container in [*(template.spec.init_containers or []), *(template.spec.containers or [])]:
            env = list(container.env or [])
            if not any(e.name == JOB_COMPLETION_INDEX_ENV for e in env):
                env.append(EnvVar(name=JOB_COMPLETION_INDEX_ENV, value_from=source))
            container.env = env
    return template


# --- pod failure policy ----------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyMatch:
    """What a failed pod means under the Job's podFailurePolicy (matchPodFailurePolicy)."""

    action: str | None  # None: no rule matched, count it
    message: str = ""

    @property
    def counts(self) -> bool:
        return self.action != PodFailurePolicyAction.IGNORE


def match_pod_failure_policy(job: Job, pod: Pod) -> PolicyMatch:
    policy = job.spec.pod_failure_policy
    if policy is None or pod.status is None:
        return PolicyMatch(None)
    for index, rule in enumerate(policy.rules):
        if rule.on_exit_codes is not None:
            requirement = rule.on_exit_codes
            for status in [*(pod.status.init_container_statuses or []), *(pod.status.container_statuses or [])]:
                terminated = status.state.terminated if status.state else None
                if terminated is None or terminated.exit_code == 0:
                    continue  # successes never match
                if requirement.container_name not in (None, status.name):
                    continue
                listed = terminated.exit_code in requirement.values
                if listed == (requirement.operator == "In"):
                    return PolicyMatch(rule.action, (
                        f"Container {status.name} for pod {pod.metadata.namespace}/{pod.metadata.name} "
                        f"failed with exit code {terminated.exit_code} matching {rule.action} rule at "
                        f"index {index}"))
        elif rule.on_pod_conditions:
            for condition in pod.status.conditions or []:
                for pattern in rule.on_pod_conditions:
                    if condition.type == pattern.type and condition.status == pattern.status:
                        return PolicyMatch(rule.action, (
                            f"Pod {pod.metadata.namespace}/{pod.metadata.name} has condition "
                            f"{condition.type} matching {rule.action} rule at index {index}"))
    return PolicyMatch(None)


# --- backoff between re-creations ------------------------------------------------------------


@dataclass
class BackoffRecord:
    """Failures since the last success and when the last one happened (backoffRecord)."""

    failures_after_last_success: int = 0
    last_failure_time: float | None = None

    def remaining_seconds(self, now: float) -> float:
        """How long pod creation must still wait: 10 s after one failure, doubling per
        further failure, capped at 6 minutes (getRemainingTimeForFailuresCount)."""
        if self.failures_after_last_success == 0 or self.last_failure_time is None:
            return 0.0
        delay = DEFAULT_JOB_POD_FAILURE_BACKOFF_SECONDS
        for _ in range(1, self.failures_after_last_success):
            delay = min(delay * 2, MAX_JOB_POD_FAILURE_BACKOFF_SECONDS)
        return max(0.0, delay - (now - self.last_failure_time))

    def record(self, successes: list[float], failures: list[float]) -> None:
        """New finished pods (their finish times): a success after the last failure
        resets the count (newBackoffRecord)."""
        if successes and (not failures or max(successes) > max(failures)):
            self.failures_after_last_success, self.last_failure_time = 0, None
            failures = [f for f in failures if f > max(successes)]
        if failures:
            self.failures_after_last_success += len(failures)
            latest = max(failures)
            self.last_failure_time = latest if self.last_failure_time is None else max(
                self.last_failure_time, latest)
