"""What every controller shares: the queue-and-workers shape, pod ordering, claiming, batching.

- `Controller`: the base of every controller. It keeps the client, the event
  recorder and the clock, owns the `RateLimitingQueue` of keys that event handlers
  fill, and `run(workers)` hands each key to the controller's `sync_handler` (its
  level-triggered `sync_<kind>(key)`, as upstream's `syncHandler` field) through
  `run_workers`: a failure is retried with the queue's backoff, a success resets
  it. Retries live there, never in the business logic.
- `active_pods_sort_key`: the order in which a ReplicaSet gives pods up (the pods
  that matter least first), as upstream's `ActivePods`.
- `claim_objects`: the ControllerRefManager. An owner adopts matching orphans by
  patching in a controller ownerReference and releases objects it owns that its
  selector no longer matches. Adoption first re-reads the owner from the API server
  (not the cache) so a controller being deleted never adopts anything.
- `slow_start_batch`: issue many creates in batches of 1, 2, 4 ... and stop at the
  first batch that fails, so a quota or webhook error costs one call, not 500.
- `UIDTrackingExpectations`: expectations that remember *which* pods a controller
  deleted, so a pod seen both "terminating" and "deleted" is counted once.

Kubernetes counterpart: pkg/controller/controller_utils.go,
pkg/controller/controller_ref_manager.go
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, ClassVar, TypeVar

from tinykube.api import meta
from tinykube.api.core import Pod, PodPhase, PodTemplateSpec, pod_is_ready
from tinykube.api.meta import (
    KubeObject, ObjectMeta, OwnerReference, get_condition, get_controller_of, parse_rfc3339,
)
from tinykube.api.registry import deep_copy
from tinykube.api.resources import PODS, ResourceInfo
from tinykube.api.selectors import LabelSelector, label_selector_from_dict
from tinykube.client import (
    REAL_CLOCK, Clock, ControllerExpectations, EventRecorder, NotFound, PatchType, RateLimitingQueue,
    RESTClient, meta_namespace_key, run_workers,
)
from tinykube.client.cache import Indexer
from tinykube.client.workqueue import RateLimiter

log = logging.getLogger(__name__)

O = TypeVar("O", bound=KubeObject)
Obj = dict[str, Any]
SyncHandler = Callable[[str], Awaitable[None]]

# A controller may start at most this many creates/deletes per sync (upstream BurstReplicas).
BURST_REPLICAS = 500
SLOW_START_INITIAL_BATCH_SIZE = 1


# --- the shape of a controller ----------------------------------------------------------


class Controller:
    """Informers → handlers → `queue` → `workers` × `sync_handler(key)`.

    - Handlers only turn events into keys (`enqueue`); they never call the API.
    - `sync_handler` is the subclass's level-triggered `sync_<kind>(key)`.
    - A subclass's `__init__(client, factory, recorder, *, clock, **options)` calls
      `super().__init__`, then asks the factory for informers and adds its handlers.
    """

    name: ClassVar[str]

    def __init__(self, client: RESTClient, recorder: EventRecorder, sync_handler: SyncHandler, *,
                 clock: Clock = REAL_CLOCK, rate_limiter: RateLimiter | None = None) -> None:
        self.client, self.recorder, self.clock = client, recorder, clock
        self.sync_handler = sync_handler
        self.queue: RateLimitingQueue[str] = RateLimitingQueue(rate_limiter, clock=clock, name=self.name)

    def enqueue(self, obj: KubeObject) -> None:
        self.queue.add(meta_namespace_key(obj))

    async def run(self, workers: int) -> None:
        """Until cancelled: `workers` tasks take keys and sync them."""
        log.info("starting controller=%s workers=%d", self.name, workers)
        await run_workers(self.name, self.queue, self.sync_handler, workers)


def resolve_controller_ref(indexer: Indexer, obj: KubeObject, kind: str) -> Any:
    """The cached owner of `kind` that `obj`'s controller reference names, if its UID matches
    (a namesake created after the owner was deleted is not the owner)."""
    ref = get_controller_of(obj)
    if ref is None or ref.kind != kind:
        return None
    owner = indexer.get(f"{obj.metadata.namespace}/{ref.name}")
    return owner if owner is not None and owner.metadata.uid == ref.uid else None


def as_selector(selector: meta.LabelSelector | None) -> LabelSelector:
    """A spec's LabelSelector as a matcher; None matches nothing, empty everything."""
    return label_selector_from_dict(selector.to_dict() if selector is not None else None)


# --- pods -----------------------------------------------------------------------------


def is_pod_active(pod: Pod) -> bool:
    """Not terminal and not being deleted: a pod that counts towards replicas."""
    phase = pod.status.phase if pod.status else None
    return (phase not in (PodPhase.SUCCEEDED, PodPhase.FAILED)
            and pod.metadata.deletion_timestamp is None)


def filter_active_pods(pods: Iterable[Pod]) -> list[Pod]:
    return [pod for pod in pods if is_pod_active(pod)]


def _timestamp(value: str | None) -> float | None:
    return parse_rfc3339(value).timestamp() if value else None


def _zero_first_newest_first(seconds: float | None) -> tuple[int, float]:
    # upstream's afterOrZero: an unset time sorts first, then the most recent.
    return (0, 0.0) if seconds is None else (1, -seconds)


_PHASE_ORDINAL = {PodPhase.PENDING: 0, PodPhase.UNKNOWN: 1, PodPhase.RUNNING: 2}


def active_pods_sort_key(pod: Pod) -> tuple[Any, ...]:
    """Ascending order = deletion preference (controller.ActivePods.Less):

    1. unscheduled before scheduled; 2. Pending < Unknown < Running;
    3. not ready before ready; 4. ready for less time first (both ready);
    5. more container restarts first; 6. newer pods first (no timestamp first).
    """
    status = pod.status
    ready = pod_is_ready(pod)
    ready_since: float | None = None
    if ready and status is not None:
        condition = get_condition(status.conditions, "Ready")
        ready_since = _timestamp(condition.last_transition_time if condition else None)
    restarts = max((c.restart_count for c in status.container_statuses or ()), default=0) \
        if status is not None else 0
    return (
        1 if pod.spec and pod.spec.node_name else 0,
        _PHASE_ORDINAL.get(status.phase if status and status.phase else "", 0),
        1 if ready else 0,
        _zero_first_newest_first(ready_since) if ready else (0, 0.0),
        -restarts,
        _zero_first_newest_first(_timestamp(pod.metadata.creation_timestamp)),
    )


def get_pod_from_template(template: PodTemplateSpec | None, parent: KubeObject,
                          controller_ref: OwnerReference) -> Pod:
    """A new pod for `parent`: the template's labels, annotations and spec, a
    generateName of "<parent>-" (the server appends 5 random characters) and the
    controller ownerReference (controller.GetPodFromTemplate)."""
    template_meta = template.metadata if template and template.metadata else ObjectMeta()
    metadata = ObjectMeta(
        generate_name=f"{parent.metadata.name}-", namespace=parent.metadata.namespace,
        owner_references=[controller_ref],
        labels=dict(template_meta.labels) if template_meta.labels else None,
        annotations=dict(template_meta.annotations) if template_meta.annotations else None,
        finalizers=list(template_meta.finalizers) if template_meta.finalizers else None)
    spec = deep_copy(template.spec) if template and template.spec else None
    return Pod(metadata=metadata, spec=spec)


# --- pod control: writes that record an event on the owner ------------------------------


async def create_controlled_pod(client: RESTClient, recorder: EventRecorder, owner: KubeObject, pod: Pod) -> Pod:
    """Create `pod` for `owner`; a SuccessfulCreate or FailedCreate event either way
    (RealPodControl.CreatePods)."""
    try:
        created = await client.create_object(pod)
    except Exception as err:
        recorder.event(owner, "Warning", "FailedCreate", f"Error creating: {err}")
        raise
    recorder.event(owner, "Normal", "SuccessfulCreate", f"Created pod: {created.metadata.name}")
    return created


async def delete_controlled_pod(client: RESTClient, recorder: EventRecorder, expectations: UIDTrackingExpectations,
                                owner: KubeObject, key: str, pod: Pod) -> None:
    """Delete `pod` of `owner` (key `key`), whose deletion `expectations` await
    (RealPodControl.DeletePod). A delete that failed will send no event: it is
    counted observed at once."""
    name = pod.metadata.name or ""
    try:
        await client.delete(PODS, name, pod.metadata.namespace)
    except NotFound:
        pass  # already gone: its DELETED event settles the expectation
    except Exception as err:
        expectations.deletion_observed(key, meta_namespace_key(pod))
        recorder.event(owner, "Warning", "FailedDelete", f"Error deleting: {err}")
        raise
    else:
        recorder.event(owner, "Normal", "SuccessfulDelete", f"Deleted pod: {name}")


# --- batching -------------------------------------------------------------------------


async def slow_start_batch(count: int, initial_batch_size: int,
                           fn: Callable[[], Awaitable[None]]) -> tuple[int, BaseException | None]:
    """Call `fn` `count` times in doubling concurrent batches; stop after a failing
    batch. Returns (successes, first error)."""
    remaining, successes, batch = count, 0, min(count, initial_batch_size)
    while batch > 0:
        results = await asyncio.gather(*(fn() for _ in range(batch)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        successes += batch - len(errors)
        if errors:
            return successes, errors[0]
        remaining -= batch
        batch = min(2 * batch, remaining)
    return successes, None


# --- expectations that remember deleted keys -------------------------------------------


class UIDTrackingExpectations:
    """ControllerExpectations plus the set of pod keys each controller is deleting.

    - A deletion is observed at most once per pod key (a pod's "deletionTimestamp
      set" update and its final DELETED event both report it).
    """

    def __init__(self, expectations: ControllerExpectations) -> None:
        self.expectations = expectations
        self._deleting: dict[str, set[str]] = {}

    def satisfied_expectations(self, key: str) -> bool:
        return self.expectations.satisfied_expectations(key)

    def expect_creations(self, key: str, adds: int) -> None:
        self.expectations.expect_creations(key, adds)

    def creation_observed(self, key: str) -> None:
        self.expectations.creation_observed(key)

    def lower_expectations(self, key: str, add: int, delete: int) -> None:
        self.expectations.lower_expectations(key, add, delete)

    def expect_deletions(self, key: str, deleted_keys: Sequence[str]) -> None:
        self._deleting[key] = set(deleted_keys)
        self.expectations.expect_deletions(key, len(deleted_keys))

    def set_expectations(self, key: str, adds: int, deleted_keys: Sequence[str]) -> None:
        """Expect `adds` creations and the deletion of `deleted_keys` at once."""
        self._deleting[key] = set(deleted_keys)
        self.expectations.set_expectations(key, adds, len(deleted_keys))

    def deletion_observed(self, key: str, deleted_key: str) -> None:
        pending = self._deleting.get(key)
        if pending is not None and deleted_key in pending:
            pending.discard(deleted_key)
            self.expectations.deletion_observed(key)

    def delete_expectations(self, key: str) -> None:
        self._deleting.pop(key, None)
        self.expectations.delete_expectations(key)


# --- adoption and release ----------------------------------------------------------------


def controller_ref_patch(owner_ref: OwnerReference, uid: str) -> Obj:
    """Strategic-merge patch adding `owner_ref` (merge key: uid); metadata.uid pins the target."""
    return {"metadata": {"ownerReferences": [owner_ref.to_dict()], "uid": uid}}


def release_patch(owner_uid: str, uid: str) -> Obj:
    return {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": owner_uid}], "uid": uid}}


async def claim_objects(client: RESTClient, info: ResourceInfo, owner: KubeObject,
                        controller_ref: OwnerReference, selector: LabelSelector,
                        candidates: Iterable[O], can_adopt: Callable[[], Awaitable[None]]) -> list[O]:
    """The objects `owner` controls after adopting and releasing (ClaimPods/ClaimReplicaSets).

    - owned and matching: kept;  owned and no longer matching: released (unless the
      owner is being deleted);  another controller's: ignored;
    - orphan, matching, not being deleted: adopted, after `can_adopt()` (raises if not).
    Raises the first unexpected error, after trying every object.
    """
    claimed: list[O] = []
    first_error: Exception | None = None
    adoption_checked = False
    owner_uid = owner.metadata.uid or ""
    for obj in candidates:
        labels = obj.metadata.labels or {}
        ref = get_controller_of(obj)
        uid, name = obj.metadata.uid or "", obj.metadata.name or ""
        try:
            if ref is not None:
                if ref.uid != owner_uid:
                    continue
                if selector.matches(labels):
                    claimed.append(obj)
                elif owner.metadata.deletion_timestamp is None:
                    log.info("releasing object kind=%s object=%s/%s owner=%s", info.kind,
                             obj.metadata.namespace, name, owner.metadata.name)
                    try:
                        await client.patch(info, name, release_patch(owner_uid, uid),
                                           patch_type=PatchType.STRATEGIC,
                                           namespace=obj.metadata.namespace)
                    except NotFound:
                        pass  # already gone: nothing to release
                continue
            if owner.metadata.deletion_timestamp is not None or obj.metadata.deletion_timestamp:
                continue
            if not selector.matches(labels):
                continue
            if not adoption_checked:
                await can_adopt()
                adoption_checked = True
            log.info("adopting object kind=%s object=%s/%s owner=%s", info.kind,
                     obj.metadata.namespace, name, owner.metadata.name)
            try:
                await client.patch(info, name, controller_ref_patch(controller_ref, uid),
                                   patch_type=PatchType.STRATEGIC, namespace=obj.metadata.namespace)
            except NotFound:
                continue  # gone meanwhile: do not count it
            claimed.append(obj)
        except Exception as err:  # keep claiming the rest, report the first failure
            first_error = first_error or err
    if first_error is not None:
        raise first_error
    return claimed


def recheck_owner(client: RESTClient, info: ResourceInfo, owner: KubeObject) -> Callable[[], Awaitable[None]]:
    """A `can_adopt` that re-reads `owner` from the API server (RecheckDeletionTimestamp):
    a cache may not yet show that the owner was deleted or replaced by a namesake."""

    async def can_adopt() -> None:
        fresh = KubeObject.from_dict(await client.get(info, owner.metadata.name or "",
                                                      owner.metadata.namespace)).metadata
        if fresh.uid != owner.metadata.uid:
            raise RuntimeError(f"original {info.kind} {owner.metadata.name} is gone: "
                               f"got uid {fresh.uid}, wanted {owner.metadata.uid}")
        if fresh.deletion_timestamp:
            raise RuntimeError(f"{info.kind} {owner.metadata.name} has just been deleted")

    return can_adopt
