"""The RollingUpdate strategy: surge new pods up, drain old ones, never below the floor.

One step per sync, each bounded by the two fenceposts:
- the new ReplicaSet may grow while the total of all ReplicaSets' spec.replicas is
  below replicas + maxSurge;
- old ReplicaSets may shrink while the available pods stay at or above
  replicas - maxUnavailable. Old pods that are not available are removed first
  (`cleanup_unhealthy_replicas`): removing them costs no availability.
The ReplicaSets' status (readyReplicas, availableReplicas with minReadySeconds) is
what makes the next step possible, so a rollout advances as pods become ready.

Kubernetes counterpart: pkg/controller/deployment/rolling.go
"""

from __future__ import annotations

import logging

from controller_manager.deployment.progress import deployment_complete
from controller_manager.deployment.sync import DeploymentSync
from controller_manager.deployment.util import (
    available_replica_count,
    by_creation_timestamp,
    filter_active,
    max_unavailable,
    new_rs_new_replicas,
    replica_count,
    replicas_of,
)
from tinykube.api.apps import Deployment, ReplicaSet

log = logging.getLogger(__name__)


class RollingUpdate(DeploymentSync):
    async def rollout_rolling(self, d: Deployment, rs_list: list[ReplicaSet]) -> None:
        new_rs, old_rss = await self.get_all_replica_sets_and_sync_revision(d, rs_list, True)
        assert new_rs is not None
        all_rss: list[ReplicaSet | None] = [*old_rss, new_rs]
        if await self.reconcile_new_replica_set(all_rss, new_rs, d):
            await self.sync_rollout_status(all_rss, new_rs, d)  # scaled up: wait for its pods
            return
        if await self.reconcile_old_replica_sets(all_rss, filter_active(old_rss), new_rs, d):
            await self.sync_rollout_status(all_rss, new_rs, d)
            return
        if d.status is not None and deployment_complete(d, d.status):
            await self.cleanup_deployment(old_rss, d)
        await self.sync_rollout_status(all_rss, new_rs, d)

    async def reconcile_new_replica_set(self, all_rss: list[ReplicaSet | None], new_rs: ReplicaSet,
                                        d: Deployment) -> bool:
        if replicas_of(new_rs) == replicas_of(d):
            return False
        if replicas_of(new_rs) > replicas_of(d):
            scaled, _ = await self.scale_replica_set_and_record_event(new_rs, replicas_of(d), d)
            return scaled
        scaled, _ = await self.scale_replica_set_and_record_event(
            new_rs, new_rs_new_replicas(d, all_rss, new_rs), d)
        return scaled

    async def reconcile_old_replica_sets(self, all_rss: list[ReplicaSet | None], old_rss: list[ReplicaSet],
                                         new_rs: ReplicaSet, d: Deployment) -> bool:
        old_pods = replica_count(old_rss)
        if old_pods == 0:
            return False
        all_pods = replica_count(all_rss)
        min_available = replicas_of(d) - max_unavailable(d)
        new_unavailable = replicas_of(new_rs) - ((new_rs.status.available_replicas or 0) if new_rs.status else 0)
        # The most we may remove: what exceeds the floor, not counting the new RS's
        # pods that are not available yet (they may never be, e.g. a bad image).
        max_scaled_down = all_pods - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        old_rss, cleaned = await self.cleanup_unhealthy_replicas(old_rss, d, max_scaled_down)
        scaled_down = await self.scale_down_old_replica_sets_for_rolling_update([*old_rss, new_rs], old_rss, d)
        log.info("scaled down old replica sets deployment=%s/%s unhealthy=%d healthy=%d",
                 d.metadata.namespace, d.metadata.name, cleaned, scaled_down)
        return cleaned + scaled_down > 0

    async def cleanup_unhealthy_replicas(self, old_rss: list[ReplicaSet], d: Deployment,
                                         max_cleanup: int) -> tuple[list[ReplicaSet], int]:
        """Scale old ReplicaSets down by their unavailable pods, oldest first."""
        result, total = [], 0
        for rs in by_creation_timestamp(old_rss):
            available = (rs.status.available_replicas or 0) if rs.status else 0
            if total >= max_cleanup or replicas_of(rs) == 0 or replicas_of(rs) == available:
                result.append(rs)
                continue
            count = min(max_cleanup - total, replicas_of(rs) - available)
            if count < 0:
                # Why: status lags spec right after a scale-down (spec 3, still 5 available);
                # "removing" -2 unhealthy pods would scale the old ReplicaSet back *up*.
                # Upstream returns this error too; the sync is retried once status catches up.
                raise RuntimeError(f"when cleaning up unhealthy replicas, got invalid request to scale down "
                                   f"{rs.metadata.namespace}/{rs.metadata.name} {replicas_of(rs)} -> "
                                   f"{replicas_of(rs) - count}")
            _, updated = await self.scale_replica_set_and_record_event(rs, replicas_of(rs) - count, d)
            total += count
            result.append(updated)
        return result, total

    async def scale_down_old_replica_sets_for_rolling_update(
            self, all_rss: list[ReplicaSet | None], old_rss: list[ReplicaSet], d: Deployment) -> int:
        """Remove available old pods down to the availability floor, oldest ReplicaSet first."""
        min_available = replicas_of(d) - max_unavailable(d)
        available = available_replica_count(all_rss)
        if available <= min_available:
            return 0
        total, budget = 0, available - min_available
        for rs in by_creation_timestamp(old_rss):
            if total >= budget:
                break
            if replicas_of(rs) == 0:
                continue
            count = min(replicas_of(rs), budget - total)
            await self.scale_replica_set_and_record_event(rs, replicas_of(rs) - count, d)
            total += count
        return total
