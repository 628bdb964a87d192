"""Volume kinds: what each one needs on the node before a container can mount it.

- emptyDir: a fresh directory (mode 0777) under the pod's directory; with
  `medium: Memory` a tmpfs is mounted on it (shared by all containers, as
  upstream). Where mounting is not allowed the directory stays on disk and a
  warning is logged.
- hostPath: the node's path, checked against `type` (DirectoryOrCreate,
  Directory, FileOrCreate, File, Socket, CharDevice, BlockDevice).
- configMap / secret / downwardAPI / projected: files built from the API objects
  (`items` choose keys and paths, `defaultMode`/`mode` set permissions, `optional`
  tolerates a missing object), written by the atomic writer; a projected
  serviceAccountToken is a TokenRequest bound to the pod (`kubelet.token`).
- persistentVolumeClaim: the bound PV's `hostPath.path` or `local.path`; an unbound
  claim keeps the pod waiting.

Kubernetes counterpart: pkg/volume/emptydir/empty_dir.go, pkg/volume/hostpath/host_path.go,
pkg/volume/configmap/configmap.go, pkg/volume/secret/secret.go, pkg/volume/downwardapi/downwardapi.go,
pkg/volume/projected/projected.go, pkg/kubelet/volumemanager/populator (PVC → PV)
"""

from __future__ import annotations

import os
import stat

from kubelet.kuberuntime.env import (
    ContainerConfigError,
    ObjectGetter,
    field_value,
    get_config_data,
    resource_value,
)
from kubelet.token import TokenManager
from kubelet.volumes.atomic_writer import FileProjection
from tinykube.api.core import (
    ConfigMapProjection,
    ConfigMapVolumeSource,
    DownwardAPIVolumeFile,
    KeyToPath,
    Pod,
    ProjectedVolumeSource,
    SecretProjection,
    SecretVolumeSource,
    ServiceAccountTokenProjection,
)
from tinykube.api.other import PersistentVolume, PersistentVolumeClaim
from tinykube.client.errors import ClientError, NotFound

DEFAULT_MODE = 0o644
_HOST_PATH_CHECKS = {
    "Directory": (stat.S_ISDIR, "is not a directory"),
    "File": (stat.S_ISREG, "is not a file"),
    "Socket": (stat.S_ISSOCK, "is not a socket file"),
    "CharDevice": (stat.S_ISCHR, "is not a character device"),
    "BlockDevice": (stat.S_ISBLK, "is not a block device"),
}
ConfigSource = ConfigMapVolumeSource | SecretVolumeSource | ConfigMapProjection | SecretProjection


class VolumeError(Exception):
    """A volume cannot be set up yet (the pod stays ContainerCreating; FailedMount)."""


def check_host_path(path: str, type_: str) -> None:
    if type_ == "DirectoryOrCreate":
        os.makedirs(path, mode=0o755, exist_ok=True)
        type_ = "Directory"
    elif type_ == "FileOrCreate":
        if not os.path.exists(path):
            with open(path, "a"):
                pass
            os.chmod(path, 0o644)
        type_ = "File"
    if type_ not in _HOST_PATH_CHECKS:
        return  # "" (the default): no check at all
    check, message = _HOST_PATH_CHECKS[type_]
    try:
        mode = os.stat(path).st_mode
    except OSError:
        raise VolumeError(f"hostPath type check failed: {path} {message}") from None
    if not check(mode):
        raise VolumeError(f"hostPath type check failed: {path} {message}")


def _mode(mode: int | None, default_mode: int | None) -> int:
    mode = default_mode if mode is None else mode
    return DEFAULT_MODE if mode is None else mode


async def config_payload(client: ObjectGetter, kind: str, namespace: str, source: ConfigSource,
                         default_mode: int | None) -> dict[str, FileProjection]:
    """A configMap or secret volume (or projection): every key, or just `items`."""
    name = (source.secret_name if isinstance(source, SecretVolumeSource) else source.name) or ""
    optional = bool(source.optional)
    try:
        data = await get_config_data(client, kind, namespace, name, optional)
    except ContainerConfigError as err:
        raise VolumeError(str(err)) from None
    own_mode = source.default_mode if isinstance(source, ConfigMapVolumeSource | SecretVolumeSource) else None
    mode = _mode(own_mode, default_mode)
    if data is None:
        return {}
    items: list[KeyToPath] = source.items or []
    if not items:
        return {key: FileProjection(value.encode(), mode) for key, value in data.items()}
    payload = {}
    for item in items:
        if item.key not in data:
            if optional:
                continue
            raise VolumeError(f"{kind.lower()} references non-existent {'config' if kind == 'ConfigMap' else 'secret'}"
                              f" key: {item.key}")
        payload[item.path] = FileProjection(data[item.key].encode(), _mode(item.mode, mode))
    return payload


def downward_payload(pod: Pod, items: list[DownwardAPIVolumeFile], default_mode: int | None,
                     allocatable: dict[str, str]) -> dict[str, FileProjection]:
    mode = _mode(None, default_mode)
    payload = {}
    for item in items:
        try:
            if item.field_ref is not None:
                value = field_value(pod, item.field_ref.field_path, pod_ip="", host_ip="")
            elif item.resource_field_ref is not None:
                ref = item.resource_field_ref
                value = resource_value(pod, ref.container_name or "", ref, allocatable)
            else:
                raise ContainerConfigError(f"downwardAPI item {item.path} has neither fieldRef nor resourceFieldRef")
        except ContainerConfigError as err:
            raise VolumeError(str(err)) from None
        payload[item.path] = FileProjection(value.encode(), _mode(item.mode, mode))
    return payload


async def projected_payload(client: ObjectGetter, pod: Pod, source: ProjectedVolumeSource,
                            allocatable: dict[str, str],
                            tokens: TokenManager | None = None) -> dict[str, FileProjection]:
    namespace = pod.metadata.namespace or ""
    default_mode = source.default_mode
    payload: dict[str, FileProjection] = {}
    for projection in source.sources or []:
        if projection.config_map is not None:
            payload.update(await config_payload(client, "ConfigMap", namespace, projection.config_map, default_mode))
        elif projection.secret is not None:
            payload.update(await config_payload(client, "Secret", namespace, projection.secret, default_mode))
        elif projection.downward_api is not None:
            payload.update(downward_payload(pod, projection.downward_api.items or [], default_mode, allocatable))
        elif projection.service_account_token is not None:
            payload[projection.service_account_token.path] = FileProjection(
                (await _token(tokens, pod, projection.service_account_token)).encode(), _mode(None, default_mode))
        # clusterTrustBundle projections are not supported
    return payload


async def _token(tokens: TokenManager | None, pod: Pod, source: ServiceAccountTokenProjection) -> str:
    """A token of the pod's ServiceAccount, bound to the pod (TokenRequest, cached)."""
    if tokens is None:
        raise VolumeError("serviceAccountToken projection: this kubelet requests no tokens")
    account = (pod.spec.service_account_name if pod.spec else None) or "default"
    try:
        return await tokens.get_service_account_token(
            pod.metadata.namespace or "", account, audience=source.audience or "",
            expiration_seconds=source.expiration_seconds, pod_name=pod.metadata.name or "",
            pod_uid=pod.metadata.uid or "")
    except ClientError as err:
        raise VolumeError(f"failed to fetch token: {err}") from None


async def claim_path(client: ObjectGetter, namespace: str, claim_name: str) -> str:
    """The node path of the PV bound to a claim."""
    try:
        claim = await client.get_object(PersistentVolumeClaim, claim_name, namespace)
    except NotFound:
        raise VolumeError(f'persistentvolumeclaim "{claim_name}" not found') from None
    volume_name = claim.spec.volume_name if claim.spec else None
    phase = (claim.status.phase if claim.status else None) or "Pending"
    if not volume_name or phase != "Bound":
        raise VolumeError(f"PVC {namespace}/{claim_name} has non-bound phase ({phase!r}) or empty "
                          "pvc.Spec.VolumeName")
    try:
        volume = await client.get_object(PersistentVolume, volume_name)
    except NotFound:
        raise VolumeError(f'persistentvolume "{volume_name}" not found') from None
    spec = volume.spec
    host_path = spec.host_path if spec else None
    path = (host_path.path if host_path else None) or (spec.local.path if spec and spec.local else None)
    if not path:
        raise VolumeError(f"persistentvolume {volume_name} has neither hostPath nor local path")
    if host_path is not None:
        check_host_path(path, host_path.type or "")
    return path
