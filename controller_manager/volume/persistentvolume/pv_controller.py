"""The PersistentVolume controller: binds claims to volumes, provisions, reclaims.

One workqueue holds two kinds of keys, `claim:<ns>/<name>` and `volume:<name>`
(upstream has a claim queue and a volume queue). Both syncs are level-triggered:
- `sync_claim`: a claim without a class gets the default StorageClass (upstream's
  retroactive default assignment); an unbound claim is bound to the best volume
  (`find_matching_volume`), or waits (WaitForFirstConsumer without a selected node),
  or is provisioned (a class with a provisioner), or stays Pending with an event
  saying why; a bound claim whose volume is gone or taken turns Lost.
- `sync_volume`: Available without a claimRef, Bound when the claim agrees,
  Released when its claim is gone, then reclaimed: Retain keeps it Released,
  Delete deletes the PV object (for volumes of our provisioner; the node's kubelet
  deletes the data), anything else turns Failed with an event.

Binding is two-way and always written volume first: pv.spec.claimRef (annotated
bound-by-controller when we chose it), PV phase Bound, then pvc.spec.volumeName with
bind-completed (and bound-by-controller), then the claim's status (phase Bound,
capacity and access modes of the volume). A crash between writes leaves a state the
next sync finishes. Writes use the cached resourceVersion: a stale cache gets a
Conflict and the key is retried.

Kubernetes counterpart: pkg/controller/volume/persistentvolume/pv_controller.go,
pv_controller_base.go
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from controller_manager.controller_utils import Controller
from controller_manager.volume.persistentvolume import provisioner
from tinykube.api.core import ObjectReference
from tinykube.api.other import (
    PersistentVolume,
    PersistentVolumeClaim,
    PersistentVolumeClaimStatus,
    PersistentVolumeStatus,
    StorageClass,
)
from tinykube.api.registry import deep_copy
from tinykube.api.resources import NODES, PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, STORAGE_CLASSES
from tinykube.api.volume_util import (
    ANN_BIND_COMPLETED,
    ANN_BOUND_BY_CONTROLLER,
    ANN_DYNAMICALLY_PROVISIONED,
    ANN_SELECTED_NODE,
    check_access_modes,
    claim_class,
    default_class,
    find_matching_volume,
    is_delay_binding,
    is_volume_bound_to_claim,
    requested_storage,
    volume_capacity,
    volume_class,
    volume_mode_mismatch,
)
from tinykube.client import (
    REAL_CLOCK, AlreadyExists, Clock, EventRecorder, NotFound, RESTClient, SharedInformerFactory,
    meta_namespace_key,
)

log = logging.getLogger(__name__)

CLAIM, VOLUME = "claim:", "volume:"
NO_CLASS_MESSAGE = "no persistent volumes available for this claim and no storage class is set"
WAIT_MESSAGE = "waiting for first consumer to be created before binding"
DEFAULT_SYNC_PERIOD_SECONDS = 15.0


class PersistentVolumeController(Controller):
    """Guarantees:
    - a volume is written before its claim, so a claim never names a volume that
      does not point back at it for longer than one sync;
    - a volume is never bound to a second claim: only volumes without a claimRef, or
      pre-bound to this very claim, are candidates;
    - events repeat on every sync of a claim that cannot progress (the recorder
      aggregates them into a count), as upstream.
    """

    name = "persistentvolume-binder"

    def __init__(self, client: RESTClient, factory: SharedInformerFactory, recorder: EventRecorder, *,
                 clock: Clock = REAL_CLOCK, enable_hostpath_provisioner: bool = False,
                 pvclaimbinder_sync_period_seconds: float = DEFAULT_SYNC_PERIOD_SECONDS, **options: Any) -> None:
        super().__init__(client, recorder, self.sync, clock=clock)
        self.enable_hostpath_provisioner = enable_hostpath_provisioner
        self.sync_period_seconds = pvclaimbinder_sync_period_seconds
        self.volume_informer = factory.informer_for(PERSISTENT_VOLUMES)
        self.claim_informer = factory.informer_for(PERSISTENT_VOLUME_CLAIMS)
        self.class_informer = factory.informer_for(STORAGE_CLASSES)
        self.node_informer = factory.informer_for(NODES)
        self.volume_informer.add_event_handler(self.volume_changed, lambda old, cur: self.volume_changed(cur),
                                               self.volume_changed)
        self.claim_informer.add_event_handler(self.claim_changed, lambda old, cur: self.claim_changed(cur),
                                              self.claim_deleted)
        self.class_informer.add_event_handler(self.class_changed, lambda old, cur: self.class_changed(cur),
                                              self.class_changed)

    # --- event handlers: only turn events into keys ------------------------------------

    def volume_changed(self, volume: PersistentVolume) -> None:
        self.queue.add(VOLUME + (volume.metadata.name or ""))
        ref = volume.spec.claim_ref if volume.spec else None
        if ref is not None and ref.name:
            self.queue.add(f"{CLAIM}{ref.namespace}/{ref.name}")

    def claim_changed(self, claim: PersistentVolumeClaim) -> None:
        self.queue.add(CLAIM + meta_namespace_key(claim))

    def claim_deleted(self, claim: PersistentVolumeClaim) -> None:
        if claim.spec and claim.spec.volume_name:
            self.queue.add(VOLUME + claim.spec.volume_name)  # it turns Released

    def class_changed(self, storage_class: StorageClass) -> None:
        for claim in self.claim_informer.indexer.list():
            if claim.status is None or claim.status.phase != "Bound":
                self.claim_changed(claim)

    async def run(self, workers: int) -> None:
        """The workers, plus a resync of every claim and volume each sync period."""
        async with asyncio.TaskGroup() as group:
            group.create_task(super().run(workers))
            group.create_task(self.resync())

    async def resync(self) -> None:
        while True:
            await self.clock.sleep(self.sync_period_seconds)
            for claim in self.claim_informer.indexer.list():
                self.claim_changed(claim)
            for volume in self.volume_informer.indexer.list():
                self.queue.add(VOLUME + (volume.metadata.name or ""))

    async def sync(self, key: str) -> None:
        if key.startswith(CLAIM):
            claim = self.claim_informer.indexer.get(key.removeprefix(CLAIM))
            if claim is not None:
                await self.sync_claim(claim)
        else:
            volume = self.volume_informer.indexer.get(key.removeprefix(VOLUME))
            if volume is not None:
                await self.sync_volume(volume)

    # --- claims ---------------------------------------------------------------------------

    async def sync_claim(self, claim: PersistentVolumeClaim) -> None:
        if claim.metadata.deletion_timestamp is not None:
            return
        annotations = claim.metadata.annotations or {}
        if ANN_BIND_COMPLETED not in annotations:
            if claim_class(claim) is None and await self.assign_default_class(claim):
                return  # the update brings the claim back with its class
            await self.sync_unbound_claim(claim)
        else:
            await self.sync_bound_claim(claim)

    async def assign_default_class(self, claim: PersistentVolumeClaim) -> bool:
        found = default_class(self.class_informer.indexer.list())
        if found is None:
            return False
        updated = deep_copy(claim)
        updated.spec.storage_class_name = found.metadata.name  # type: ignore[union-attr]
        await self.client.update_object(updated)
        log.info("assigned default storage class claim=%s class=%s", meta_namespace_key(claim), found.metadata.name)
        return True

    async def sync_unbound_claim(self, claim: PersistentVolumeClaim) -> None:
        volume_name = claim.spec.volume_name if claim.spec else None
        if not volume_name:
            class_name = claim_class(claim) or ""
            storage_class = self.class_informer.indexer.get(class_name) if class_name else None
            delay = is_delay_binding(storage_class)
            volume = find_matching_volume(claim, self.volume_informer.indexer.list(), delay_binding=delay)
            if volume is not None:
                await self.bind(volume, claim)
                return
            if delay and ANN_SELECTED_NODE not in (claim.metadata.annotations or {}):
                self.recorder.event(claim, "Normal", "WaitForFirstConsumer", WAIT_MESSAGE)
            elif class_name:
                await self.provision_claim(claim, class_name, storage_class)
            else:
                self.recorder.event(claim, "Normal", "FailedBinding", NO_CLASS_MESSAGE)
            await self.update_claim_phase(claim, "Pending")
            return
        volume = self.volume_informer.indexer.get(volume_name)
        if volume is None:  # asked for a volume that does not exist (yet)
            await self.update_claim_phase(claim, "Pending")
            return
        if volume.spec is None or volume.spec.claim_ref is None:
            mismatch = check_volume_satisfy_claim(volume, claim)
            if mismatch:
                self.recorder.event(claim, "Warning", "VolumeMismatch",
                                    f'Cannot bind to requested volume "{volume_name}": {mismatch}')
                await self.update_claim_phase(claim, "Pending")
                return
            await self.bind(volume, claim)
        elif is_volume_bound_to_claim(volume, claim):
            await self.bind(volume, claim)
        elif ANN_BOUND_BY_CONTROLLER not in (claim.metadata.annotations or {}):
            self.recorder.event(claim, "Warning", "FailedBinding",
                                f'volume "{volume_name}" already bound to a different claim.')
            await self.update_claim_phase(claim, "Pending")
        else:
            raise RuntimeError(f"invalid binding of claim {meta_namespace_key(claim)} to volume {volume_name}: "
                               "volume already claimed by another claim")

    async def sync_bound_claim(self, claim: PersistentVolumeClaim) -> None:
        volume_name = claim.spec.volume_name if claim.spec else None
        if not volume_name:
            await self.claim_lost(claim, "Bound claim has lost reference to PersistentVolume. Data on the volume "
                                         "is lost!")
            return
        volume = self.volume_informer.indexer.get(volume_name)
        if volume is None:
            await self.claim_lost(claim, "Bound claim has lost its PersistentVolume. Data on the volume is lost!")
            return
        if volume.spec is None or volume.spec.claim_ref is None or is_volume_bound_to_claim(volume, claim):
            await self.bind(volume, claim)  # finishes a half-done bind; writes nothing when all agree
            return
        self.recorder.event(claim, "Warning", "ClaimMisbound",
                            "Two claims are bound to the same volume, this one is bound incorrectly")
        await self.update_claim_phase(claim, "Lost")

    async def claim_lost(self, claim: PersistentVolumeClaim, message: str) -> None:
        if claim.status is None or claim.status.phase != "Lost":
            self.recorder.event(claim, "Warning", "ClaimLost", message)
        await self.update_claim_phase(claim, "Lost")

    async def provision_claim(self, claim: PersistentVolumeClaim, class_name: str,
                              storage_class: StorageClass | None) -> None:
        if storage_class is None:
            self.recorder.event(claim, "Warning", "ProvisioningFailed",
                                f'storageclass.storage.k8s.io "{class_name}" not found')
            return
        if storage_class.provisioner != provisioner.PROVISIONER_NAME or not self.enable_hostpath_provisioner:
            self.recorder.event(
                claim, "Normal", "ExternalProvisioning",
                f"Waiting for a volume to be created either by the external provisioner "
                f"'{storage_class.provisioner}' or manually by the system administrator. If volume creation is "
                "delayed, please verify that the provisioner is running and correctly registered.")
            return
        if self.volume_informer.indexer.get(provisioner.provisioned_volume_name(claim)) is not None:
            return  # provisioned already; the volume's event brings the claim back to bind
        try:
            node_name = provisioner.choose_node(claim, self.node_informer.indexer.list(),
                                                self.volume_informer.indexer.list())
            volume = provisioner.provision(claim, storage_class, node_name)
        except provisioner.ProvisioningError as err:
            self.recorder.event(claim, "Warning", "ProvisioningFailed", str(err))
            return
        try:
            await self.client.create_object(volume)
        except AlreadyExists:
            return
        log.info("provisioned volume=%s claim=%s node=%s", volume.metadata.name, meta_namespace_key(claim), node_name)
        self.recorder.event(claim, "Normal", "ProvisioningSucceeded",
                            f"Successfully provisioned volume {volume.metadata.name} using "
                            f"{provisioner.PROVISIONER_NAME}")

    # --- binding ----------------------------------------------------------------------------

    async def bind(self, volume: PersistentVolume, claim: PersistentVolumeClaim) -> None:
        """Both halves, volume first; each write only when something differs."""
        volume = await self.bind_volume_to_claim(volume, claim)
        volume = await self.update_volume_phase(volume, "Bound")
        claim = await self.bind_claim_to_volume(claim, volume)
        await self.update_claim_status_bound(claim, volume)

    async def bind_volume_to_claim(self, volume: PersistentVolume, claim: PersistentVolumeClaim) -> PersistentVolume:
        ref = volume.spec.claim_ref if volume.spec else None
        meta = claim.metadata
        if ref is not None and ref.uid == meta.uid and ref.name == meta.name and ref.namespace == meta.namespace:
            return volume
        updated = deep_copy(volume)
        assert updated.spec is not None
        updated.spec.claim_ref = ObjectReference(api_version="v1", kind="PersistentVolumeClaim",
                                                 namespace=meta.namespace, name=meta.name, uid=meta.uid,
                                                 resource_version=meta.resource_version)
        if ref is None:  # we chose this volume; a user's pre-binding has a ref already
            updated.metadata.annotations = {**(updated.metadata.annotations or {}), ANN_BOUND_BY_CONTROLLER: "yes"}
        log.info("binding volume=%s claim=%s", volume.metadata.name, meta_namespace_key(claim))
        return await self.client.update_object(updated)

    async def bind_claim_to_volume(self, claim: PersistentVolumeClaim,
                                   volume: PersistentVolume) -> PersistentVolumeClaim:
        annotations = dict(claim.metadata.annotations or {})
        volume_name = claim.spec.volume_name if claim.spec else None
        wanted = {ANN_BIND_COMPLETED: "yes"}
        if volume_name != volume.metadata.name:
            wanted[ANN_BOUND_BY_CONTROLLER] = "yes"
        if volume_name == volume.metadata.name and all(annotations.get(k) == v for k, v in wanted.items()):
            return claim
        updated = deep_copy(claim)
        updated.spec.volume_name = volume.metadata.name  # type: ignore[union-attr]
        updated.metadata.annotations = {**annotations, **wanted}
        return await self.client.update_object(updated)

    async def update_claim_status_bound(self, claim: PersistentVolumeClaim, volume: PersistentVolume) -> None:
        spec = volume.spec
        status = PersistentVolumeClaimStatus(phase="Bound", access_modes=spec.access_modes if spec else None,
                                             capacity=spec.capacity if spec else None)
        if claim.status is not None and (claim.status.phase, claim.status.access_modes, claim.status.capacity) == \
                (status.phase, status.access_modes, status.capacity):
            return
        updated = deep_copy(claim)
        updated.status = status
        await self.client.update_status(PERSISTENT_VOLUME_CLAIMS, updated)

    async def update_claim_phase(self, claim: PersistentVolumeClaim, phase: str) -> None:
        if claim.status is not None and claim.status.phase == phase:
            return
        updated = deep_copy(claim)
        updated.status = updated.status or PersistentVolumeClaimStatus()
        updated.status.phase = phase
        await self.client.update_status(PERSISTENT_VOLUME_CLAIMS, updated)

    async def update_volume_phase(self, volume: PersistentVolume, phase: str, message: str | None = None) -> \
            PersistentVolume:
        if volume.status is not None and volume.status.phase == phase and volume.status.message == message:
            return volume
        updated = deep_copy(volume)
        updated.status = PersistentVolumeStatus(phase=phase, message=message)
        return PersistentVolume.from_dict(await self.client.update_status(PERSISTENT_VOLUMES, updated))

    # --- volumes ----------------------------------------------------------------------------

    async def sync_volume(self, volume: PersistentVolume) -> None:
        if volume.metadata.deletion_timestamp is not None:
            return
        ref = volume.spec.claim_ref if volume.spec else None
        if ref is None or not ref.uid:  # free, or pre-bound by a user and waiting for its claim
            await self.update_volume_phase(volume, "Available")
            return
        claim: PersistentVolumeClaim | None = self.claim_informer.indexer.get(f"{ref.namespace}/{ref.name}")
        if claim is not None and claim.metadata.uid != ref.uid:
            claim = None  # a namesake: the claim this volume was bound to is gone
        if claim is None:
            if volume.status is None or volume.status.phase not in ("Released", "Failed"):
                volume = await self.update_volume_phase(volume, "Released")
            await self.reclaim_volume(volume)
            return
        claim_volume = claim.spec.volume_name if claim.spec else None
        if not claim_volume or claim_volume == volume.metadata.name:
            # not bound yet (the claim's sync finishes it), or bound both ways
            if claim_volume == volume.metadata.name:
                await self.update_volume_phase(volume, "Bound")
            else:
                self.claim_changed(claim)
            return
        annotations = volume.metadata.annotations or {}
        if annotations.get(ANN_DYNAMICALLY_PROVISIONED) and \
                (volume.spec and volume.spec.persistent_volume_reclaim_policy == "Delete"):
            volume = await self.update_volume_phase(volume, "Released")  # provisioned for a claim bound elsewhere
            await self.reclaim_volume(volume)
        elif ANN_BOUND_BY_CONTROLLER in annotations:
            await self.unbind_volume(volume)
        # else a user pre-bound it to a claim that went elsewhere: leave it, as upstream

    async def unbind_volume(self, volume: PersistentVolume) -> None:
        updated = deep_copy(volume)
        assert updated.spec is not None
        updated.spec.claim_ref = None
        updated.metadata.annotations = {k: v for k, v in (updated.metadata.annotations or {}).items()
                                        if k != ANN_BOUND_BY_CONTROLLER} or None
        updated = await self.client.update_object(updated)
        await self.update_volume_phase(updated, "Available")

    async def reclaim_volume(self, volume: PersistentVolume) -> None:
        policy = (volume.spec.persistent_volume_reclaim_policy if volume.spec else None) or "Retain"
        if policy == "Retain":
            return
        if volume.status is not None and volume.status.phase == "Failed":
            return
        if policy == "Delete":
            ours = (volume.metadata.annotations or {}).get(ANN_DYNAMICALLY_PROVISIONED) == provisioner.PROVISIONER_NAME
            if ours and self.enable_hostpath_provisioner:
                log.info("deleting released volume=%s", volume.metadata.name)
                try:
                    await self.client.delete(PERSISTENT_VOLUMES, volume.metadata.name or "")
                except NotFound:
                    pass
                return
            message = (f'error getting deleter volume plugin for volume "{volume.metadata.name}": '
                       "no deletable volume plugin matched")
            self.recorder.event(volume, "Warning", "VolumeFailedDelete", message)
            await self.update_volume_phase(volume, "Failed", message)
            return
        self.recorder.event(volume, "Warning", "VolumeFailedRecycle", "No recycler plugin found for the volume!")
        await self.update_volume_phase(volume, "Failed", "No recycler plugin found for the volume!")


def check_volume_satisfy_claim(volume: PersistentVolume, claim: PersistentVolumeClaim) -> str:
    """Why a volume the user named cannot serve the claim ("" when it can)."""
    if volume_capacity(volume) < requested_storage(claim):
        return "requested PV is too small"
    if volume_class(volume) != (claim_class(claim) or ""):
        return "storageClassName does not match"
    if volume_mode_mismatch(claim, volume):
        return "incompatible volumeMode"
    if not check_access_modes(claim, volume):
        return "incompatible accessMode"
    return ""

