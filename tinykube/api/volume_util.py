"""PersistentVolume and claim helpers shared by the binder, the scheduler and the kubelet.

Pure functions over the models: the annotations binding uses, a claim's and a
volume's class, the default StorageClass, a volume's node affinity, and
`find_matching_volume`, the one matching rule both the PV controller (no node) and
the scheduler's VolumeBinding plugin (a candidate node) use:
- a volume pre-bound to the claim (claimRef with its namespace/name, uid empty or
  the claim's) wins at once, if big enough;
- otherwise the smallest volume that is not bound, not being deleted, of the same
  class and volumeMode, with every requested access mode, capacity >= the request,
  labels matching the claim's selector and (with a node) node affinity matching it;
- with `delay_binding` and no node, no unbound volume matches: the scheduler picks
  the node first (WaitForFirstConsumer).

Kubernetes counterpart: pkg/controller/volume/persistentvolume/util/util.go (FindMatchingVolume,
CheckAccessModes), pkg/controller/volume/persistentvolume/index.go,
staging/src/k8s.io/component-helpers/storage/volume/helpers.go
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from tinykube.api.core import NodeSelector
from tinykube.api.nodeaffinity import node_selector_term_matches
from tinykube.api.other import PersistentVolume, PersistentVolumeClaim, StorageClass
from tinykube.api.quantity import int_value
from tinykube.api.selectors import label_selector_from_dict

ANN_BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
ANN_BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
ANN_DYNAMICALLY_PROVISIONED = "pv.kubernetes.io/provisioned-by"
ANN_STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
ANN_SELECTED_NODE = "volume.kubernetes.io/selected-node"
ANN_BETA_STORAGE_CLASS = "volume.beta.kubernetes.io/storage-class"
DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                             "storageclass.beta.kubernetes.io/is-default-class")
HOSTNAME_LABEL = "kubernetes.io/hostname"
# The host-path provisioner's name, and where its volumes live on every node: the
# controller manager writes this path into the PVs, the node's kubelet creates the
# directories (hostPath DirectoryOrCreate) and removes those whose PV is gone.
LOCAL_PATH_PROVISIONER = "tinykube.io/local-path"
LOCAL_PATH_DIR = "/var/lib/tinykube/local-path"

BINDING_WAIT_FOR_FIRST_CONSUMER = "WaitForFirstConsumer"
FILESYSTEM = "Filesystem"


_ACCESS_MODES = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
                 ("ReadWriteOncePod", "RWOP"))


def access_modes_as_string(modes: list[str] | None) -> str:
    """`RWO,ROX`: kubectl's short form, in its fixed order."""
    return ",".join(short for mode, short in _ACCESS_MODES if mode in (modes or []))


def claim_class(claim: PersistentVolumeClaim) -> str | None:
    """The claim's class: the beta annotation, else spec.storageClassName (None: unset)."""
    annotated = (claim.metadata.annotations or {}).get(ANN_BETA_STORAGE_CLASS)
    if annotated is not None:
        return annotated
    return claim.spec.storage_class_name if claim.spec else None


def volume_class(volume: PersistentVolume) -> str:
    annotated = (volume.metadata.annotations or {}).get(ANN_BETA_STORAGE_CLASS)
    if annotated is not None:
        return annotated
    return (volume.spec.storage_class_name if volume.spec else None) or ""


def is_default_class(storage_class: StorageClass) -> bool:
    annotations = storage_class.metadata.annotations or {}
    return any(annotations.get(key) == "true" for key in DEFAULT_CLASS_ANNOTATIONS)


def default_class(classes: Iterable[StorageClass]) -> StorageClass | None:
    """The default class; with several, the newest (then the first by name), as upstream."""
    defaults = [c for c in classes if is_default_class(c)]
    defaults.sort(key=lambda c: (c.metadata.creation_timestamp or "", c.metadata.name or ""), reverse=True)
    return defaults[0] if defaults else None


def is_delay_binding(storage_class: StorageClass | None) -> bool:
    return storage_class is not None and storage_class.volume_binding_mode == BINDING_WAIT_FOR_FIRST_CONSUMER


def requested_storage(claim: PersistentVolumeClaim) -> int:
    resources = claim.spec.resources if claim.spec else None
    requests = (resources.requests if resources else None) or {}
    return int_value(requests.get("storage", 0))


def volume_capacity(volume: PersistentVolume) -> int:
    capacity = (volume.spec.capacity if volume.spec else None) or {}
    return int_value(capacity.get("storage", 0))


def check_access_modes(claim: PersistentVolumeClaim, volume: PersistentVolume) -> bool:
    """Every mode the claim asks for is one the volume offers."""
    offered = set((volume.spec.access_modes if volume.spec else None) or ())
    return set((claim.spec.access_modes if claim.spec else None) or ()) <= offered


def volume_mode_mismatch(claim: PersistentVolumeClaim, volume: PersistentVolume) -> bool:
    claim_mode = (claim.spec.volume_mode if claim.spec else None) or FILESYSTEM
    return claim_mode != ((volume.spec.volume_mode if volume.spec else None) or FILESYSTEM)


def volume_node_selector(volume: PersistentVolume) -> NodeSelector | None:
    affinity = (volume.spec.node_affinity if volume.spec else None) or {}
    required = affinity.get("required")
    return NodeSelector.from_dict(required) if required else None


def check_node_affinity(volume: PersistentVolume, node_name: str, node_labels: Mapping[str, str]) -> bool:
    """A volume without required node affinity is reachable from every node."""
    selector = volume_node_selector(volume)
    if selector is None:
        return True
    return any(node_selector_term_matches(term, node_labels, node_name)
               for term in selector.node_selector_terms or ())


def node_affinity_for(node_name: str) -> dict[str, object]:
    """What a volume living on one node carries (kubernetes.io/hostname In [node])."""
    return {"required": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": HOSTNAME_LABEL, "operator": "In", "values": [node_name]}]}]}}


def is_volume_bound_to_claim(volume: PersistentVolume, claim: PersistentVolumeClaim) -> bool:
    ref = volume.spec.claim_ref if volume.spec else None
    if ref is None or ref.name != claim.metadata.name or ref.namespace != claim.metadata.namespace:
        return False
    return not ref.uid or ref.uid == claim.metadata.uid


def find_matching_volume(claim: PersistentVolumeClaim, volumes: Iterable[PersistentVolume], *,
                         node_name: str | None = None, node_labels: Mapping[str, str] | None = None,
                         delay_binding: bool = False) -> PersistentVolume | None:
    """The volume `claim` should bind to, or None (the rules are in the module docstring)."""
    requested = requested_storage(claim)
    wanted_class = claim_class(claim) or ""
    selector = label_selector_from_dict(claim.spec.selector.to_dict()) if claim.spec and claim.spec.selector \
        else None
    smallest: PersistentVolume | None = None
    for volume in volumes:
        capacity = volume_capacity(volume)
        if volume_mode_mismatch(claim, volume):
            continue
        node_ok = node_name is None or check_node_affinity(volume, node_name, node_labels or {})
        if is_volume_bound_to_claim(volume, claim):
            if capacity >= requested and node_ok:
                return volume  # pre-bound by the user, or by us in an earlier pass
            continue
        if volume.spec and volume.spec.claim_ref is not None or volume.metadata.deletion_timestamp:
            continue
        if node_name is None and delay_binding:
            continue  # the scheduler binds unbound volumes once it has chosen a node
        if volume.status and volume.status.phase not in (None, "Available", "Pending"):
            continue
        if selector is not None and not selector.matches(volume.metadata.labels or {}):
            continue
        if volume_class(volume) != wanted_class or not check_access_modes(claim, volume) or not node_ok:
            continue
        if capacity >= requested and (smallest is None or volume_capacity(smallest) > capacity):
            smallest = volume
    return smallest
