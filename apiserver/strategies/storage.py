"""PersistentVolume and PersistentVolumeClaim: create-time spec validation, as upstream.

A claim needs at least one known access mode and a positive storage request; a
volume needs access modes, a storage capacity, a known reclaim policy and exactly
one of the sources tinykube's kubelet mounts (hostPath, local): a volume of any
other type would be accepted and then never mountable, so it is refused here.
Status belongs to the binder (written through `status`).

Kubernetes counterpart: pkg/apis/core/validation/validation.go (ValidatePersistentVolumeClaimSpec,
ValidatePersistentVolumeSpec), pkg/registry/core/persistentvolume{,claim}/strategy.go
"""

from __future__ import annotations

from apiserver.strategy import Obj, Strategy
from tinykube.api.quantity import parse_quantity
from tinykube.api.validation import FieldError, forbidden, invalid, not_supported, required

ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]
RECLAIM_POLICIES = ["Delete", "Recycle", "Retain"]
VOLUME_MODES = ["Block", "Filesystem"]
MOUNTABLE_SOURCES = ("hostPath", "local")
OTHER_SOURCES = ("awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "csi", "fc", "flexVolume",
                 "flocker", "gcePersistentDisk", "glusterfs", "iscsi", "nfs", "photonPersistentDisk",
                 "portworxVolume", "quobyte", "rbd", "scaleIO", "storageos", "vsphereVolume")


def validate_access_modes(modes: object, field: str, missing: str) -> list[FieldError]:
    if not modes:
        return [required(field, missing)]
    return [not_supported(f"{field}[{i}]", mode, ACCESS_MODES)
            for i, mode in enumerate(modes if isinstance(modes, list) else []) if mode not in ACCESS_MODES]


def validate_storage(value: object, field: str) -> list[FieldError]:
    if value is None:
        return [required(field)]
    try:
        if parse_quantity(value) <= 0:  # type: ignore[arg-type]
            return [invalid(field, value, "must be greater than zero")]
    except (ValueError, ArithmeticError):
        return [invalid(field, value, "quantities must match the regular expression "
                                      "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")]
    return []


def validate_claim_spec(spec: Obj) -> list[FieldError]:
    errs = validate_access_modes(spec.get("accessModes"), "spec.accessModes", "at least 1 access mode is required")
    requests = (spec.get("resources") or {}).get("requests") or {}
    errs += validate_storage(requests.get("storage"), "spec.resources[storage]")
    if spec.get("volumeMode") is not None and spec["volumeMode"] not in VOLUME_MODES:
        errs.append(not_supported("spec.volumeMode", spec["volumeMode"], VOLUME_MODES))
    return errs


def validate_volume_spec(spec: Obj) -> list[FieldError]:
    errs = validate_access_modes(spec.get("accessModes"), "spec.accessModes", "must specify at least 1 access mode")
    capacity = spec.get("capacity") or {}
    if not capacity:
        errs.append(required("spec.capacity"))
    else:
        errs += validate_storage(capacity.get("storage"), "spec.capacity[storage]")
    policy = spec.get("persistentVolumeReclaimPolicy")
    if policy is not None and policy not in RECLAIM_POLICIES:
        errs.append(not_supported("spec.persistentVolumeReclaimPolicy", policy, RECLAIM_POLICIES))
    if spec.get("volumeMode") is not None and spec["volumeMode"] not in VOLUME_MODES:
        errs.append(not_supported("spec.volumeMode", spec["volumeMode"], VOLUME_MODES))
    sources = [key for key in (*MOUNTABLE_SOURCES, *OTHER_SOURCES) if spec.get(key) is not None]
    if not sources:
        errs.append(required("spec", "must specify a volume type"))
    elif len(sources) > 1:
        errs.append(forbidden(f"spec.{sources[1]}", "may not specify more than 1 volume type"))
    elif sources[0] not in MOUNTABLE_SOURCES:
        errs.append(not_supported(f"spec.{sources[0]}", sources[0], list(MOUNTABLE_SOURCES)))
    elif sources[0] == "local" and not spec.get("nodeAffinity"):
        errs.append(required("spec.nodeAffinity", "Local volume requires node affinity"))
    return errs


class PersistentVolumeClaimStrategy(Strategy):
    def validate(self, obj: Obj) -> list[FieldError]:
        return super().validate(obj) + validate_claim_spec(obj.get("spec") or {})


class PersistentVolumeStrategy(Strategy):
    def validate(self, obj: Obj) -> list[FieldError]:
        return super().validate(obj) + validate_volume_spec(obj.get("spec") or {})
