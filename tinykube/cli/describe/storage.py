"""Describe PersistentVolumes, PersistentVolumeClaims and StorageClasses, as kubectl lays them out.

A claim's describe lists the pods that mount it ("Used By"); a volume's shows its
claim, node affinity terms and source (hostPath or local path).

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/describe/describe.go (PersistentVolumeDescriber,
PersistentVolumeClaimDescriber, StorageClassDescriber)
"""

from __future__ import annotations

from typing import Any

from tinykube.api.resources import PODS, ResourceInfo
from tinykube.api.volume_util import DEFAULT_CLASS_ANNOTATIONS, access_modes_as_string
from tinykube.cli.describe.format import PrefixWriter, write_map, write_object_meta
from tinykube.client import RESTClient

Obj = dict[str, Any]


def _finalizers(w: PrefixWriter, obj: Obj) -> None:
    w.write(0, f"Finalizers:\t[{' '.join((obj.get('metadata') or {}).get('finalizers') or [])}]")


def _requirement(req: Obj) -> str:
    values = ", ".join(req.get("values") or [])
    return f"{req.get('key')} {str(req.get('operator', '')).lower()} [{values}]"


async def describe_persistent_volume(client: RESTClient, info: ResourceInfo, pv: Obj) -> PrefixWriter:
    w = PrefixWriter()
    spec, status = pv.get("spec") or {}, pv.get("status") or {}
    write_object_meta(w, pv, namespaced=False)
    _finalizers(w, pv)
    claim = spec.get("claimRef")
    w.write(0, f"StorageClass:\t{spec.get('storageClassName') or ''}")
    w.write(0, f"Status:\t{'Terminating' if pv['metadata'].get('deletionTimestamp') else status.get('phase', '')}")
    w.write(0, f"Claim:\t{claim.get('namespace')}/{claim.get('name')}" if claim else "Claim:\t")
    w.write(0, f"Reclaim Policy:\t{spec.get('persistentVolumeReclaimPolicy', '')}")
    w.write(0, f"Access Modes:\t{access_modes_as_string(spec.get('accessModes'))}")
    w.write(0, f"VolumeMode:\t{spec.get('volumeMode') or 'Filesystem'}")
    w.write(0, f"Capacity:\t{(spec.get('capacity') or {}).get('storage', '')}")
    terms = ((spec.get("nodeAffinity") or {}).get("required") or {}).get("nodeSelectorTerms")
    if terms:
        w.write(0, "Node Affinity:\t")
        w.write(1, "Required Terms:\t")
        for index, term in enumerate(terms):
            requirements = [_requirement(r) for r in term.get("matchExpressions") or []] + \
                [_requirement(r) for r in term.get("matchFields") or []]
            w.write(2, f"Term {index}:\t{', '.join(requirements)}")
    else:
        w.write(0, "Node Affinity:\t<none>")
    w.write(0, f"Message:\t{status.get('message') or ''}")
    w.write(0, "Source:")
    if spec.get("hostPath"):
        w.write(1, "Type:\tHostPath (bare host directory volume)")
        w.write(1, f"Path:\t{spec['hostPath'].get('path', '')}")
        w.write(1, f"HostPathType:\t{spec['hostPath'].get('type') or ''}")
    elif spec.get("local"):
        w.write(1, "Type:\tLocalVolume (a persistent volume backed by local storage on a node)")
        w.write(1, f"Path:\t{spec['local'].get('path', '')}")
    return w


async def describe_persistent_volume_claim(client: RESTClient, info: ResourceInfo, pvc: Obj) -> PrefixWriter:
    w = PrefixWriter()
    spec, status, meta = pvc.get("spec") or {}, pvc.get("status") or {}, pvc.get("metadata") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}")
    w.write(0, f"StorageClass:\t{spec.get('storageClassName') or ''}")
    w.write(0, f"Status:\t{'Terminating' if meta.get('deletionTimestamp') else status.get('phase', '')}")
    w.write(0, f"Volume:\t{spec.get('volumeName') or ''}")
    write_map(w, 0, "Labels", meta.get("labels"))
    write_map(w, 0, "Annotations", meta.get("annotations"), separator=": ")
    _finalizers(w, pvc)
    bound = bool(spec.get("volumeName"))
    w.write(0, f"Capacity:\t{(status.get('capacity') or {}).get('storage', '') if bound else ''}")
    w.write(0, f"Access Modes:\t{access_modes_as_string(status.get('accessModes')) if bound else ''}")
    w.write(0, f"VolumeMode:\t{spec.get('volumeMode') or 'Filesystem'}")
    pods, _ = await client.list(PODS, meta.get("namespace"))
    users = [p["metadata"]["name"] for p in pods
             if any((v.get("persistentVolumeClaim") or {}).get("claimName") == meta.get("name")
                    for v in (p.get("spec") or {}).get("volumes") or [])]
    w.write(0, f"Used By:\t{users[0] if users else '<none>'}")
    for name in users[1:]:
        w.write(0, f"\t{name}")
    return w


async def describe_storage_class(client: RESTClient, info: ResourceInfo, sc: Obj) -> PrefixWriter:
    w = PrefixWriter()
    meta = sc.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}")
    default = any(annotations.get(key) == "true" for key in DEFAULT_CLASS_ANNOTATIONS)
    w.write(0, f"IsDefaultClass:\t{'Yes' if default else 'No'}")
    write_map(w, 0, "Annotations", annotations, separator="=")
    w.write(0, f"Provisioner:\t{sc.get('provisioner', '')}")
    write_map(w, 0, "Parameters", sc.get("parameters"))
    expansion = sc.get("allowVolumeExpansion")
    w.write(0, f"AllowVolumeExpansion:\t{'<unset>' if expansion is None else str(expansion)}")
    options = sc.get("mountOptions") or []
    w.write(0, f"MountOptions:\t{', '.join(options) if options else '<none>'}")
    w.write(0, f"ReclaimPolicy:\t{sc.get('reclaimPolicy') or 'Delete'}")
    w.write(0, f"VolumeBindingMode:\t{sc.get('volumeBindingMode') or 'Immediate'}")
    return w
