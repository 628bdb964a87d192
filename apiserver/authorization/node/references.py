"""What a pod or a persistent volume refers to: the objects a node may read for it.

Pure functions over wire-form objects (the API server works on dicts), used by
the Node authorizer's graph and by NodeRestriction:

- a pod refers to its service account, the secrets of its image pull secrets,
  environment (`env[].valueFrom.secretKeyRef`, `envFrom[].secretRef`) and volumes
  (secret, projected secret, and the secret refs of csi/flexVolume/iscsi/rbd/
  cephfs/azureFile/cinder/scaleIO/storageos volumes), its config maps (env,
  envFrom, configMap and projected volumes) and its claims (persistentVolumeClaim
  volumes and the claim `<pod>-<volume>` an ephemeral volume makes); every
  container counts: init, regular and ephemeral;
- a persistent volume refers to the claim it is bound to (`spec.claimRef`) and
  to the secrets its volume source names.

Kubernetes counterpart: pkg/api/pod/util.go (VisitPodSecretNames,
VisitPodConfigmapNames), pkg/api/v1/persistentvolume/util.go (VisitPVSecretNames)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

# Volume sources whose `secretRef` names a secret in the pod's namespace.
_SECRET_REF_SOURCES = ("cephfs", "cinder", "flexVolume", "rbd", "iscsi", "scaleIO", "storageos")
# CSI secret references of a persistent volume (each may carry its own namespace).
_CSI_SECRET_REFS = ("controllerPublishSecretRef", "nodeStageSecretRef", "nodePublishSecretRef",
                    "controllerExpandSecretRef", "nodeExpandSecretRef")


@dataclass(frozen=True)
class PodReferences:
    """The names (all in the pod's namespace) a pod refers to."""

    service_account: str = ""
    secrets: frozenset[str] = field(default_factory=frozenset)
    config_maps: frozenset[str] = field(default_factory=frozenset)
    claims: frozenset[str] = field(default_factory=frozenset)

    @property
    def empty(self) -> bool:
        return not (self.service_account or self.secrets or self.config_maps or self.claims)


def _containers(spec: Obj) -> list[Obj]:
    return [container for kind in ("initContainers", "containers", "ephemeralContainers")
            for container in spec.get(kind) or ()]


def pod_references(pod: Obj) -> PodReferences:
    spec = pod.get("spec") or {}
    secrets: set[str] = {ref.get("name", "") for ref in spec.get("imagePullSecrets") or ()}
    config_maps: set[str] = set()
    claims: set[str] = set()
    for container in _containers(spec):
        for env in container.get("env") or ():
            source = env.get("valueFrom") or {}
            secrets.add((source.get("secretKeyRef") or {}).get("name", ""))
            config_maps.add((source.get("configMapKeyRef") or {}).get("name", ""))
        for env_from in container.get("envFrom") or ():
            secrets.add((env_from.get("secretRef") or {}).get("name", ""))
            config_maps.add((env_from.get("configMapRef") or {}).get("name", ""))
    pod_name = (pod.get("metadata") or {}).get("name", "")
    for volume in spec.get("volumes") or ():
        secrets.add((volume.get("secret") or {}).get("secretName", ""))
        config_maps.add((volume.get("configMap") or {}).get("name", ""))
        for projection in (volume.get("projected") or {}).get("sources") or ():
            secrets.add((projection.get("secret") or {}).get("name", ""))
            config_maps.add((projection.get("configMap") or {}).get("name", ""))
        for source in _SECRET_REF_SOURCES:
            secrets.add(((volume.get(source) or {}).get("secretRef") or {}).get("name", ""))
        secrets.add((volume.get("azureFile") or {}).get("secretName", ""))
        secrets.add(((volume.get("csi") or {}).get("nodePublishSecretRef") or {}).get("name", ""))
        claims.add((volume.get("persistentVolumeClaim") or {}).get("claimName", ""))
        if volume.get("ephemeral") is not None:  # the claim the ephemeral controller makes
            claims.add(f"{pod_name}-{volume.get('name', '')}")
    return PodReferences(spec.get("serviceAccountName") or "", frozenset(secrets - {""}),
                         frozenset(config_maps - {""}), frozenset(claims - {""}))


@dataclass(frozen=True)
class VolumeReferences:
    """A persistent volume's claim (namespace, name) and its secrets (namespace, name)."""

    claim: tuple[str, str] | None = None
    secrets: frozenset[tuple[str, str]] = field(default_factory=frozenset)


def pv_references(pv: Obj) -> VolumeReferences:
    spec = pv.get("spec") or {}
    claim_ref = spec.get("claimRef")
    if not claim_ref:  # an unbound volume is reachable from no pod
        return VolumeReferences()
    claim_namespace = claim_ref.get("namespace", "")
    claim = (claim_namespace, claim_ref.get("name", ""))
    secrets: set[tuple[str, str]] = set()

    def add(ref: Obj | None, default_namespace: str) -> None:
        if ref and ref.get("name"):
            secrets.add((ref.get("namespace") or default_namespace, ref["name"]))

    for source in _SECRET_REF_SOURCES:
        add((spec.get(source) or {}).get("secretRef"), claim_namespace)
    azure = spec.get("azureFile") or {}
    if azure.get("secretName"):
        secrets.add((azure.get("secretNamespace") or claim_namespace, azure["secretName"]))
    csi = spec.get("csi") or {}
    for ref_name in _CSI_SECRET_REFS:
        add(csi.get(ref_name), claim_namespace)
    return VolumeReferences(claim, frozenset(secrets))
