"""The StatefulSet controller: pods with stable names, storage and order.

`sync_stateful_set(key)` is level-triggered. It claims the set's member pods
(`<set>-<ordinal>`) and ControllerRevisions, finds or creates the update revision
(the current template's), takes the current revision from status.currentRevision,
asks `plan_stateful_set` what to do next, and runs the steps in order:
- create: the pod's claims (`<template>-<set>-<ordinal>`, owned per the retention
  policy) if missing, then the pod;
- update: fix the pod's identity, storage and its claims' owners;
- delete: set the claims' owners first (whenScaled=Delete hands a scaled-away pod's
  claims to the pod, so the garbage collector deletes them with it), then the pod.
It then prunes old revisions and writes status (also when a step failed; the key is
retried).

Pods have fixed names, so no expectations are needed: creating a pod the cache does
not show yet fails with AlreadyExists and the key is retried, as upstream.
Event handlers only enqueue: StatefulSet events their key, pod events their
controller (or, for orphans, every set whose selector matches).

Kubernetes counterpart: pkg/controller/statefulset/stateful_set.go,
pkg/controller/statefulset/stateful_pod_control.go
"""

from __future__ import annotations

import logging
from typing import Any

from controller_manager import history
from controller_manager.controller_utils import (
    Controller, as_selector, claim_objects, owned_or_orphan, owners_selecting, recheck_owner, resolve_controller_ref,
    store_status,
)
from controller_manager.statefulset.control import Plan, Revision, Step, Verb, plan_stateful_set
from controller_manager.statefulset.status import calculate_status
from controller_manager.statefulset.utils import (
    claim_owner_references, get_persistent_volume_claims, identity_matches, is_member_of, storage_matches,
    update_identity, update_storage,
)
from tinykube.api.apps import ControllerRevision, StatefulSet
from tinykube.api.core import Pod, pod_is_ready
from tinykube.api.meta import get_controller_of, new_controller_ref, split_meta_namespace_key
from tinykube.api.other import PersistentVolumeClaim
from tinykube.api.registry import deep_copy
from tinykube.api.resources import (
    CONTROLLER_REVISIONS, PERSISTENT_VOLUME_CLAIMS, PODS, STATEFUL_SETS, ResourceInfo,
)
from tinykube.client import (
    NAMESPACE_INDEX, REAL_CLOCK, AlreadyExists, Clock, EventRecorder, NotFound, RESTClient,
    SharedInformer, SharedInformerFactory, meta_namespace_key,
)

log = logging.getLogger(__name__)

KIND = "StatefulSet"


class StatefulSetController(Controller):
    """Guarantees:
    - OrderedReady never has two pods starting or stopping at once (see `control`);
    - status is written only when it changed, and always carries observedGeneration.
    """

    name = "statefulset"

    def __init__(self, client: RESTClient, factory: SharedInformerFactory, recorder: EventRecorder,
                 *, clock: Clock = REAL_CLOCK, **options: Any) -> None:
        super().__init__(client, recorder, self.sync_stateful_set, clock=clock)
        self.set_informer = factory.informer_for(STATEFUL_SETS)
        self.pod_informer = factory.informer_for(PODS)
        self.history_informer = factory.informer_for(CONTROLLER_REVISIONS)
        self.claim_informer = factory.informer_for(PERSISTENT_VOLUME_CLAIMS)
        self.set_informer.add_event_handler(self.enqueue, lambda old, cur: self.enqueue(cur), self.enqueue)
        self.pod_informer.add_event_handler(self.add_pod, self.update_pod, self.delete_pod)

    # --- event handlers: only turn events into keys ------------------------------------

    def resolve_controller_ref(self, obj: Pod) -> StatefulSet | None:
        sts: StatefulSet | None = resolve_controller_ref(obj, KIND, self.set_informer)
        return sts

    def enqueue_matching(self, pod: Pod) -> None:
        for sts in owners_selecting(pod, self.set_informer):
            self.enqueue(sts)

    def add_pod(self, pod: Pod) -> None:
        if pod.metadata.deletion_timestamp is not None:
            self.delete_pod(pod)
            return
        sts = self.resolve_controller_ref(pod)
        if sts is not None:
            self.enqueue(sts)
        elif get_controller_of(pod) is None:
            self.enqueue_matching(pod)

    def update_pod(self, old: Pod, cur: Pod) -> None:
        if old.metadata.resource_version == cur.metadata.resource_version:
            return  # a resync: nothing changed
        old_sts, cur_sts = self.resolve_controller_ref(old), self.resolve_controller_ref(cur)
        if old_sts is not None and (cur_sts is None or old_sts.metadata.uid != cur_sts.metadata.uid):
            self.enqueue(old_sts)
        if cur_sts is not None:
            self.enqueue(cur_sts)
            min_ready = (cur_sts.spec.min_ready_seconds or 0) if cur_sts.spec else 0
            if min_ready > 0 and pod_is_ready(old) != pod_is_ready(cur):
                self.queue.add_after(meta_namespace_key(cur_sts), min_ready + 1)
        elif get_controller_of(cur) is None and old.metadata.labels != cur.metadata.labels:
            self.enqueue_matching(cur)

    def delete_pod(self, pod: Pod) -> None:
        sts = self.resolve_controller_ref(pod)
        if sts is not None:
            self.enqueue(sts)

    # --- the reconcile --------------------------------------------------------------------

    async def sync_stateful_set(self, key: str) -> None:
        namespace, _ = split_meta_namespace_key(key)
        sts: StatefulSet | None = self.set_informer.indexer.get(key)
        if sts is None:
            log.debug("statefulset deleted key=%s", key)
            return
        pods: list[Pod] = await self.claim(PODS, self.pod_informer, sts, namespace)
        revisions: list[ControllerRevision] = await self.claim(CONTROLLER_REVISIONS, self.history_informer, sts,
                                                               namespace)
        update, old = await history.construct_history(self.client, sts, revisions, pods)
        wanted_current = sts.status.current_revision if sts.status else None
        current = next((r for r in old if r.metadata.name == wanted_current), update)
        now = self.clock.wall()
        claims = {c.metadata.name or "": c for c in self.claim_informer.indexer.by_index(NAMESPACE_INDEX, namespace)}
        plan = Plan()
        step_error: Exception | None = None
        try:
            plan = plan_stateful_set(
                sts, Revision(current.metadata.name or "", history.revision_template(current)),
                Revision(update.metadata.name or "", history.revision_template(update)), pods, claims, now)
            for step in plan.steps:
                await self.run_step(sts, step, claims)
            live = {(p.metadata.labels or {}).get(history.CONTROLLER_REVISION_HASH_LABEL, "") for p in pods}
            await history.cleanup_history(self.client, sts, old, pods,
                                          keep={current.metadata.name or "", *live})
        except Exception as err:  # status is written all the same, then the key is retried
            step_error = err
        await self.update_stateful_set_status(sts, pods, current.metadata.name or "", update.metadata.name or "", now)
        if step_error is not None:
            raise step_error
        if plan.requeue_after_seconds is not None:
            self.queue.add_after(key, plan.requeue_after_seconds)

    async def claim(self, info: ResourceInfo, informer: SharedInformer, sts: StatefulSet,
                    namespace: str) -> list[Any]:
        """The member pods (or revisions) `sts` controls, after adopting and releasing."""
        candidates = [o for o in informer.indexer.by_index(NAMESPACE_INDEX, namespace)
                      if owned_or_orphan(o, sts.metadata.uid or "") and (info is not PODS or is_member_of(sts, o))]
        return await claim_objects(self.client, info, sts, new_controller_ref(sts),
                                   as_selector(sts.spec.selector if sts.spec else None), candidates,
                                   recheck_owner(self.client, STATEFUL_SETS, sts))

    # --- pod control -------------------------------------------------------------------------

    async def run_step(self, sts: StatefulSet, step: Step, claims: dict[str, PersistentVolumeClaim]) -> None:
        if step.verb is Verb.CREATE_POD:
            await self.create_missing_claims(sts, step.pod, claims)
            await self.pod_write("create", sts, step.pod)
        elif step.verb is Verb.UPDATE_POD:
            pod = deep_copy(step.pod)
            update_identity(sts, pod)
            update_storage(sts, pod)
            await self.create_missing_claims(sts, pod, claims)
            await self.update_claim_owners(sts, pod, claims)
            if not (identity_matches(sts, step.pod) and storage_matches(sts, step.pod)):
                await self.pod_write("update", sts, pod)
        else:
            await self.update_claim_owners(sts, step.pod, claims)
            await self.pod_write("delete", sts, step.pod)

    async def pod_write(self, verb: str, sts: StatefulSet, pod: Pod) -> None:
        """Create, update or delete `pod`, with upstream's event either way (recordPodEvent)."""
        name, set_name = pod.metadata.name, sts.metadata.name
        try:
            if verb == "create":
                await self.client.create_object(pod)
            elif verb == "update":
                await self.client.update_object(pod)
            else:
                await self.client.delete(PODS, name or "", pod.metadata.namespace)
        except AlreadyExists:
            raise  # the cache is behind: retried, without an event
        except NotFound:
            if verb != "delete":
                raise
        except Exception as err:
            reason = f"Failed{verb.capitalize()}"
            self.recorder.event(sts, "Warning", reason, f"{verb} Pod {name} in StatefulSet {set_name} failed "
                                                        f"error: {err}")
            raise
        log.info("%s pod statefulset=%s/%s pod=%s", verb, sts.metadata.namespace, set_name, name)
        self.recorder.event(sts, "Normal", f"Successful{verb.capitalize()}",
                            f"{verb} Pod {name} in StatefulSet {set_name} successful")

    async def create_missing_claims(self, sts: StatefulSet, pod: Pod,
                                    claims: dict[str, PersistentVolumeClaim]) -> None:
        for claim in get_persistent_volume_claims(sts, pod).values():
            name = claim.metadata.name or ""
            if name in claims:
                continue
            claim.metadata.owner_references = claim_owner_references(sts, pod, claim) or None
            try:
                claims[name] = await self.client.create_object(claim)
            except AlreadyExists:
                continue
            except Exception as err:
                self.recorder.event(sts, "Warning", "FailedCreate", f"create Claim {name} for Pod "
                                    f"{pod.metadata.name} in StatefulSet {sts.metadata.name} failed error: {err}")
                raise
            self.recorder.event(sts, "Normal", "SuccessfulCreate", f"create Claim {name} Pod {pod.metadata.name} "
                                f"in StatefulSet {sts.metadata.name} success")

    async def update_claim_owners(self, sts: StatefulSet, pod: Pod, claims: dict[str, PersistentVolumeClaim]) -> None:
        """Make each existing claim's ownerReferences what the retention policy wants."""
        for wanted in get_persistent_volume_claims(sts, pod).values():
            claim = claims.get(wanted.metadata.name or "")
            if claim is None:
                continue
            refs = claim_owner_references(sts, pod, claim)
            if {r.uid for r in refs} == {r.uid for r in claim.metadata.owner_references or []}:
                continue
            updated = deep_copy(claim)
            updated.metadata.owner_references = refs or None
            claims[claim.metadata.name or ""] = await self.client.update_object(updated)

    # --- status -------------------------------------------------------------------------------

    async def update_stateful_set_status(self, sts: StatefulSet, pods: list[Pod], current: str, update: str,
                                         now: float) -> None:
        status = calculate_status(sts, pods, current, update, now)
        if sts.status is None or sts.status.to_dict() != status.to_dict():
            await store_status(self.client, STATEFUL_SETS, sts, status)
