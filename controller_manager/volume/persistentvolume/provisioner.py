"""The host-path provisioner: a PersistentVolume on one node's disk for a claim.

Enabled by kube-controller-manager's `--enable-hostpath-provisioner`; it serves
StorageClasses whose provisioner is `tinykube.io/local-path`. For a claim it builds
the PV `pvc-<claim uid>`:
- `hostPath` `<LOCAL_PATH_DIR>/pvc-<uid>` with type DirectoryOrCreate: the kubelet of
  the node creates the directory when a pod first mounts the volume;
- node affinity `kubernetes.io/hostname In [node]`: the node the scheduler selected
  (annotation `volume.kubernetes.io/selected-node`, WaitForFirstConsumer), or for an
  Immediate class the Ready node holding the fewest volumes of this provisioner;
- capacity = the claim's request (not enforced: a directory has no quota), the
  claim's access modes and volumeMode, the class's reclaimPolicy (default Delete)
  and mountOptions, and a claimRef to the claim, so the binder completes the bind.

Deleting the data is not done here: the directory lives on a node, so the node's
kubelet removes the directories of local-path volumes that no longer exist
(kubelet/volumes/local_path.py). The binder only deletes the PV object.

Kubernetes counterpart: pkg/volume/hostpath/host_path.go (hostPathProvisioner),
pkg/controller/volume/persistentvolume/pv_controller.go (provisionClaimOperation)
"""

from __future__ import annotations

from collections.abc import Iterable

from tinykube.api.core import HostPathVolumeSource, Node, ObjectReference
from tinykube.api.meta import ObjectMeta
from tinykube.api.other import (
    PersistentVolume,
    PersistentVolumeClaim,
    PersistentVolumeSpec,
    StorageClass,
)
from tinykube.api.volume_util import (
    ANN_BOUND_BY_CONTROLLER,
    ANN_DYNAMICALLY_PROVISIONED,
    ANN_SELECTED_NODE,
    FILESYSTEM,
    LOCAL_PATH_DIR,
    LOCAL_PATH_PROVISIONER,
    node_affinity_for,
)

PROVISIONER_NAME = LOCAL_PATH_PROVISIONER
SUPPORTED_ACCESS_MODES = ("ReadWriteOnce", "ReadWriteOncePod", "ReadOnlyMany")


class ProvisioningError(Exception):
    """The claim cannot be provisioned (event ProvisioningFailed)."""


def provisioned_volume_name(claim: PersistentVolumeClaim) -> str:
    return f"pvc-{claim.metadata.uid}"


def _node_ready(node: Node) -> bool:
    conditions = (node.status.conditions if node.status else None) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions) and \
        not (node.spec and node.spec.unschedulable)


def choose_node(claim: PersistentVolumeClaim, nodes: Iterable[Node], volumes: Iterable[PersistentVolume]) -> str:
    """The selected node, else (an Immediate class) the Ready node with the fewest of our volumes."""
    selected = (claim.metadata.annotations or {}).get(ANN_SELECTED_NODE)
    if selected:
        return selected
    counts: dict[str, int] = {}
    for volume in volumes:
        if (volume.metadata.annotations or {}).get(ANN_DYNAMICALLY_PROVISIONED) == PROVISIONER_NAME:
            for term in ((volume.spec.node_affinity if volume.spec else None) or {}).get("required", {}).get(
                    "nodeSelectorTerms", []):
                for expression in term.get("matchExpressions") or []:
                    for value in expression.get("values") or []:
                        counts[value] = counts.get(value, 0) + 1
    ready = sorted(node.metadata.name or "" for node in nodes if _node_ready(node))
    if not ready:
        raise ProvisioningError(f"{PROVISIONER_NAME}: no Ready node to place the volume on")
    return min(ready, key=lambda name: (counts.get(name, 0), name))


def provision(claim: PersistentVolumeClaim, storage_class: StorageClass, node_name: str) -> PersistentVolume:
    """The PV for `claim` on `node_name`; raises ProvisioningError for what we cannot serve."""
    spec = claim.spec
    modes = (spec.access_modes if spec else None) or ["ReadWriteOnce"]
    unsupported = [mode for mode in modes if mode not in SUPPORTED_ACCESS_MODES]
    if unsupported:
        raise ProvisioningError(f"{PROVISIONER_NAME} does not support access mode {unsupported[0]}: "
                                "the volume lives on one node")
    if spec and spec.volume_mode not in (None, FILESYSTEM):
        raise ProvisioningError(f"{PROVISIONER_NAME} does not support volumeMode {spec.volume_mode}")
    if storage_class.parameters:
        raise ProvisioningError(f"invalid parameter {sorted(storage_class.parameters)[0]!r} for "
                                f"provisioner {PROVISIONER_NAME}: it takes no parameters")
    requests = (spec.resources.requests if spec and spec.resources else None) or {}
    if "storage" not in requests:
        raise ProvisioningError("claim requests no storage (spec.resources.requests.storage)")
    name = provisioned_volume_name(claim)
    meta = claim.metadata
    return PersistentVolume(
        metadata=ObjectMeta(name=name, annotations={ANN_DYNAMICALLY_PROVISIONED: PROVISIONER_NAME,
                                                    ANN_BOUND_BY_CONTROLLER: "yes"}),
        spec=PersistentVolumeSpec(
            capacity={"storage": requests["storage"]}, access_modes=list(modes),
            claim_ref=ObjectReference(api_version="v1", kind="PersistentVolumeClaim", namespace=meta.namespace,
                                      name=meta.name, uid=meta.uid, resource_version=meta.resource_version),
            persistent_volume_reclaim_policy=storage_class.reclaim_policy or "Delete",
            storage_class_name=storage_class.metadata.name, mount_options=storage_class.mount_options,
            volume_mode=FILESYSTEM,
            host_path=HostPathVolumeSource(path=f"{LOCAL_PATH_DIR}/{name}", type="DirectoryOrCreate"),
            node_affinity=node_affinity_for(node_name)))
