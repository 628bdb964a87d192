"""VolumeBinding: a pod's PersistentVolumeClaims decide where it may run, and get bound
for the node it is given.

PreFilter: the pod's claims from the cache. None: Skip. A claim missing or being
deleted, or an unbound claim of an Immediate class (the binder binds those without
the scheduler), rejects the pod outright.

Filter, per node:
- a bound claim's volume must exist and its node affinity admit the node
  ("node(s) had volume node affinity conflict");
- an unbound WaitForFirstConsumer claim needs, on that node, a matching static
  volume (`find_matching_volume` with the node; volumes another pod reserved are
  skipped) or a class with a provisioner ("node(s) didn't find available
  persistent volumes to bind"). The choice per node is kept in the CycleState.

Reserve keeps the chosen static volumes in `assumed` (so two pods in flight never
take one volume); Unreserve gives them back.

PreBind (API writes): each chosen static volume gets its claimRef (the binder then
completes the bind); each claim to provision gets the annotation
`volume.kubernetes.io/selected-node`. Then it waits, at most `bind_timeout_seconds`,
woken by claim and volume events, until every claim is bound to a volume, and only
then does the pod get bound.

Kubernetes counterpart: pkg/scheduler/framework/plugins/volumebinding/volume_binding.go,
binder.go (FindPodVolumes, AssumePodVolumes, BindPodVolumes)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from scheduler.cycle_state import CycleState
from scheduler.framework import SUCCESS, Status, as_error, skip, unresolvable
from scheduler.types import NodeInfo, PodInfo
from tinykube.api.core import ObjectReference
from tinykube.api.other import PersistentVolume, PersistentVolumeClaim, StorageClass
from tinykube.api.registry import deep_copy
from tinykube.api.resources import PERSISTENT_VOLUME_CLAIMS, ResourceInfo
from tinykube.api.volume_util import (
    ANN_BIND_COMPLETED,
    ANN_BOUND_BY_CONTROLLER,
    ANN_SELECTED_NODE,
    check_node_affinity,
    claim_class,
    find_matching_volume,
    is_delay_binding,
)
from tinykube.client.errors import ClientError

NAME = "VolumeBinding"
STATE_KEY = "PreFilter" + NAME
NO_PROVISIONER = "kubernetes.io/no-provisioner"
ERR_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
ERR_NODE_CONFLICT = "node(s) had volume node affinity conflict"
ERR_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"
ERR_PV_NOT_EXIST = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
DEFAULT_BIND_TIMEOUT_SECONDS = 600.0


class Store(Protocol):
    """A cache by key (`ns/name`, or `name`); an informer's indexer provides it."""

    def get(self, key: str) -> Any: ...

    def list(self) -> list[Any]: ...


class MapStore:
    """A plain dict as a Store (tests; a scheduler built without volume informers)."""

    def __init__(self, objects: dict[str, Any] | None = None) -> None:
        self.objects = objects or {}

    def get(self, key: str) -> Any:
        return self.objects.get(key)

    def list(self) -> list[Any]:
        return list(self.objects.values())


class VolumeBindingClient(Protocol):
    async def update_object(self, obj: Any) -> Any: ...

    async def patch(self, info: ResourceInfo, name: str, body: Any, *, patch_type: Any = ...,
                    namespace: str | None = None) -> Any: ...


@dataclass
class PodVolumes:
    """What PreFilter found and Filter decided, for one pod."""

    bound: list[PersistentVolumeClaim] = field(default_factory=list)
    delayed: list[PersistentVolumeClaim] = field(default_factory=list)
    # node -> [(claim, static volume or None to provision)]
    per_node: dict[str, list[tuple[PersistentVolumeClaim, PersistentVolume | None]]] = field(default_factory=dict)


def claim_is_bound(claim: PersistentVolumeClaim) -> bool:
    return bool(claim.spec and claim.spec.volume_name)


class VolumeBinding:
    name = NAME

    def __init__(self, client: VolumeBindingClient, claims: Store | None = None, volumes: Store | None = None,
                 classes: Store | None = None, *, bind_timeout_seconds: float = DEFAULT_BIND_TIMEOUT_SECONDS,
                 monotonic: Callable[[], float] | None = None) -> None:
        self.client = client
        # `is None`, not `or`: an informer's empty cache is falsy (it has a length)
        self.claims = MapStore() if claims is None else claims
        self.volumes = MapStore() if volumes is None else volumes
        self.classes = MapStore() if classes is None else classes
        self.bind_timeout_seconds = bind_timeout_seconds
        self.monotonic = monotonic or (lambda: asyncio.get_running_loop().time())
        self.assumed: dict[str, str] = {}  # volume name -> claim key, from Reserve until the bind is seen
        self._changed = asyncio.Event()

    def notify(self, *_: object) -> None:
        """Claim/volume informer handler: wake PreBinds waiting for bindings."""
        self._changed.set()

    # --- scheduling cycle --------------------------------------------------------------

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status:
        names = [v.persistent_volume_claim.claim_name for v in pod.spec.volumes or []
                 if v.persistent_volume_claim is not None]
        if not names:
            return skip(NAME)
        namespace = pod.pod.metadata.namespace or ""
        found = PodVolumes()
        for name in names:
            claim: PersistentVolumeClaim | None = self.claims.get(f"{namespace}/{name}")
            if claim is None:
                return unresolvable(NAME, f'persistentvolumeclaim "{name}" not found')
            if claim.metadata.deletion_timestamp is not None:
                return unresolvable(NAME, f'persistentvolumeclaim "{name}" is being deleted')
            if claim_is_bound(claim):
                found.bound.append(claim)
            elif is_delay_binding(self.classes.get(claim_class(claim) or "")):
                found.delayed.append(claim)
            else:
                return unresolvable(NAME, ERR_UNBOUND_IMMEDIATE)
        state.write(STATE_KEY, found)
        return SUCCESS

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        found: PodVolumes | None = state.read(STATE_KEY)
        if found is None:
            return as_error(NAME, f"reading {STATE_KEY!r} from cycleState: not found")
        for claim in found.bound:
            volume: PersistentVolume | None = self.volumes.get(claim.spec.volume_name)  # type: ignore[union-attr]
            if volume is None:
                return unresolvable(NAME, ERR_PV_NOT_EXIST)
            if not check_node_affinity(volume, node.name, node.labels):
                return unresolvable(NAME, ERR_NODE_CONFLICT)
        decisions: list[tuple[PersistentVolumeClaim, PersistentVolume | None]] = []
        taken = set(self.assumed)
        for claim in found.delayed:
            candidates = [v for v in self.volumes.list() if v.metadata.name not in taken]
            volume = find_matching_volume(claim, candidates, node_name=node.name, node_labels=node.labels,
                                          delay_binding=True)
            if volume is not None:
                taken.add(volume.metadata.name or "")
                decisions.append((claim, volume))
                continue
            storage_class: StorageClass | None = self.classes.get(claim_class(claim) or "")
            if storage_class is None or storage_class.provisioner in ("", NO_PROVISIONER):
                return unresolvable(NAME, ERR_BIND_CONFLICT)
            decisions.append((claim, None))
        found.per_node[node.name] = decisions
        return SUCCESS

    def reserve(self, state: CycleState, pod: PodInfo, node_name: str) -> Status:
        found: PodVolumes | None = state.read(STATE_KEY)
        for claim, volume in (found.per_node.get(node_name, []) if found else []):
            if volume is not None:
                self.assumed[volume.metadata.name or ""] = f"{claim.metadata.namespace}/{claim.metadata.name}"
        return SUCCESS

    def unreserve(self, state: CycleState, pod: PodInfo, node_name: str) -> None:
        found: PodVolumes | None = state.read(STATE_KEY)
        for _, volume in (found.per_node.get(node_name, []) if found else []):
            if volume is not None:
                self.assumed.pop(volume.metadata.name or "", None)

    # --- binding cycle -------------------------------------------------------------------

    async def pre_bind(self, state: CycleState, pod: PodInfo, node_name: str) -> Status:
        found: PodVolumes | None = state.read(STATE_KEY)
        decisions = found.per_node.get(node_name, []) if found else []
        if not decisions:
            return SUCCESS
        try:
            for claim, volume in decisions:
                if volume is not None:
                    await self.bind_volume(volume, claim)
                else:
                    await self.client.patch(PERSISTENT_VOLUME_CLAIMS, claim.metadata.name or "",
                                            {"metadata": {"annotations": {ANN_SELECTED_NODE: node_name}}},
                                            patch_type="merge", namespace=claim.metadata.namespace)
        except ClientError as err:
            return as_error(NAME, err)
        keys = [f"{claim.metadata.namespace}/{claim.metadata.name}" for claim, _ in decisions]
        try:
            return await self.wait_for_bindings(keys)
        finally:
            for _, volume in decisions:
                if volume is not None:
                    self.assumed.pop(volume.metadata.name or "", None)

    async def bind_volume(self, volume: PersistentVolume, claim: PersistentVolumeClaim) -> None:
        updated = deep_copy(volume)
        meta = claim.metadata
        updated.spec.claim_ref = ObjectReference(  # type: ignore[union-attr]
            api_version="v1", kind="PersistentVolumeClaim", namespace=meta.namespace, name=meta.name, uid=meta.uid,
            resource_version=meta.resource_version)
        updated.metadata.annotations = {**(updated.metadata.annotations or {}), ANN_BOUND_BY_CONTROLLER: "yes"}
        await self.client.update_object(updated)

    async def wait_for_bindings(self, keys: list[str]) -> Status:
        deadline = self.monotonic() + self.bind_timeout_seconds
        while True:
            self._changed.clear()
            if all(self.fully_bound(key) for key in keys):
                return SUCCESS
            remaining = deadline - self.monotonic()
            if remaining <= 0:
                return as_error(NAME, "binding volumes: context deadline exceeded")
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    def fully_bound(self, key: str) -> bool:
        claim: PersistentVolumeClaim | None = self.claims.get(key)
        if claim is None or not claim_is_bound(claim) or \
                ANN_BIND_COMPLETED not in (claim.metadata.annotations or {}):
            return False
        volume: PersistentVolume | None = self.volumes.get(claim.spec.volume_name)  # type: ignore[union-attr]
        ref = volume.spec.claim_ref if volume and volume.spec else None
        return ref is not None and ref.uid == claim.metadata.uid
