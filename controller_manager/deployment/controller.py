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

from controller_manager.controller_utils import as_selector, claim_objects, recheck_owner
from controller_manager.deployment import progress
from controller_manager.deployment.recreate import Recreate
from controller_manager.deployment.rolling import RollingUpdate
from controller_manager.deployment.util import has_progress_deadline, is_rolling_update
from tinykube.api.apps import Deployment, DeploymentStatus, ReplicaSet
from tinykube.api.core import Pod
from tinykube.api.meta import KubeObject, get_condition, get_controller_of, new_controller_ref, split_meta_namespace_key
from tinykube.api.registry import deep_copy
from tinykube.api.resources import DEPLOYMENTS, PODS, REPLICA_SETS
from tinykube.client import NAMESPACE_INDEX, OWNER_UID_INDEX, REAL_CLOCK, Clock, EventRecorder, RESTClient, SharedInformerFactory

log = logging.getLogger(__name__)


class DeploymentController(RollingUpdate, Recreate):
    """Guarantees:
    - one ReplicaSet per distinct pod template, named `<deployment>-<hash>`;
    - status.observedGeneration is written after every sync that saw a new generation.
    """

    name = "deployment"

    def __init__(self, client: RESTClient, factory: SharedInformerFactory, recorder: EventRecorder,
                 *, clock: Clock = REAL_CLOCK, **options: Any) -> None:
        super().__init__(client, recorder, self.sync_deployment, clock=clock)
        self.revision_on_server = {}
        self.d_informer = factory.informer_for(DEPLOYMENTS)
        self.rs_informer = factory.informer_for(REPLICA_SETS)
        self.pod_informer = factory.informer_for(PODS)
        self.d_informer.add_event_handler(self.enqueue, lambda old, cur: self.enqueue(cur), self.enqueue)
        self.rs_informer.add_event_handler(self.add_replica_set, self.update_replica_set,
                                           self.delete_replica_set)
        self.pod_informer.add_event_handler(on_delete=self.delete_pod)

    # --- event handlers ---------------------------------------------------------------------

    def resolve_controller_ref(self, namespace: str, obj: KubeObject) -> Deployment | None:
        ref = get_controller_of(obj)
        if ref is None or ref.kind != "Deployment":
            return None
        d: Deployment | None = self.d_informer.indexer.get(f"{namespace}/{ref.name}")
        return d if d is not None and d.metadata.uid == ref.uid else None

    def deployments_for_orphan(self, rs: ReplicaSet) -> list[Deployment]:
        labels = rs.metadata.labels or {}
        return [d for d in self.d_informer.indexer.by_index(NAMESPACE_INDEX, rs.metadata.namespace or "")
                if d.spec is not None and d.spec.selector is not None
                and as_selector(d.spec.selector).matches(labels)]

    def add_replica_set(self, rs: ReplicaSet) -> None:
        if get_controller_of(rs) is not None:
            d = self.resolve_controller_ref(rs.metadata.namespace or "", rs)
            if d is not None:
                self.enqueue(d)
            return
        for d in self.deployments_for_orphan(rs):
            self.enqueue(d)

    def update_replica_set(self, old: ReplicaSet, cur: ReplicaSet) -> None:
        if old.metadata.resource_version == cur.metadata.resource_version:
            return
        namespace = cur.metadata.namespace or ""
        old_ref, cur_ref = get_controller_of(old), get_controller_of(cur)
        ref_changed = (old_ref.uid if old_ref else None) != (cur_ref.uid if cur_ref else None)
        if ref_changed and old_ref is not None:
            d = self.resolve_controller_ref(namespace, old)
            if d is not None:
                self.enqueue(d)
        if cur_ref is not None:
            d = self.resolve_controller_ref(namespace, cur)
            if d is not None:
                self.enqueue(d)
            return
        if old.metadata.labels != cur.metadata.labels or ref_changed:
            for d in self.deployments_for_orphan(cur):
                self.enqueue(d)

    def delete_replica_set(self, rs: ReplicaSet) -> None:
        d = self.resolve_controller_ref(rs.metadata.namespace or "", rs)
        if d is not None:
            self.enqueue(d)

    def delete_pod(self, pod: Pod) -> None:
        """A Recreate rollout waits for old pods to be gone: wake it when one goes."""
        namespace = pod.metadata.namespace or ""
        ref = get_controller_of(pod)
        if ref is None or ref.kind != "ReplicaSet":
            return
        rs = self.rs_informer.indexer.get(f"{namespace}/{ref.name}")
        d = self.resolve_controller_ref(namespace, rs) if rs is not None else None
        if d is not None and not is_rolling_update(d):
            self.enqueue(d)

    # --- the reconcile -------------------------------------------------------------------------

    async def sync_deployment(self, key: str) -> None:
        namespace, _ = split_meta_namespace_key(key)
        cached: Deployment | None = self.d_informer.indexer.get(key)
        if cached is None:
            log.debug("deployment deleted key=%s", key)
            self.revision_on_server.pop(key, None)
            return
        d = deep_copy(cached)  # the sync writes into it: the cache is never mutated
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
        candidates = [rs for rs in self.rs_informer.indexer.by_index(NAMESPACE_INDEX, namespace)
                      if _controller_uid(rs) in (None, uid)]
        selector = as_selector(d.spec.selector if d.spec else None)
        return await claim_objects(self.client, REPLICA_SETS, d, new_controller_ref(d), selector, candidates,
                                   recheck_owner(self.client, DEPLOYMENTS, d))

    def get_pod_map_for_deployment(self, d: Deployment, rs_list: list[ReplicaSet]) -> dict[str, list[Pod]]:
        """Pods of each claimed ReplicaSet, by ReplicaSet UID (a Recreate waits on them)."""
        pod_map: dict[str, list[Pod]] = {}
        for rs in rs_list:
            uid = rs.metadata.uid or ""
            pod_map[uid] = [p for p in self.pod_informer.indexer.by_index(OWNER_UID_INDEX, uid)
                            if _controller_uid(p) == uid]
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


def _controller_uid(obj: KubeObject) -> str | None:
    ref = get_controller_of(obj)
    return ref.uid if ref is not None else None
