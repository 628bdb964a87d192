"""The TTL-after-finished controller: deletes a finished Job `ttlSecondsAfterFinished`
after it finished.

A Job finished when its Complete or Failed condition turned True; that condition's
lastTransitionTime plus the TTL is when it expires. Before then the key is queued
again for the time left (on the injected clock). At expiry the Job is read fresh from
the API server (its TTL may have changed since the cache saw it) and deleted with
foreground propagation, so its pods go first, and with uid and resourceVersion
preconditions, so a Job changed meanwhile is left for the next look.

Kubernetes counterpart: pkg/controller/ttlafterfinished/ttlafterfinished_controller.go
"""

from __future__ import annotations

import logging
from typing import Any

from controller_manager.controller_utils import Controller
from controller_manager.job.util import condition_true
from tinykube.api.batch import Job, JobConditionType
from tinykube.api.meta import parse_rfc3339, split_meta_namespace_key
from tinykube.api.resources import JOBS
from tinykube.client import REAL_CLOCK, Clock, Conflict, EventRecorder, NotFound, RESTClient, SharedInformerFactory

log = logging.getLogger(__name__)


def needs_cleanup(job: Job) -> bool:
    """A TTL is set and the Job finished (needsCleanup)."""
    return job.spec.ttl_seconds_after_finished is not None and (
        condition_true(job, JobConditionType.COMPLETE) or condition_true(job, JobConditionType.FAILED))


def job_finish_time(job: Job) -> float | None:
    """When the terminal condition turned True (jobFinishTime)."""
    for condition in (job.status.conditions if job.status else None) or []:
        if (condition.type in (JobConditionType.COMPLETE, JobConditionType.FAILED) and condition.status == "True"
                and condition.last_transition_time):
            return parse_rfc3339(condition.last_transition_time).timestamp()
    return None


def time_left(job: Job, now: float) -> float | None:
    """Seconds until `job` expires (<= 0: expired); None when it never does."""
    finished_at = job_finish_time(job)
    if not needs_cleanup(job) or finished_at is None:
        return None
    return finished_at + (job.spec.ttl_seconds_after_finished or 0) - now


class TTLAfterFinishedController(Controller):
    """Guarantees: a Job is deleted only after a fresh read confirms it expired, and
    only if it is still that object (uid and resourceVersion preconditions)."""

    name = "ttl-after-finished"

    def __init__(self, client: RESTClient, factory: SharedInformerFactory, recorder: EventRecorder,
                 *, clock: Clock = REAL_CLOCK, **options: Any) -> None:
        super().__init__(client, recorder, self.process_job, clock=clock)
        self.job_informer = factory.informer_for(JOBS)
        self.job_informer.add_event_handler(self.add_job, lambda old, cur: self.add_job(cur), None)

    def add_job(self, job: Job) -> None:
        if job.metadata.deletion_timestamp is None and needs_cleanup(job):
            self.enqueue(job)

    async def process_job(self, key: str) -> None:
        namespace, name = split_meta_namespace_key(key)
        job: Job | None = self.job_informer.indexer.get(key)
        if job is None or job.metadata.deletion_timestamp is not None:
            return
        if not self.expired(key, job):
            return
        try:
            fresh = await self.client.get_object(Job, name, namespace)
        except NotFound:
            return
        if fresh.metadata.deletion_timestamp is not None or not self.expired(key, fresh):
            return
        log.info("cleaning up job job=%s", key)
        try:
            await self.client.delete(JOBS, name, namespace, propagation_policy="Foreground",
                                     preconditions={"uid": fresh.metadata.uid or "",
                                                    "resourceVersion": fresh.metadata.resource_version or ""})
        except (NotFound, Conflict):
            pass  # gone, or changed since the read: its next event brings it back here

    def expired(self, key: str, job: Job) -> bool:
        """Whether `job` expired; if it will later, look again then."""
        left = time_left(job, self.clock.wall())
        if left is None:
            return False
        if left > 0:
            self.queue.add_after(key, left)
            return False
        return True
