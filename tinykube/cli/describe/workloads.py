"""Describe the workload controllers: Deployments, ReplicaSets (and ReplicationControllers),
StatefulSets, DaemonSets.

Each shows its selector, replica counts and pod template; a Deployment also
shows its strategy, conditions and its old and new ReplicaSets (found through
controller ownerReferences), the others how many of their pods are in each phase.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/describe/describe.go (DeploymentDescriber,
ReplicaSetDescriber, StatefulSetDescriber, DaemonSetDescriber)
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from tinykube.api.resources import PODS, REPLICA_SETS, ResourceInfo
from tinykube.cli.describe.format import (
    PrefixWriter,
    controller_of,
    format_time,
    label_selector_text,
    write_object_meta,
)
from tinykube.cli.describe.pods import write_pod_template
from tinykube.client import APIStatusError, RESTClient

Obj = dict[str, Any]
assert PODS is not None and REPLICA_SETS is not None
REVISION = "deployment.kubernetes.io/revision"


async def describe_workload(client: RESTClient, info: ResourceInfo, obj: Obj) -> PrefixWriter:
    w = PrefixWriter()
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    if info.kind == "Deployment":
        return await _describe_deployment(client, obj)
    if info.kind == "ReplicationController":  # a plain label map: read it as matchLabels
        spec = {**spec, "selector": {"matchLabels": spec.get("selector") or {}}}
        obj = {**obj, "spec": spec}
    w.write(0, f"Name:\t{meta.get('name', '')}")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}")
    if info.kind in ("StatefulSet", "DaemonSet"):
        w.write(0, f"CreationTimestamp:\t{format_time(meta.get('creationTimestamp'))}")
    w.write(0, f"Selector:\t{label_selector_text(spec.get('selector'))}")
    write_object_meta_tail(w, obj)
    owner = controller_of(obj)
    if owner:
        w.write(0, f"Controlled By:\t{owner}")
    if info.kind in ("ReplicaSet", "ReplicationController"):
        w.write(0, f"Replicas:\t{status.get('replicas', 0)} current / {spec.get('replicas', 1)} desired")
    elif info.kind == "StatefulSet":
        w.write(0, f"Replicas:\t{spec.get('replicas', 1)} desired | {status.get('replicas', 0)} total")
        w.write(0, f"Update Strategy:\t{(spec.get('updateStrategy') or {}).get('type', 'RollingUpdate')}")
    else:
        w.write(0, f"Desired Number of Nodes Scheduled: {status.get('desiredNumberScheduled', 0)}")
        w.write(0, f"Current Number of Nodes Scheduled: {status.get('currentNumberScheduled', 0)}")
        w.write(0, f"Number of Nodes Scheduled with Up-to-date Pods: "
                   f"{status.get('updatedNumberScheduled', 0)}")
        w.write(0, f"Number of Nodes Scheduled with Available Pods: "
                   f"{status.get('numberAvailable', 0)}")
        w.write(0, f"Number of Nodes Misscheduled: {status.get('numberMisscheduled', 0)}")
    phases = await _pod_phases(client, obj)
    w.write(0, f"Pods Status:\t{phases['Running']} Running / {phases['Pending']} Waiting / "
               f"{phases['Succeeded']} Succeeded / {phases['Failed']} Failed")
    write_pod_template(w, spec.get("template") or {})
    return w


def write_object_meta_tail(w: PrefixWriter, obj: Obj) -> None:
    """Labels and Annotations (the describers that print Name and Namespace themselves)."""
    scratch = PrefixWriter()
    write_object_meta(scratch, obj)
    w.lines.extend(scratch.lines[2:])


async def _describe_deployment(client: RESTClient, obj: Obj) -> PrefixWriter:
    w = PrefixWriter()
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}")
    w.write(0, f"CreationTimestamp:\t{format_time(meta.get('creationTimestamp'))}")
    write_object_meta_tail(w, obj)
    w.write(0, f"Selector:\t{label_selector_text(spec.get('selector'))}")
    replicas = spec.get("replicas", 1)
    w.write(0, f"Replicas:\t{replicas} desired | {status.get('updatedReplicas', 0)} updated | "
               f"{status.get('replicas', 0)} total | {status.get('availableReplicas', 0)} available | "
               f"{status.get('unavailableReplicas', 0)} unavailable")
    strategy = spec.get("strategy") or {}
    w.write(0, f"StrategyType:\t{strategy.get('type', 'RollingUpdate')}")
    w.write(0, f"MinReadySeconds:\t{spec.get('minReadySeconds', 0)}")
    rolling = strategy.get("rollingUpdate")
    if rolling:
        w.write(0, f"RollingUpdateStrategy:\t{rolling.get('maxUnavailable', '25%')} max unavailable, "
                   f"{rolling.get('maxSurge', '25%')} max surge")
    if spec.get("paused"):
        w.write(0, "Paused:\ttrue")
    write_pod_template(w, spec.get("template") or {})
    conditions = status.get("conditions") or []
    if conditions:
        w.write(0, "Conditions:")
        w.write_header(1, "Type", "Status", "Reason")
        for cond in conditions:
            w.write(1, f"{cond.get('type', '')} \t{cond.get('status', '')}\t{cond.get('reason', '')}")
    old, new = await _replica_sets_of(client, obj)
    w.write(0, f"OldReplicaSets:\t{', '.join(_rs_summary(rs) for rs in old) or '<none>'}")
    w.write(0, f"NewReplicaSet:\t{_rs_summary(new) if new else '<none>'}")
    return w


def _rs_summary(rs: Obj) -> str:
    status = rs.get("status") or {}
    return (f"{rs['metadata'].get('name')} ({status.get('replicas', 0)}/"
            f"{(rs.get('spec') or {}).get('replicas', 0)} replicas created)")


async def _replica_sets_of(client: RESTClient, deployment: Obj) -> tuple[list[Obj], Obj | None]:
    """The Deployment's ReplicaSets: the one at the newest revision, and the others
    that still have replicas."""
    uid = deployment["metadata"].get("uid")
    try:
        items, _ = await client.list(REPLICA_SETS, deployment["metadata"].get("namespace"))
    except APIStatusError:
        return [], None
    owned = [rs for rs in items
             if any(ref.get("controller") and ref.get("uid") == uid
                    for ref in rs["metadata"].get("ownerReferences") or [])]
    if not owned:
        return [], None
    owned.sort(key=lambda rs: int((rs["metadata"].get("annotations") or {}).get(REVISION, "0")
                                  or 0))
    new = owned[-1]
    old = [rs for rs in owned[:-1] if (rs.get("spec") or {}).get("replicas", 0)]
    return old, new


async def _pod_phases(client: RESTClient, obj: Obj) -> Counter[str]:
    """How many of the pods this object controls are in each phase."""
    uid = obj["metadata"].get("uid")
    try:
        pods, _ = await client.list(PODS, obj["metadata"].get("namespace"),
                                    label_selector=label_selector_text(
                                        (obj.get("spec") or {}).get("selector")).replace("<none>", ""))
    except APIStatusError:
        return Counter()
    return Counter((pod.get("status") or {}).get("phase", "Pending") for pod in pods
                   if any(ref.get("controller") and ref.get("uid") == uid
                          for ref in pod["metadata"].get("ownerReferences") or []))
