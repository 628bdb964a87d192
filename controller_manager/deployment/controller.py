"""The Deployment controller's event handlers and its level-triggered `sync_deployment`.

Handlers only enqueue deployment keys: a ReplicaSet event enqueues its controlling
Deployment (an orphan: every Deployment whose selector matches it), and a pod's
deletion enqueues the Deployment of a Recreate rollout waiting for old pods to go.

`sync_deployment(key)`:
1. claim ReplicaSets (adopt matching orphans, release non-matching ones);
2. a deployment being deleted only gets its status refreshed;
3. record a paused/resumed Progressing condition;
4. paused, or spec.replicas changed: `sync` (scale, no rollout);
5. otherwise roll out by strategy: `rollout_rolling` or `rollout_recreate`.
`kubectl rollout undo` writes an old template into spec.template, so a rollback is
just step 5 finding an existing ReplicaSet for that template (it gets a new revision).

Kubernetes counterpart: pkg/controller/deployment/deployment_controller.go
"""

from __future__ import annotations

import logging
from typing import Any

from controller_manager.controller_utils import claim_objects, recheck_owner, run_workers
from controller_manager.deployment import progress
from controller_manager.deployment.recreate import Recreate
from controller_manager.deployment.rolling import RollingUpdate
from controller_manager.deployment.sync import DEPLOYMENTS, REPLICA_SETS
from controller_manager.deployment.util import has_progress_deadline, is_rolling_update
from tinykube.api.apps import Deployment, DeploymentStatus, ReplicaSet
from tinykube.api.core import Pod
from tinykube.api.meta import get_condition, new_controller_ref, split_meta_namespace_key
from tinykube.api.resources import INDEX, ResourceInfo
from tinykube.api.selectors import label_selector_from_dict
from tinykube.client import (
    NAMESPACE_INDEX,
    OWNER_UID_INDEX,
    REAL_CLOCK,
    Clock,
    EventRecorder,
    RateLimitingQueue,
    RESTClient,
    SharedInformerFactory,
    meta_namespace_key,
)

log = logging.getLogger(__name__)

Obj = dict[str, Any]
PODS: ResourceInfo = INDEX.by_kind("v1", "Pod")  # type: ignore[assignment]


class DeploymentController(RollingUpdate, Recreate):
    """Guarantees:
    - one ReplicaSet per distinct pod template, named `<deployment>-<hash>`;
    - status.observedGeneration is written after every sync that saw a new generation.
    """

    name = "deployment"

    def __init__(self, client: RESTClient, factory: SharedInformerFactory, recorder: EventRecorder,
                 *, clock: Clock = REAL_CLOCK, **options: Any) -> None:
        self.client, self.recorder, self.clock = client, recorder, clock
        self.queue: RateLimitingQueue[str] = RateLimitingQueue(clock=clock, name="deployment")
        self.revision_on_server = {}
        self.d_informer = factory.informer_for(DEPLOYMENTS)
        self.rs_informer = factory.informer_for(REPLICA_SETS)
        self.pod_informer = factory.informer_for(PODS)
        self.d_informer.add_event_handler(self.enqueue, lambda old, cur: self.enqueue(cur), self.enqueue)
        self.rs_informer.add_event_handler(self.add_replica_set, self.update_replica_set,
                                           self.delete_replica_set)
        self.pod_informer.add_event_handler(on_delete=self.delete_pod)

    async def run(self, workers: int) -> None:
        log.info("starting controller=deployment workers=%d", workers)
        await run_workers(self.name, self.queue, self.sync_deployment, workers)

    # --- event handlers ---------------------------------------------------------------------

    def enqueue(self, d: Obj) -> None:
        self.queue.add(meta_namespace_key(d))

    def resolve_controller_ref(self, namespace: str, obj: Obj) -> Obj | None:
        for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
            if ref.get("controller") and ref.get("kind") == "Deployment":
                d = self.d_informer.indexer.get(f"{namespace}/{ref.get('name')}")
                if d is not None and (d.get("metadata") or {}).get("uid") == ref.get("uid"):
                    return d
        return None

    def _controller_uid(self, obj: Obj) -> str | None:
        for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
            if ref.get("controller"):
                return str(ref.get("uid"))
        return None

    def deployments_for_orphan(self, rs: Obj) -> list[Obj]:
        meta = rs.get("metadata") or {}
        labels = meta.get("labels") or {}
        return [d for d in self.d_informer.indexer.by_index(NAMESPACE_INDEX, meta.get("namespace") or "")
                if (d.get("spec") or {}).get("selector")
                and label_selector_from_dict(d["spec"]["selector"]).matches(labels)]

    def add_replica_set(self, rs: Obj) -> None:
        namespace = (rs.get("metadata") or {}).get("namespace") or ""
        if self._controller_uid(rs) is not None:
            d = self.resolve_controller_ref(namespace, rs)
            if d is not None:
                self.enqueue(d)
            return
        for d in self.deployments_for_orphan(rs):
            self.enqueue(d)

    def update_replica_set(self, old: Obj, cur: Obj) -> None:
        if (old.get("metadata") or {}).get("resourceVersion") == (cur.get("metadata") or {}).get("resourceVersion"):
            return
        namespace = (cur.get("metadata") or {}).get("namespace") or ""
        ref_changed = self._controller_uid(old) != self._controller_uid(cur)
        if ref_changed and self._controller_uid(old) is not None:
            d = self.resolve_controller_ref(namespace, old)
            if d is not None:
                self.enqueue(d)
        if self._controller_uid(cur) is not None:
            d = self.resolve_controller_ref(namespace, cur)
            if d is not None:
                self.enqueue(d)
            return
        labels_changed = (old.get("metadata") or {}).get("labels") != (cur.get("metadata") or {}).get("labels")
        if labels_changed or ref_changed:
            for d in self.deployments_for_orphan(cur):
                self.enqueue(d)

    def delete_replica_set(self, rs: Obj) -> None:
        d = self.resolve_controller_ref((rs.get("metadata") or {}).get("namespace") or "", rs)
        if d is not None:
            self.enqueue(d)

    def delete_pod(self, pod: Obj) -> None:
        """A Recreate rollout waits for old pods to be gone: wake it when one goes."""
        namespace = (pod.get("metadata") or {}).get("namespace") or ""
        for ref in (pod.get("metadata") or {}).get("ownerReferences") or ():
            if ref.get("controller") and ref.get("kind") == "ReplicaSet":
                rs = self.rs_informer.indexer.get(f"{namespace}/{ref.get('name')}")
                d = self.resolve_controller_ref(namespace, rs) if rs is not None else None
                if d is not None and not is_rolling_update(Deployment.from_dict(d)):
                    self.enqueue(d)

    # --- the reconcile -------------------------------------------------------------------------

    async def sync_deployment(self, key: str) -> None:
        namespace, _ = split_meta_namespace_key(key)
        cached = self.d_informer.indexer.get(key)
        if cached is None:
            log.debug("deployment deleted key=%s", key)
            self.revision_on_server.pop(key, None)
            return
        d = Deployment.from_dict(cached)  # a fresh object: the cache is never mutated
        self.remember_revision_on_server(d)
        selector_dict = d.spec.selector.to_dict() if d.spec and d.spec.selector else None
        if not selector_dict:
            self.event(d, "Warning", "SelectingAll",
                       "This deployment is selecting all pods. A non-empty selector is required.")
            if (d.metadata.generation or 0) > ((d.status.observed_generation or 0) if d.status else 0):
                d.status = d.status or DeploymentStatus()
                d.status.observed_generation = d.metadata.generation
                await self.update_deployment_status(d)
            return
        rs_list = await self.get_replica_sets_for_deployment(d, namespace)
        if d.metadata.deletion_timestamp is not None:
            new_rs, old_rss = await self.get_all_replica_sets_and_sync_revision(d, rs_list, False)
            await self.sync_deployment_status([*old_rss, new_rs], new_rs, d)
            return
        await self.check_paused_conditions(d)
        if d.spec is not None and d.spec.paused:
            await self.sync(d, rs_list)
            return
        if await self.is_scaling_event(d, rs_list):
            await self.sync(d, rs_list)
            return
        if is_rolling_update(d):
            await self.rollout_rolling(d, rs_list)
        else:
            await self.rollout_recreate(d, rs_list, self.get_pod_map_for_deployment(d, rs_list))

    async def get_replica_sets_for_deployment(self, d: Deployment, namespace: str) -> list[ReplicaSet]:
        """Claim: the ReplicaSets this deployment controls, adopting/releasing as needed."""
        uid = d.metadata.uid or ""
        candidates = [ReplicaSet.from_dict(rs) for rs in self.rs_informer.indexer.by_index(NAMESPACE_INDEX, namespace)
                      if self._controller_uid(rs) in (None, uid)]
        selector = label_selector_from_dict(d.spec.selector.to_dict() if d.spec and d.spec.selector else None)
        return await claim_objects(self.client, REPLICA_SETS, d, new_controller_ref(d), selector, candidates,
                                   recheck_owner(self.client, DEPLOYMENTS, d))

    def get_pod_map_for_deployment(self, d: Deployment, rs_list: list[ReplicaSet]) -> dict[str, list[Pod]]:
        """Pods of each claimed ReplicaSet, by ReplicaSet UID (a Recreate waits on them)."""
        pod_map: dict[str, list[Pod]] = {}
        for rs in rs_list:
            uid = rs.metadata.uid or ""
            pod_map[uid] = [Pod.from_dict(p) for p in self.pod_informer.indexer.by_index(OWNER_UID_INDEX, uid)
                            if self._controller_uid(p) == uid]
        return pod_map

    async def check_paused_conditions(self, d: Deployment) -> None:
        """Progressing=Unknown DeploymentPaused / DeploymentResumed, unless timed out."""
        if not has_progress_deadline(d):
            return
        status = d.status or DeploymentStatus()
        condition = get_condition(status.conditions, progress.PROGRESSING)
        if condition is not None and condition.reason == progress.TIMED_OUT_REASON:
            return
        paused_exists = condition is not None and condition.reason == progress.PAUSED_DEPLOY_REASON
        paused = bool(d.spec and d.spec.paused)
        if paused and not paused_exists:
            new = progress.new_condition(progress.PROGRESSING, "Unknown", progress.PAUSED_DEPLOY_REASON,
                                         "Deployment is paused", self.now())
        elif not paused and paused_exists:
            new = progress.new_condition(progress.PROGRESSING, "Unknown", progress.RESUMED_DEPLOY_REASON,
                                         "Deployment is resumed", self.now())
        else:
            return
        progress.set_condition(status, new)
        d.status = status
        written = await self.update_deployment_status(d)
        d.metadata.resource_version, d.status = written.metadata.resource_version, written.status
