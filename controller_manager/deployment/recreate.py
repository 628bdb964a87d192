"""The Recreate strategy: all old pods gone, then the new ones.

1. scale every old ReplicaSet to 0;
2. wait until no pod of an old ReplicaSet is left running (the ReplicaSets' status
   and the pods themselves: a terminating pod still counts);
3. create the new ReplicaSet if needed and scale it to spec.replicas.
There is a moment with no pods at all; that is the point of the strategy (for
software that cannot run two versions side by side).

Kubernetes counterpart: pkg/controller/deployment/recreate.go
"""

from __future__ import annotations

from controller_manager.deployment.progress import deployment_complete
from controller_manager.deployment.sync import DeploymentSync
from controller_manager.deployment.util import actual_replica_count, filter_active, replicas_of
from tinykube.api.apps import Deployment, ReplicaSet
from tinykube.api.core import Pod, PodPhase


class Recreate(DeploymentSync):
    async def rollout_recreate(self, d: Deployment, rs_list: list[ReplicaSet],
                               pod_map: dict[str, list[Pod]]) -> None:
        new_rs, old_rss = await self.get_all_replica_sets_and_sync_revision(d, rs_list, False)
        all_rss: list[ReplicaSet | None] = [*old_rss, new_rs]
        if await self.scale_down_old_replica_sets_for_recreate(filter_active(old_rss), d):
            await self.sync_rollout_status(all_rss, new_rs, d)
            return
        if old_pods_running(new_rs, old_rss, pod_map):
            await self.sync_rollout_status(all_rss, new_rs, d)
            return
        if new_rs is None:
            new_rs, old_rss = await self.get_all_replica_sets_and_sync_revision(d, rs_list, True)
            all_rss = [*old_rss, new_rs]
        assert new_rs is not None
        await self.scale_replica_set_and_record_event(new_rs, replicas_of(d), d)
        if d.status is not None and deployment_complete(d, d.status):
            await self.cleanup_deployment(old_rss, d)
        await self.sync_rollout_status(all_rss, new_rs, d)

    async def scale_down_old_replica_sets_for_recreate(self, old_rss: list[ReplicaSet], d: Deployment) -> bool:
        scaled = False
        for rs in old_rss:
            if replicas_of(rs) == 0:
                continue
            changed, _ = await self.scale_replica_set_and_record_event(rs, 0, d)
            scaled = scaled or changed
        return scaled


def old_pods_running(new_rs: ReplicaSet | None, old_rss: list[ReplicaSet],
                     pod_map: dict[str, list[Pod]]) -> bool:
    """Whether any pod of an old ReplicaSet may still be running (oldPodsRunning)."""
    if actual_replica_count(old_rss) > 0:
        return True
    new_uid = new_rs.metadata.uid if new_rs is not None else None
    for rs_uid, pods in pod_map.items():
        if rs_uid == new_uid:
            continue
        for pod in pods:
            phase = pod.status.phase if pod.status else None
            if phase not in (PodPhase.FAILED, PodPhase.SUCCEEDED):
                return True  # Running, Pending, Unknown: it may still be serving
    return False
