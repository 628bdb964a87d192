"""A DaemonSet's status from its nodes and pods: a pure function.

For every node that should run the daemon pod (desiredNumberScheduled): it is
"current" if it has a daemon pod, and that pod (the Running and oldest one) counts
as ready, available (ready for minReadySeconds) and updated (it carries the
current revision's hash). A node that has a daemon pod but should not run one is
"misscheduled". numberUnavailable = desired - available. These are the columns of
`kubectl get ds` (DESIRED CURRENT READY UP-TO-DATE AVAILABLE) and what
`kubectl rollout status ds/x` waits on.

Kubernetes counterpart: pkg/controller/daemon/daemon_controller.go (updateDaemonSetStatus)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from controller_manager.daemon.util import is_pod_updated, node_should_run_daemon_pod, template_generation
from tinykube.api.apps import DaemonSet, DaemonSetStatus
from tinykube.api.core import Node, Pod, PodPhase, pod_is_available, pod_is_ready
from tinykube.api.registry import deep_copy


def _running_oldest_first(pod: Pod) -> tuple[bool, str, str]:
    # podByCreationTimestampAndPhase: Running pods first, then the oldest
    running = pod.status is not None and pod.status.phase == PodPhase.RUNNING
    return not running, pod.metadata.creation_timestamp or "", pod.metadata.name or ""


def calculate_status(ds: DaemonSet, nodes: Sequence[Node], node_to_pods: Mapping[str, Sequence[Pod]],
                     hash_: str, now: float) -> DaemonSetStatus:
    """The new status (observedGeneration and collisionCount are set when it is stored)."""
    status = deep_copy(ds.status) if ds.status else DaemonSetStatus()
    min_ready = (ds.spec.min_ready_seconds or 0) if ds.spec else 0
    generation = template_generation(ds)
    desired = current = misscheduled = ready = available = updated = 0
    for node in nodes:
        should_run, _ = node_should_run_daemon_pod(node, ds)
        pods = node_to_pods.get(node.metadata.name or "", ())
        if not should_run:
            misscheduled += 1 if pods else 0
            continue
        desired += 1
        if not pods:
            continue
        current += 1
        pod = min(pods, key=_running_oldest_first)
        ready += pod_is_ready(pod)
        available += pod_is_available(pod, min_ready, now)
        updated += is_pod_updated(pod, hash_, generation)
    status.desired_number_scheduled = desired
    status.current_number_scheduled = current
    status.number_misscheduled = misscheduled
    status.number_ready = ready
    status.number_available = available
    status.updated_number_scheduled = updated
    status.number_unavailable = desired - available
    return status
