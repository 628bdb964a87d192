"""Jobs and CronJobs: defaults, the generated selector, and Job spec validation.

- Unless `manualSelector` is true, a Job's selector is generated: the template gets
  the `controller-uid` and `job-name` labels (legacy and `batch.kubernetes.io/`
  forms) and the selector matches the new controller-uid, so a Job only ever owns
  its own pods.
- A Job's spec is validated as upstream: non-negative counts, restartPolicy
  OnFailure or Never, Indexed needs completions, a podFailurePolicy needs Never;
  after create the selector, template, completions (but see below), completionMode
  and podFailurePolicy do not change.
- A CronJob's jobTemplate gets the pod template defaults and the Job spec checks
  (its schedule is left to the CronJob controller's work).

Kubernetes counterpart: pkg/registry/batch/job/strategy.go,
pkg/registry/batch/cronjob/strategy.go, pkg/apis/batch/v1/defaults.go,
pkg/apis/batch/validation/validation.go
"""

from __future__ import annotations

from typing import Any

from apiserver.strategies.cronjob import validate_cron_job_name, validate_cron_job_time
from apiserver.strategies.jobspec import default_job_spec, validate_job_spec, validate_job_spec_update
from apiserver.strategies.podspec import default_pod_spec
from apiserver.strategy import Obj, Strategy
from tinykube.api.batch import (
    CONTROLLER_UID_LABEL,
    JOB_NAME_LABEL,
    LEGACY_CONTROLLER_UID_LABEL,
    LEGACY_JOB_NAME_LABEL,
)
from tinykube.api.validation import FieldError, invalid, not_supported

CONCURRENCY_POLICIES = ["Allow", "Forbid", "Replace"]
CRON_JOB_DEFAULTS: dict[str, Any] = {
    "concurrencyPolicy": "Allow", "suspend": False,
    "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
}


def generate_selector(job: Obj) -> None:
    """Label the template with the Job's name and uid and select on the uid
    (strategy.go generateSelector). Labels a user set are kept: a conflict is
    refused by validation instead."""
    meta = job.get("metadata") or {}
    spec = job.setdefault("spec", {})
    template = spec.setdefault("template", {})
    template_meta = template.setdefault("metadata", {})
    labels = template_meta.get("labels") or {}
    for key in (LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL):
        labels.setdefault(key, str(meta.get("name") or ""))
    for key in (LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL):
        labels.setdefault(key, str(meta.get("uid") or ""))
    template_meta["labels"] = labels
    selector = spec.get("selector") or {}
    match_labels = selector.get("matchLabels") or {}
    match_labels.setdefault(CONTROLLER_UID_LABEL, str(meta.get("uid") or ""))
    selector["matchLabels"] = match_labels
    spec["selector"] = selector


def validate_generated_selector(job: Obj) -> list[FieldError]:
    """An auto-generated selector must be exactly controller-uid=<uid>
    (validation.go validateGeneratedSelector)."""
    spec = job.get("spec") or {}
    uid = (job.get("metadata") or {}).get("uid")
    if spec.get("manualSelector") or not uid or spec.get("selector") is None:
        return []
    errs: list[FieldError] = []
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    for key in (CONTROLLER_UID_LABEL, LEGACY_CONTROLLER_UID_LABEL):
        if labels.get(key) != uid:
            errs.append(invalid(f"spec.template.metadata.labels[{key}]", labels.get(key, ""),
                                f"must be '{uid}'"))
    if spec["selector"] != {"matchLabels": {CONTROLLER_UID_LABEL: uid}}:
        errs.append(invalid("spec.selector", spec["selector"], "`selector` not auto-generated"))
    return errs


class JobStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        spec = obj.setdefault("spec", {})
        if not isinstance(spec, dict):
            return
        default_job_spec(spec)
        if not spec.get("manualSelector"):
            generate_selector(obj)
        # SetDefaults_Job: a Job without labels takes its template's.
        meta = obj.setdefault("metadata", {})
        template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
        if template_labels and not meta.get("labels"):
            meta["labels"] = dict(template_labels)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        spec = new.get("spec")
        if isinstance(spec, dict):
            default_job_spec(spec)

    def validate(self, obj: Obj) -> list[FieldError]:
        return (super().validate(obj) + validate_generated_selector(obj)
                + validate_job_spec(obj.get("spec"), "spec"))

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return (super().validate_update(new, old) + validate_job_spec(new.get("spec"), "spec")
                + validate_job_spec_update(new.get("spec") or {}, old.get("spec") or {}, "spec"))


class CronJobStrategy(Strategy):
    def _default(self, obj: Obj) -> None:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        for key, value in CRON_JOB_DEFAULTS.items():
            spec.setdefault(key, value)
        # Only the pod template is defaulted: a jobTemplate's Job fields get their
        # defaults when its Job is created (SetDefaults_Job is for Jobs, not JobSpecs).
        pod_spec = (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec")
        if isinstance(pod_spec, dict):
            default_pod_spec(pod_spec)

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        self._default(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        self._default(new)

    def validate(self, obj: Obj) -> list[FieldError]:
        return (super().validate(obj) + validate_cron_job_name(obj) + validate_cron_job_time(obj)
                + validate_cron_job_spec(obj.get("spec")))

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return (super().validate_update(new, old) + validate_cron_job_time(new, old)
                + validate_cron_job_spec(new.get("spec")))


def validate_cron_job_spec(spec: Any) -> list[FieldError]:
    """The parts of ValidateCronJobSpec that are about Jobs, not schedules."""
    if not isinstance(spec, dict):
        return []
    errs: list[FieldError] = []
    policy = spec.get("concurrencyPolicy")
    if policy is not None and policy not in CONCURRENCY_POLICIES:
        errs.append(not_supported("spec.concurrencyPolicy", policy, CONCURRENCY_POLICIES))
    for key in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        value = spec.get(key)
        if isinstance(value, int) and value < 0:
            errs.append(invalid(f"spec.{key}", value, "must be greater than or equal to 0"))
    job_template = spec.get("jobTemplate") or {}
    job_spec = job_template.get("spec")
    # A CronJob's Jobs get a generated selector when they are created: none is needed here.
    errs.extend(validate_job_spec(job_spec, "spec.jobTemplate.spec", selector_required=False))
    return errs
