"""The ReplicationController manager: the ReplicaSet loop, run for core/v1 RCs.

A ReplicationController is a ReplicaSet whose selector is a plain label map. As in
Kubernetes, there is no second controller: the ReplicaSet controller runs unchanged,
and this module only converts at its boundary. Every cached RC is read as a ReplicaSet
whose selector is `matchLabels` and whose apiVersion/kind stay `v1`/
`ReplicationController` (so owner references and events name the RC), and the status
the loop computes is written back as the RC's status.

Kubernetes counterpart: pkg/controller/replication/replication_controller.go,
pkg/controller/replication/conversion.go
"""

from __future__ import annotations

from typing import Any

from controller_manager.replicaset import ReplicaSetController
from tinykube.api.apps import ReplicaSet
from tinykube.api.core import ReplicationController
from tinykube.api.meta import KubeObject
from tinykube.api.resources import REPLICATION_CONTROLLERS, ResourceInfo


class ReplicationManager(ReplicaSetController):
    name = "replicationcontroller"
    resource: ResourceInfo = REPLICATION_CONTROLLERS
    model: type[KubeObject] = ReplicationController

    def as_replica_set(self, obj: Any) -> ReplicaSet:
        return rc_to_replica_set(obj)

    def from_replica_set(self, rs: ReplicaSet) -> KubeObject:
        return replica_set_to_rc(rs)


def rc_to_replica_set(rc: ReplicationController) -> ReplicaSet:
    """A new ReplicaSet model (sharing nothing with `rc`) with the selector as matchLabels."""
    data = rc.to_dict()
    spec = data.get("spec") or {}
    selector = spec.pop("selector", None)
    if selector:
        spec["selector"] = {"matchLabels": selector}
    return ReplicaSet.from_dict(data)


def replica_set_to_rc(rs: ReplicaSet) -> ReplicationController:
    """The inverse of `rc_to_replica_set`."""
    data = rs.to_dict()
    spec = data.get("spec") or {}
    selector = spec.pop("selector", None)
    if selector:
        spec["selector"] = dict(selector.get("matchLabels") or {})
    return ReplicationController.from_dict(data)
