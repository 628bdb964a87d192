"""Deployment steps shared by both strategies: find or create the new ReplicaSet, scale,
clean up history, write status.

`DeploymentSync` is the base of `DeploymentController`; `rolling` and `recreate`
build their rollouts from its methods, as upstream's files all hang methods off one
`DeploymentController`.

- The new ReplicaSet is `<deployment>-<hash>` with `pod-template-hash=<hash>` added
  to its selector and template labels; a re-used one (a rollback) gets the next
  revision number. A name taken by a different template is a hash collision:
  status.collisionCount is bumped and the next sync hashes again.
- `scale` handles a change of spec.replicas (also while paused): with one active
  ReplicaSet it is resized; during a rollout every active ReplicaSet gets its share
  in proportion to its size (the max-replicas annotation records the total they
  were sized for), the leftover going to the largest.
- ReplicaSets beyond revisionHistoryLimit are deleted, oldest revision first, but
  only when they have no pods and their controller has caught up.

Kubernetes counterpart: pkg/controller/deployment/sync.go
"""

from __future__ import annotations

import logging

from controller_manager.controller_utils import Controller
from controller_manager.deployment import progress
from controller_manager.deployment.util import (
    DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY,
    REVISION_ANNOTATION,
    by_revision,
    by_size_newer,
    by_size_older,
    compute_hash,
    desired_replicas_annotation,
    equal_ignore_hash,
    filter_active,
    find_active_or_latest,
    find_new_replica_set,
    find_old_replica_sets,
    get_proportion,
    has_progress_deadline,
    has_revision_history_limit,
    is_rolling_update,
    is_saturated,
    max_revision,
    max_surge,
    new_rs_new_replicas,
    replica_count,
    replicas_annotations_need_update,
    replicas_of,
    set_annotation,
    set_new_replica_set_annotations,
    set_replicas_annotations,
)
from tinykube.api.apps import Deployment, DeploymentStatus, ReplicaSet, ReplicaSetSpec
from tinykube.api.meta import ObjectMeta, get_condition, new_controller_ref, now_rfc3339
from tinykube.api.registry import deep_copy
from tinykube.api.resources import DEPLOYMENTS, REPLICA_SETS
from tinykube.client import AlreadyExists, NotFound, PatchType
from tinykube.client.informer import SharedInformer

log = logging.getLogger(__name__)


class DeploymentSync(Controller):
    """The writes a Deployment sync makes, each one API call, none retried here."""

    rs_informer: SharedInformer
    d_informer: SharedInformer
    # key → the revision annotation the server holds, as far as the current sync knows.
    revision_on_server: dict[str, str | None]

    def now(self) -> str:
        return now_rfc3339(self.clock.wall)

    def event(self, d: Deployment, type: str, reason: str, message: str) -> None:
        self.recorder.event(d, type, reason, message)

    # --- status ----------------------------------------------------------------------------

    def set_progressing(self, d: Deployment, status: DeploymentStatus, condition_status: str,
                        reason: str, message: str) -> bool:
        """Set the Progressing condition in `status` and make it d's status; True: d needs writing."""
        progress.set_condition(status, progress.new_condition(
            progress.PROGRESSING, condition_status, reason, message, self.now()))
        d.status = status
        return True

    async def update_deployment_status(self, d: Deployment) -> Deployment:
        """Write d.status (and the revision annotation, which a status write cannot carry)."""
        if self.revision_needs_writing(d):
            revision = (d.metadata.annotations or {}).get(REVISION_ANNOTATION)
            patched = await self.client.patch(
                DEPLOYMENTS, d.metadata.name or "", {"metadata": {"annotations": {REVISION_ANNOTATION: revision}}},
                patch_type=PatchType.MERGE, namespace=d.metadata.namespace)
            d.metadata.resource_version = patched["metadata"]["resourceVersion"]
            self.revision_on_server[_key(d)] = revision
        result = Deployment.from_dict(await self.client.update_status(DEPLOYMENTS, d))
        log.debug("updated deployment status deployment=%s/%s", d.metadata.namespace, d.metadata.name)
        return result

    async def sync_deployment_status(self, all_rss: list[ReplicaSet | None], new_rs: ReplicaSet | None,
                                     d: Deployment) -> None:
        status = progress.calculate_status(all_rss, new_rs, d, self.now())
        if d.status is not None and _same_status(d.status, status):
            return
        d.status = status
        await self.update_deployment_status(d)

    async def sync_rollout_status(self, all_rss: list[ReplicaSet | None], new_rs: ReplicaSet | None,
                                  d: Deployment) -> None:
        status = progress.rollout_status(all_rss, new_rs, d, self.now(), self.clock.wall())
        if d.status is not None and _same_status(d.status, status) and not self.revision_needs_writing(d):
            delay = progress.stuck_requeue_seconds(d, status, self.clock.wall())
            if delay is not None:
                self.queue.add_after(_key(d), max(delay, 1.0))
            return
        d.status = status
        await self.update_deployment_status(d)

    def revision_needs_writing(self, d: Deployment) -> bool:
        """The revision annotation differs from what the server has (as of this sync)."""
        revision = (d.metadata.annotations or {}).get(REVISION_ANNOTATION)
        return revision is not None and revision != self.revision_on_server.get(_key(d))

    def remember_revision_on_server(self, d: Deployment) -> None:
        """Called at the start of a sync, with the deployment as read from the cache."""
        self.revision_on_server[_key(d)] = (d.metadata.annotations or {}).get(REVISION_ANNOTATION)

    # --- the new ReplicaSet ----------------------------------------------------------------

    async def get_all_replica_sets_and_sync_revision(
            self, d: Deployment, rs_list: list[ReplicaSet], create_if_not_existed: bool,
    ) -> tuple[ReplicaSet | None, list[ReplicaSet]]:
        old = find_old_replica_sets(find_new_replica_set(d, rs_list), rs_list)
        new_rs = await self.get_new_replica_set(d, rs_list, old, create_if_not_existed)
        return new_rs, old

    async def get_new_replica_set(self, d: Deployment, rs_list: list[ReplicaSet],
                                  old_rss: list[ReplicaSet], create: bool) -> ReplicaSet | None:
        existing = find_new_replica_set(d, rs_list)
        new_revision = max_revision(old_rss) + 1
        if existing is not None:
            rs = deep_copy(existing)
            annotations_updated = set_new_replica_set_annotations(d, rs, new_revision, exists=True)
            min_ready = d.spec.min_ready_seconds if d.spec else None
            if annotations_updated or (rs.spec and rs.spec.min_ready_seconds != min_ready):
                if rs.spec is not None:
                    rs.spec.min_ready_seconds = min_ready
                return await self.client.update_object(rs)
            needs_update = set_annotation(d, REVISION_ANNOTATION,
                                          (rs.metadata.annotations or {}).get(REVISION_ANNOTATION, ""))
            status = d.status or DeploymentStatus()
            if has_progress_deadline(d) and get_condition(status.conditions, progress.PROGRESSING) is None:
                needs_update = self.set_progressing(d, status, "True", progress.FOUND_NEW_RS_REASON,
                                                    f'Found new replica set "{rs.metadata.name}"')
            if needs_update:
                _refresh(d, await self.update_deployment_status(d))
            return rs
        if not create:
            return None
        return await self.create_new_replica_set(d, old_rss, new_revision)

    async def create_new_replica_set(self, d: Deployment, old_rss: list[ReplicaSet],
                                     new_revision: int) -> ReplicaSet | None:
        assert d.spec is not None and d.spec.template is not None
        status = d.status or DeploymentStatus()
        template = deep_copy(d.spec.template)
        pod_template_hash = compute_hash(d.spec.template, status.collision_count)
        template.metadata = template.metadata or ObjectMeta()
        template.metadata.labels = {**(template.metadata.labels or {}),
                                    DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY: pod_template_hash}
        selector = deep_copy(d.spec.selector) if d.spec.selector else None
        if selector is not None:
            selector.match_labels = {**(selector.match_labels or {}),
                                     DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY: pod_template_hash}
        new_rs = ReplicaSet(
            metadata=ObjectMeta(name=f"{d.metadata.name}-{pod_template_hash}", namespace=d.metadata.namespace,
                                owner_references=[new_controller_ref(d)], labels=dict(template.metadata.labels)),
            spec=ReplicaSetSpec(replicas=0, min_ready_seconds=d.spec.min_ready_seconds,
                                selector=selector, template=template))
        new_rs.spec.replicas = new_rs_new_replicas(d, [*old_rss, new_rs], new_rs)  # type: ignore[union-attr]
        set_new_replica_set_annotations(d, new_rs, new_revision, exists=False)
        already_exists = False
        try:
            created = await self.client.create_object(new_rs)
        except AlreadyExists:
            existing: ReplicaSet | None = self.rs_informer.indexer.get(
                f"{d.metadata.namespace}/{new_rs.metadata.name}")
            if existing is not None and equal_ignore_hash(existing.spec.template if existing.spec else None,
                                                          d.spec.template):
                created, already_exists = existing, True  # our cache was behind: it is ours
            else:
                # A different template hashed to the same name: hash again with a new count.
                status.collision_count = (status.collision_count or 0) + 1
                d.status = status
                log.info("hash collision deployment=%s/%s collisionCount=%d", d.metadata.namespace,
                         d.metadata.name, status.collision_count)
                await self.update_deployment_status(d)
                raise
        except Exception as err:
            if has_progress_deadline(d):
                self.set_progressing(d, status, "False", progress.FAILED_RS_CREATE_REASON,
                                     f'Failed to create new replica set "{new_rs.metadata.name}": {err}')
                await self.update_deployment_status(d)
            self.event(d, "Warning", "FailedCreate", f'Failed to create new replica set "{new_rs.metadata.name}": {err}')
            raise
        if not already_exists and replicas_of(created) > 0:
            self.event(d, "Normal", "ScalingReplicaSet",
                       f"Scaled up replica set {created.metadata.name} to {replicas_of(created)}")
        log.info("created new replica set deployment=%s/%s rs=%s revision=%d", d.metadata.namespace,
                 d.metadata.name, created.metadata.name, new_revision)
        needs_update = set_annotation(d, REVISION_ANNOTATION, str(new_revision))
        if not already_exists and has_progress_deadline(d):
            needs_update = self.set_progressing(d, status, "True", progress.NEW_RS_REASON,
                                                f'Created new replica set "{created.metadata.name}"')
        if needs_update:
            _refresh(d, await self.update_deployment_status(d))
        return created

    # --- scaling ----------------------------------------------------------------------------

    async def scale_replica_set_and_record_event(self, rs: ReplicaSet, new_scale: int,
                                                 d: Deployment) -> tuple[bool, ReplicaSet]:
        if replicas_of(rs) == new_scale:
            return False, rs
        return await self.scale_replica_set(rs, new_scale, d, "up" if replicas_of(rs) < new_scale else "down")

    async def scale_replica_set(self, rs: ReplicaSet, new_scale: int, d: Deployment,
                                operation: str) -> tuple[bool, ReplicaSet]:
        size_needs_update = replicas_of(rs) != new_scale
        desired, most = replicas_of(d), replicas_of(d) + max_surge(d)
        if not size_needs_update and not replicas_annotations_need_update(rs, desired, most):
            return False, rs
        old_scale = replicas_of(rs)
        copy = deep_copy(rs)
        assert copy.spec is not None
        copy.spec.replicas = new_scale
        set_replicas_annotations(copy, desired, most)
        updated = await self.client.update_object(copy)
        if size_needs_update:
            log.info("scaled replica set deployment=%s/%s rs=%s from=%d to=%d", d.metadata.namespace,
                     d.metadata.name, rs.metadata.name, old_scale, new_scale)
            self.event(d, "Normal", "ScalingReplicaSet",
                       f"Scaled {operation} replica set {rs.metadata.name} to {new_scale} from {old_scale}")
        return size_needs_update, updated

    async def scale(self, d: Deployment, new_rs: ReplicaSet | None, old_rss: list[ReplicaSet]) -> None:
        """Bring the ReplicaSets' sizes in line with a changed spec.replicas."""
        active_or_latest = find_active_or_latest(new_rs, old_rss)
        if active_or_latest is not None:
            if replicas_of(active_or_latest) != replicas_of(d):
                await self.scale_replica_set_and_record_event(active_or_latest, replicas_of(d), d)
            return
        if is_saturated(d, new_rs):  # the new ReplicaSet is complete: old ones go to 0
            for old in filter_active(old_rss):
                await self.scale_replica_set_and_record_event(old, 0, d)
            return
        if not is_rolling_update(d):
            return
        all_rss = filter_active([*old_rss, new_rs])
        allowed = replicas_of(d) + max_surge(d) if replicas_of(d) > 0 else 0
        to_add = allowed - replica_count(all_rss)
        operation = ""
        if to_add > 0:
            all_rss, operation = by_size_newer(all_rss), "up"
        elif to_add < 0:
            all_rss, operation = by_size_older(all_rss), "down"
        added, sizes = 0, {}
        for rs in all_rss:
            proportion = get_proportion(rs, d, to_add, added) if to_add else 0
            sizes[rs.metadata.name] = replicas_of(rs) + proportion
            added += proportion
        if to_add and all_rss:  # rounding leftovers go to the largest
            first = all_rss[0].metadata.name
            sizes[first] = max(0, sizes[first] + to_add - added)
        for rs in all_rss:
            await self.scale_replica_set(rs, sizes[rs.metadata.name], d, operation)

    async def is_scaling_event(self, d: Deployment, rs_list: list[ReplicaSet]) -> bool:
        """spec.replicas differs from what an active ReplicaSet was last sized for."""
        new_rs, old_rss = await self.get_all_replica_sets_and_sync_revision(d, rs_list, False)
        for rs in filter_active([*old_rss, new_rs]):
            desired = desired_replicas_annotation(rs)
            if desired is not None and desired != replicas_of(d):
                return True
        return False

    async def sync(self, d: Deployment, rs_list: list[ReplicaSet]) -> None:
        """A scaling event or a paused deployment: resize, never roll out."""
        new_rs, old_rss = await self.get_all_replica_sets_and_sync_revision(d, rs_list, False)
        await self.scale(d, new_rs, old_rss)
        if d.spec is not None and d.spec.paused:
            await self.cleanup_deployment(old_rss, d)
        await self.sync_deployment_status([*old_rss, new_rs], new_rs, d)

    async def cleanup_deployment(self, old_rss: list[ReplicaSet], d: Deployment) -> None:
        """Delete old, empty ReplicaSets beyond spec.revisionHistoryLimit."""
        if not has_revision_history_limit(d) or d.spec is None:
            return
        cleanable = [rs for rs in old_rss if rs.metadata.deletion_timestamp is None]
        diff = len(cleanable) - (d.spec.revision_history_limit or 0)
        if diff <= 0:
            return
        for rs in by_revision(cleanable)[:diff]:
            status = rs.status
            if (status is None or status.replicas != 0 or replicas_of(rs) != 0
                    or (rs.metadata.generation or 0) > (status.observed_generation or 0)):
                continue  # still has pods, or its controller has not caught up yet
            log.info("deleting old replica set deployment=%s/%s rs=%s", d.metadata.namespace,
                     d.metadata.name, rs.metadata.name)
            try:
                await self.client.delete(REPLICA_SETS, rs.metadata.name or "", rs.metadata.namespace)
            except NotFound:
                pass


def _key(d: Deployment) -> str:
    return f"{d.metadata.namespace}/{d.metadata.name}"


def _refresh(d: Deployment, written: Deployment) -> None:
    """Carry the server's new resourceVersion and status into the object being synced."""
    d.metadata.resource_version = written.metadata.resource_version
    d.status = written.status


def _same_status(a: DeploymentStatus, b: DeploymentStatus) -> bool:
    return a.to_dict() == b.to_dict()
