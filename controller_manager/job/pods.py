"""The Job controller's writes to pods: create up to the wanted number, delete
extras and (for a failed, finished or suspended Job) every active pod, and remove
the tracking finalizer.

A pod the controller deletes loses its finalizer first (it is accounted for by the
caller), so it is never mistaken for a pod that failed by itself. Creates start in
slow-start batches and wait for the Job's failure backoff; Indexed Jobs create the
lowest indexes that neither succeeded nor have an active pod, each named
`<job>-<index>-` with the index annotation, label and hostname.

Kubernetes counterpart: pkg/controller/job/job_controller.go (manageJob,
deleteJobPods, removeTrackingFinalizerFromPods), indexed_job_utils.go
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from controller_manager.controller_utils import (
    SLOW_START_INITIAL_BATCH_SIZE, active_pods_sort_key, create_controlled_pod, delete_controlled_pod,
    get_pod_from_template, slow_start_batch,
)
from controller_manager.job.util import (
    MAX_POD_CREATE_DELETE_PER_SYNC, completion_index, has_tracking_finalizer, is_indexed, parse_indexes,
    pod_template_for_job,
)
from tinykube.api.batch import JOB_COMPLETION_INDEX_ANNOTATION, JOB_TRACKING_FINALIZER, Job, JobStatus
from tinykube.api.core import Pod, PodTemplateSpec
from tinykube.api.meta import new_controller_ref
from tinykube.api.resources import PODS
from tinykube.client import NotFound, PatchType, meta_namespace_key

if TYPE_CHECKING:
    from controller_manager.job.controller import JobController

log = logging.getLogger(__name__)

REMOVE_FINALIZER_PATCH = {"metadata": {"$deleteFromPrimitiveList/finalizers": [JOB_TRACKING_FINALIZER]}}


async def remove_finalizers(controller: JobController, key: str, pods: list[Pod]) -> set[str]:
    """Remove the tracking finalizer from `pods`; the UIDs it is now gone from.
    Removals in flight are expected, so a stale cache never counts a pod twice."""
    pods = [p for p in pods if has_tracking_finalizer(p)]
    if not pods:
        return set()
    expected = controller.finalizer_expectations.setdefault(key, set())
    expected.update(p.metadata.uid or "" for p in pods)

    async def remove(pod: Pod) -> str:
        uid = pod.metadata.uid or ""
        try:
            await controller.client.patch(PODS, pod.metadata.name or "", REMOVE_FINALIZER_PATCH,
                                          patch_type=PatchType.STRATEGIC, namespace=pod.metadata.namespace)
        except NotFound:
            expected.discard(uid)  # gone: nothing holds it any more
        except Exception:
            expected.discard(uid)
            raise
        return uid

    results = await asyncio.gather(*(remove(p) for p in pods), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]
    return {r for r in results if isinstance(r, str)}


async def delete_job_pods(controller: JobController, job: Job, key: str, pods: list[Pod]) -> int:
    """Delete `pods` (finalizer first); how many deletes succeeded."""
    if not pods:
        return 0
    await remove_finalizers(controller, key, pods)
    controller.expectations.expect_deletions(key, [meta_namespace_key(p) for p in pods])
    results = await asyncio.gather(*(delete_controlled_pod(controller.client, controller.recorder,
                                                           controller.expectations, job, key, p) for p in pods),
                                   return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]
    return len(pods)


async def manage_job(controller: JobController, job: Job, key: str, status: JobStatus, active: list[Pod],
                     succeeded: int) -> tuple[list[Pod], int]:
    """Converge the active pods to what the Job wants now: the pods still active,
    and how many were created."""
    if job.spec.suspend:
        await delete_job_pods(controller, job, key, active)
        return [], 0
    parallelism = job.spec.parallelism if job.spec.parallelism is not None else 1
    if job.spec.completions is None:
        want = len(active) if succeeded > 0 else parallelism
    else:
        want = max(0, min(parallelism, job.spec.completions - succeeded))
    to_delete = pods_for_removal(job, status, active, len(active) - want)
    if to_delete:
        to_delete = to_delete[:MAX_POD_CREATE_DELETE_PER_SYNC]
        log.info("too many pods running job=%s deleting=%d", key, len(to_delete))
        await delete_job_pods(controller, job, key, to_delete)
        return [p for p in active if p not in to_delete], 0
    diff = min(want - len(active), MAX_POD_CREATE_DELETE_PER_SYNC)
    if diff <= 0:
        return active, 0
    remaining = controller.backoff[key].remaining_seconds(controller.clock.wall()) if key in controller.backoff else 0
    if remaining > 0:
        log.info("pod creation in backoff job=%s seconds=%.1f", key, remaining)
        controller.queue.add_after(key, remaining)
        return active, 0
    indexes = first_pending_indexes(job, status, active, diff) if is_indexed(job) else [None] * diff
    log.info("too few pods running job=%s need=%d creating=%d", key, want, len(indexes))
    controller.expectations.expect_creations(key, len(indexes))
    template = pod_template_for_job(job)
    pending = iter(indexes)

    async def create_one() -> None:
        await create_pod(controller, job, template, next(pending))

    successes, error = await slow_start_batch(len(indexes), SLOW_START_INITIAL_BATCH_SIZE, create_one)
    if successes < len(indexes):
        controller.expectations.lower_expectations(key, len(indexes) - successes, 0)
    if error is not None:
        raise error
    return active, successes


async def create_pod(controller: JobController, job: Job, template: PodTemplateSpec, index: int | None) -> None:
    pod = get_pod_from_template(template, job, new_controller_ref(job))
    if index is not None:
        pod.metadata.annotations = {**(pod.metadata.annotations or {}), JOB_COMPLETION_INDEX_ANNOTATION: str(index)}
        pod.metadata.labels = {**(pod.metadata.labels or {}), JOB_COMPLETION_INDEX_ANNOTATION: str(index)}
        pod.metadata.generate_name = f"{job.metadata.name}-{index}-"
        if pod.spec is not None:
            pod.spec.hostname = f"{job.metadata.name}-{index}"
    await create_controlled_pod(controller.client, controller.recorder, job, pod)


def pods_for_removal(job: Job, status: JobStatus, active: list[Pod], count: int) -> list[Pod]:
    """Indexed: pods of completed, duplicated or out-of-range indexes first; then the
    pods that matter least (activePodsForRemoval)."""
    chosen: list[Pod] = []
    if is_indexed(job):
        completed = parse_indexes(status.completed_indexes)
        seen: set[int] = set()
        for pod in sorted(active, key=active_pods_sort_key, reverse=True):
            index = completion_index(pod)
            if index is None or index >= (job.spec.completions or 0) or index in completed or index in seen:
                chosen.append(pod)
            else:
                seen.add(index)
    rest = sorted((p for p in active if p not in chosen), key=active_pods_sort_key)
    return chosen + rest[:max(0, count - len(chosen))]


def first_pending_indexes(job: Job, status: JobStatus, active: list[Pod], count: int) -> list[int | None]:
    taken = parse_indexes(status.completed_indexes) | {i for p in active if (i := completion_index(p)) is not None}
    free = (i for i in range(job.spec.completions or 0) if i not in taken)
    return [index for index, _ in zip(free, range(count))]
