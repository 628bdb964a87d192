"""batch/v1: Job (run pods to completion) and CronJob (create Jobs on a schedule).

A Job owns pods made from its template until `completions` of them succeeded
(or, in Indexed mode, one per index), at most `parallelism` at a time; it fails
after `backoffLimit` pod failures, after `activeDeadlineSeconds`, or when a
`podFailurePolicy` rule says FailJob. Pods carry the `batch.kubernetes.io/job-tracking`
finalizer until the Job controller has counted them (`uncountedTerminatedPods`).
A CronJob's `jobTemplate` is a Job spec plus the metadata its Jobs get.

Kubernetes counterpart: staging/src/k8s.io/api/batch/v1/types.go
"""

from __future__ import annotations

from pydantic import Field

from tinykube.api.core import ObjectReference, PodTemplateSpec
from tinykube.api.meta import Condition, KubeModel, KubeObject, LabelSelector, ObjectMeta, WireEnum

# Labels and annotations the API server and the Job controller put on a Job's pods.
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
LEGACY_JOB_NAME_LABEL = "job-name"
JOB_COMPLETION_INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
JOB_TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"


class CompletionMode(WireEnum):
    NON_INDEXED = "NonIndexed"
    INDEXED = "Indexed"


class JobConditionType(WireEnum):
    SUSPENDED = "Suspended"
    COMPLETE = "Complete"
    FAILED = "Failed"
    FAILURE_TARGET = "FailureTarget"
    SUCCESS_CRITERIA_MET = "SuccessCriteriaMet"


class PodFailurePolicyAction(WireEnum):
    FAIL_JOB = "FailJob"
    FAIL_INDEX = "FailIndex"
    IGNORE = "Ignore"
    COUNT = "Count"


class PodFailurePolicyOnExitCodesOperator(WireEnum):
    IN = "In"
    NOT_IN = "NotIn"


class ConcurrencyPolicy(WireEnum):
    ALLOW = "Allow"
    FORBID = "Forbid"
    REPLACE = "Replace"


class PodFailurePolicyOnExitCodesRequirement(KubeModel):
    container_name: str | None = None
    operator: str
    values: list[int] = Field(default_factory=list)


class PodFailurePolicyOnPodConditionsPattern(KubeModel):
    type: str
    status: str = "True"


class PodFailurePolicyRule(KubeModel):
    """Exactly one of on_exit_codes and on_pod_conditions is set."""

    action: str
    on_exit_codes: PodFailurePolicyOnExitCodesRequirement | None = None
    on_pod_conditions: list[PodFailurePolicyOnPodConditionsPattern] | None = None


class PodFailurePolicy(KubeModel):
    rules: list[PodFailurePolicyRule] = Field(default_factory=list)


class JobSpec(KubeModel):
    parallelism: int | None = None
    completions: int | None = None
    active_deadline_seconds: int | None = None
    pod_failure_policy: PodFailurePolicy | None = None
    backoff_limit: int | None = None
    selector: LabelSelector | None = None
    manual_selector: bool | None = None
    template: PodTemplateSpec = Field(default_factory=PodTemplateSpec)
    ttl_seconds_after_finished: int | None = None
    completion_mode: str | None = None
    suspend: bool | None = None


class JobCondition(Condition):
    last_probe_time: str | None = None


class UncountedTerminatedPods(KubeModel):
    """UIDs of finished pods whose finalizer is being removed, not yet in the counts."""

    succeeded: list[str] | None = None
    failed: list[str] | None = None


class JobStatus(KubeModel):
    conditions: list[JobCondition] | None = None
    start_time: str | None = None
    completion_time: str | None = None
    active: int | None = None
    succeeded: int | None = None
    failed: int | None = None
    terminating: int | None = None
    completed_indexes: str | None = None
    uncounted_terminated_pods: UncountedTerminatedPods | None = None
    ready: int | None = None


class Job(KubeObject):
    api_version: str = "batch/v1"
    kind: str = "Job"
    spec: JobSpec = Field(default_factory=JobSpec)
    status: JobStatus | None = None


class JobTemplateSpec(KubeModel):
    metadata: ObjectMeta | None = None
    spec: JobSpec = Field(default_factory=JobSpec)


class CronJobSpec(KubeModel):
    schedule: str = ""
    time_zone: str | None = None
    starting_deadline_seconds: int | None = None
    concurrency_policy: str | None = None
    suspend: bool | None = None
    job_template: JobTemplateSpec = Field(default_factory=JobTemplateSpec)
    successful_jobs_history_limit: int | None = None
    failed_jobs_history_limit: int | None = None


class CronJobStatus(KubeModel):
    active: list[ObjectReference] | None = None
    last_schedule_time: str | None = None
    last_successful_time: str | None = None


class CronJob(KubeObject):
    api_version: str = "batch/v1"
    kind: str = "CronJob"
    spec: CronJobSpec = Field(default_factory=CronJobSpec)
    status: CronJobStatus | None = None
