"""The CronJob controller: one Job per activation of a cron schedule.

`sync_cron_job(key)` reads the CronJob and the Jobs it controls from the caches, then
1. cleans up: finished Jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit
   are deleted, oldest first (background propagation: the GC removes their pods);
2. reconciles status: a finished Job leaves `status.active` (event SawCompletedJob) and
   moves lastSuccessfulTime; an active reference whose Job is gone is dropped (MissingJob);
3. unless suspended or being deleted, starts the latest unmet activation: too late for
   startingDeadlineSeconds -> MissSchedule; Forbid with a Job running -> JobAlreadyActive;
   Replace deletes the running Jobs first; then creates `<name>-<unix minutes>`;
4. writes status once if anything changed, and requeues the key for just after the next
   activation (the Clock's timer: a fake clock drives it in tests).

Event handlers only enqueue: CronJob events their key, Job events their controlling
CronJob. No expectations are needed: the Job's name is derived from the activation,
so a create repeated after a crash or a stale cache is a 409, and the existing Job is
taken into `status.active` instead of being created twice.

Kubernetes counterpart: pkg/controller/cronjob/cronjob_controllerv2.go
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from controller_manager.controller_utils import Controller, resolve_controller_ref
from controller_manager.cronjob import utils
from tinykube.api.batch import ConcurrencyPolicy, CronJob, CronJobStatus, Job, JobConditionType
from tinykube.api.cron import CronParseError, Schedule, parse_standard
from tinykube.api.meta import format_rfc3339, is_controlled_by, parse_rfc3339
from tinykube.api.registry import deep_copy
from tinykube.api.resources import CRON_JOBS, JOBS
from tinykube.client import (
    NAMESPACE_INDEX, REAL_CLOCK, AlreadyExists, Clock, EventRecorder, NotFound, RESTClient, SharedInformerFactory,
    meta_namespace_key,
)

log = logging.getLogger(__name__)

KIND = "CronJob"
NORMAL, WARNING = "Normal", "Warning"


class CronJobController(Controller):
    """Guarantees:
    - at most one Job per (CronJob, activation), whatever the restarts and cache lag;
    - status is written at most once per sync, only when it changed.
    """

    name = "cronjob"

    def __init__(self, client: RESTClient, factory: SharedInformerFactory, recorder: EventRecorder,
                 *, clock: Clock = REAL_CLOCK, **options: Any) -> None:
        super().__init__(client, recorder, self.sync_cron_job, clock=clock)
        self.cron_job_informer = factory.informer_for(CRON_JOBS)
        self.job_informer = factory.informer_for(JOBS)
        self.cron_job_informer.add_event_handler(self.enqueue, lambda old, cur: self.enqueue(cur), self.enqueue)
        self.job_informer.add_event_handler(self.job_changed, self.update_job, self.job_changed)

    # --- event handlers: only turn events into keys ------------------------------------

    def resolve_controller_ref(self, job: Job) -> CronJob | None:
        owner: CronJob | None = resolve_controller_ref(job, KIND, self.cron_job_informer)
        return owner

    def job_changed(self, job: Job) -> None:
        cron_job = self.resolve_controller_ref(job)
        if cron_job is not None:
            self.enqueue(cron_job)

    def update_job(self, old: Job, cur: Job) -> None:
        if old.metadata.resource_version == cur.metadata.resource_version:
            return  # a resync: nothing changed
        old_owner, cur_owner = self.resolve_controller_ref(old), self.resolve_controller_ref(cur)
        if old_owner is not None and (cur_owner is None or old_owner.metadata.uid != cur_owner.metadata.uid):
            self.enqueue(old_owner)
        if cur_owner is not None:
            self.enqueue(cur_owner)

    # --- the reconcile --------------------------------------------------------------------

    async def sync_cron_job(self, key: str) -> None:
        cached: CronJob | None = self.cron_job_informer.indexer.get(key)
        if cached is None:
            log.debug("cronjob deleted key=%s", key)
            return
        jobs: list[Job] = [job for job in self.job_informer.indexer.by_index(NAMESPACE_INDEX,
                                                                             cached.metadata.namespace or "")
                           if is_controlled_by(job, cached)]
        cron_job = deep_copy(cached)
        if cron_job.status is None:
            cron_job.status = CronJobStatus()
        changed = await self.cleanup_finished_jobs(cron_job, jobs)
        sync_error: Exception | None = None
        requeue_after: float | None = None
        try:
            requeue_after, synced_changes = await self.sync(cron_job, jobs)
            changed = changed or synced_changes
        except Exception as err:  # status is written all the same, then the key is retried
            sync_error = err
        if changed:
            await self.client.update_status(CRON_JOBS, cron_job)
        if sync_error is not None:
            raise sync_error
        if requeue_after is not None:
            log.debug("requeue cronjob=%s after_seconds=%.1f", key, requeue_after)
            self.queue.add_after(key, requeue_after)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.wall(), UTC)

    async def sync(self, cron_job: CronJob, jobs: list[Job]) -> tuple[float | None, bool]:
        """Steps 2 and 3 on `cron_job` (a copy); returns (requeue after seconds, status changed)."""
        now = self.now()
        changed = await self.reconcile_active(cron_job, jobs)
        if cron_job.metadata.deletion_timestamp is not None or cron_job.spec.suspend:
            return None, changed
        parsed = self.parse_schedule(cron_job)
        if parsed is None:
            return None, changed  # a user error: wait for the spec to change
        schedule, zone = parsed
        requeue = utils.requeue_after_seconds(schedule, zone, now)
        times = utils.next_schedule_time(cron_job, schedule, zone, now)
        if times.too_many:
            self.recorder.event(cron_job, WARNING, "TooManyMissedTimes",
                                "too many missed start times. Set or decrease .spec.startingDeadlineSeconds "
                                "or check clock skew")
        scheduled = times.most_recent
        if scheduled is None:
            missed = utils.missed_beyond_deadline(cron_job, schedule, zone, now)
            if missed is not None:
                self.recorder.event(cron_job, WARNING, "MissSchedule",
                                    f"Missed scheduled time to start a job: {utils.format_rfc1123z(missed)}")
            return requeue, changed
        name = utils.job_name(cron_job, scheduled)
        assert cron_job.status is not None
        if (any(ref.name == name for ref in cron_job.status.active or ())
                or utils.is_last_schedule_time(cron_job, scheduled)):
            return requeue, changed  # this activation was handled already
        if cron_job.spec.concurrency_policy == ConcurrencyPolicy.FORBID and cron_job.status.active:
            self.recorder.event(cron_job, NORMAL, "JobAlreadyActive",
                                "Not starting job because prior execution is running and concurrency policy "
                                "is Forbid")
            return requeue, changed
        if cron_job.spec.concurrency_policy == ConcurrencyPolicy.REPLACE:
            for ref in list(cron_job.status.active or ()):
                job = Job.from_dict(await self.client.get(JOBS, ref.name or "", ref.namespace))
                if not await self.delete_job(cron_job, job):
                    raise RuntimeError(f"could not replace job {ref.namespace}/{ref.name}")
                changed = True
        if await self.create_job(cron_job, scheduled, zone):
            cron_job.status.last_schedule_time = format_rfc3339(scheduled)
            changed = True
        return requeue, changed

    def parse_schedule(self, cron_job: CronJob) -> tuple[Schedule, ZoneInfo] | None:
        """The schedule and its zone; None (after a Warning event) when either is unusable."""
        try:
            schedule = parse_standard(cron_job.spec.schedule)
        except CronParseError as err:
            self.recorder.event(cron_job, WARNING, "UnparseableSchedule",
                                f'unparseable schedule: "{cron_job.spec.schedule}" : {err}')
            return None
        try:
            return schedule, utils.schedule_zone(cron_job, schedule)
        except ValueError as err:
            self.recorder.event(cron_job, WARNING, "UnknownTimeZone",
                                f'invalid timeZone: "{cron_job.spec.time_zone}": {err}')
            return None

    async def create_job(self, cron_job: CronJob, scheduled: datetime, zone: ZoneInfo) -> bool:
        """Create the activation's Job and record it as active; False if another actor owns that name."""
        assert cron_job.status is not None
        request = utils.get_job_from_template(cron_job, scheduled, zone)
        try:
            job = await self.client.create_object(request)
        except AlreadyExists:
            # Created by an earlier sync (a crash before the status write, or a stale cache).
            job = Job.from_dict(await self.client.get(JOBS, request.metadata.name or "", cron_job.metadata.namespace))
            if not is_controlled_by(job, cron_job) or utils.in_active_list(cron_job, job.metadata.uid):
                return False
            log.info("job already exists cronjob=%s job=%s", meta_namespace_key(cron_job), job.metadata.name)
        except Exception as err:
            self.recorder.event(cron_job, WARNING, "FailedCreate", f"Error creating job: {err}")
            raise
        else:
            log.info("created job cronjob=%s job=%s", meta_namespace_key(cron_job), job.metadata.name)
            self.recorder.event(cron_job, NORMAL, "SuccessfulCreate", f"Created job {job.metadata.name}")
        cron_job.status.active = [*(cron_job.status.active or ()), utils.job_reference(job)]
        return True

    async def reconcile_active(self, cron_job: CronJob, jobs: list[Job]) -> bool:
        """Bring status.active and lastSuccessfulTime in line with the Jobs; True if they changed."""
        assert cron_job.status is not None
        status, changed = cron_job.status, False
        for job in jobs:
            condition = utils.finished_condition(job)
            found = utils.in_active_list(cron_job, job.metadata.uid)
            if not found and condition is None:
                fresh = CronJob.from_dict(await self.client.get(CRON_JOBS, cron_job.metadata.name or "",
                                                                cron_job.metadata.namespace))
                if not utils.in_active_list(fresh, job.metadata.uid):
                    self.recorder.event(cron_job, WARNING, "UnexpectedJob",
                                        f"Saw a job that the controller did not create or forgot: {job.metadata.name}")
            elif found and condition is not None:
                utils.delete_from_active_list(cron_job, job.metadata.uid)
                self.recorder.event(cron_job, NORMAL, "SawCompletedJob",
                                    f"Saw completed job: {job.metadata.name}, condition: {condition}")
                changed = True
            completed = job.status.completion_time if job.status else None
            if condition == JobConditionType.COMPLETE and completed and (
                    status.last_successful_time is None
                    or parse_rfc3339(completed) > parse_rfc3339(status.last_successful_time)):
                status.last_successful_time = completed
                changed = True
        children = {job.metadata.uid for job in jobs}
        for ref in list(status.active or ()):
            if ref.uid in children:
                continue
            try:  # the cache may lag: ask the API server before calling the Job gone
                await self.client.get(JOBS, ref.name or "", ref.namespace)
            except NotFound:
                self.recorder.event(cron_job, NORMAL, "MissingJob", f"Active job went missing: {ref.name}")
                utils.delete_from_active_list(cron_job, ref.uid)
                changed = True
        return changed

    async def cleanup_finished_jobs(self, cron_job: CronJob, jobs: list[Job]) -> bool:
        """Delete the oldest finished Jobs beyond the history limits; True if any was deleted."""
        limits = {JobConditionType.COMPLETE: cron_job.spec.successful_jobs_history_limit,
                  JobConditionType.FAILED: cron_job.spec.failed_jobs_history_limit}
        changed = False
        for condition, limit in limits.items():
            if limit is None:
                continue
            finished = sorted((job for job in jobs if utils.finished_condition(job) == condition),
                              key=utils.by_job_start_time)
            for job in finished[:max(0, len(finished) - limit)]:
                changed = await self.delete_job(cron_job, job) or changed
        return changed

    async def delete_job(self, cron_job: CronJob, job: Job) -> bool:
        try:
            await self.client.delete(JOBS, job.metadata.name or "", job.metadata.namespace,
                                     propagation_policy="Background")
        except NotFound:
            pass  # already gone: what we wanted
        except Exception as err:
            log.warning("delete job failed cronjob=%s job=%s err=%s", meta_namespace_key(cron_job),
                        job.metadata.name, err)
            self.recorder.event(cron_job, WARNING, "FailedDelete", f"Deleted job: {err}")
            return False
        utils.delete_from_active_list(cron_job, job.metadata.uid)
        self.recorder.event(cron_job, NORMAL, "SuccessfulDelete", f"Deleted job {job.metadata.name}")
        return True
