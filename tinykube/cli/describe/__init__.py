"""`describe`'s describers: one per kind family, and a generic one for the rest.

`describe_object(client, info, obj)` picks the describer for the object's kind,
lets it write its sections (it may read related objects: a Deployment its
ReplicaSets, a Service its Endpoints, a Node its pods), appends the object's
Events (Secrets show none, as in kubectl) and returns the aligned text.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/describe/describe.go (DescriberFor)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tinykube.api.resources import ResourceInfo
from tinykube.cli.describe.autoscaling import describe_hpa
from tinykube.cli.describe.config import describe_config_map, describe_secret
from tinykube.cli.describe.cronjobs import describe_cron_job
from tinykube.cli.describe.events import events_for, write_events
from tinykube.cli.describe.format import PrefixWriter
from tinykube.cli.describe.generic import describe_generic
from tinykube.cli.describe.jobs import describe_job
from tinykube.cli.describe.namespaces import describe_namespace
from tinykube.cli.describe.nodes import describe_node
from tinykube.cli.describe.pods import describe_pod
from tinykube.cli.describe.services import describe_endpoints, describe_service
from tinykube.cli.describe.storage import (
    describe_persistent_volume,
    describe_persistent_volume_claim,
    describe_storage_class,
)
from tinykube.cli.describe.workloads import describe_workload
from tinykube.client import RESTClient

Obj = dict[str, Any]
Describer = Callable[[RESTClient, ResourceInfo, Obj], Awaitable[PrefixWriter]]

DESCRIBERS: dict[str, Describer] = {
    "Pod": describe_pod,
    "Deployment": describe_workload,
    "ReplicaSet": describe_workload,
    "ReplicationController": describe_workload,
    "StatefulSet": describe_workload,
    "DaemonSet": describe_workload,
    "Service": describe_service,
    "Endpoints": describe_endpoints,
    "Node": describe_node,
    "Namespace": describe_namespace,
    "ConfigMap": describe_config_map,
    "Secret": describe_secret,
    "Job": describe_job,
    "CronJob": describe_cron_job,
    "PersistentVolume": describe_persistent_volume,
    "PersistentVolumeClaim": describe_persistent_volume_claim,
    "StorageClass": describe_storage_class,
    "HorizontalPodAutoscaler": describe_hpa,
}
# Kinds whose describe has no Events section in kubectl.
WITHOUT_EVENTS = frozenset({"Secret", "Endpoints", "Namespace"})


async def describe_object(client: RESTClient, info: ResourceInfo, obj: Obj,
                          show_events: bool = True) -> str:
    describer = DESCRIBERS.get(info.kind, describe_generic)
    w = await describer(client, info, obj)
    if show_events and info.kind not in WITHOUT_EVENTS:
        write_events(w, await events_for(client, obj))
    return w.text()


__all__ = ["DESCRIBERS", "describe_object"]
