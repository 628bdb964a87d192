"""VolumeManager: every volume of a pod ready on the node before its containers start.

`mount_volumes(pod)` is idempotent and runs on every sync of a running pod, which
is how a changed ConfigMap or Secret reaches the mounted files (upstream refreshes
on its periodic sync too): the projected files are rebuilt and the atomic writer
swaps them in only when they differ. It returns volume name → host path for the
container configs, or raises `VolumeError` naming the first volume that is not
ready (the pod then stays ContainerCreating with a FailedMount event).

`cleanup_pod(uid)` unmounts any tmpfs and removes `<root>/pods/<uid>`; host paths
and PV paths live outside that directory and are never touched (`paths_in_use` tells
the local-path reclaim which PV directories pods still mount).

Kubernetes counterpart: pkg/kubelet/volumemanager/volume_manager.go (WaitForAttachAndMount),
pkg/kubelet/kubelet_volumes.go (cleanupOrphanedPodDirs), pkg/volume/util/subpath
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
from typing import Protocol

from kubelet.kuberuntime.env import ObjectGetter, parse_quantity
from kubelet.token import TokenManager
from kubelet.volumes.atomic_writer import FileProjection, write_payload
from kubelet.volumes.plugins import (
    VolumeError,
    check_host_path,
    claim_path,
    config_payload,
    downward_payload,
    projected_payload,
)
from tinykube.api.core import EmptyDirVolumeSource, Pod, Volume

log = logging.getLogger(__name__)

DEFAULT_ROOT_DIR = "/var/lib/tinykube-kubelet"
_PLUGIN_DIRS = {"emptyDir": "kubernetes.io~empty-dir", "configMap": "kubernetes.io~configmap",
                "secret": "kubernetes.io~secret", "downwardAPI": "kubernetes.io~downward-api",
                "projected": "kubernetes.io~projected"}


def _from_api_objects(volume: Volume) -> bool:
    return any(source is not None for source in (volume.config_map, volume.secret,
                                                   volume.downward_api, volume.projected))


class Mounter(Protocol):
    def mount_tmpfs(self, path: str, size_bytes: int) -> None: ...

    def unmount(self, path: str) -> None: ...

    def is_mount_point(self, path: str) -> bool: ...


class SystemMounter:
    """mount(8)/umount(8); the kubelet runs as root on a node."""

    def mount_tmpfs(self, path: str, size_bytes: int) -> None:
        options = ["-o", f"size={size_bytes}"] if size_bytes else []
        subprocess.run(["mount", "-t", "tmpfs", *options, "tmpfs", path], check=True, capture_output=True)

    def unmount(self, path: str) -> None:
        subprocess.run(["umount", path], check=False, capture_output=True)

    def is_mount_point(self, path: str) -> bool:
        return os.path.ismount(path)


class VolumeManager:
    """Sets up and tears down pod volumes under `root_dir`.

    - Each pod's volumes live in `<root_dir>/pods/<uid>/volumes/<plugin>/<name>`.
    - File work runs in a thread, never on the event loop.
    """

    def __init__(self, root_dir: str, client: ObjectGetter, *, mounter: Mounter | None = None,
                 allocatable: dict[str, str] | None = None, tokens: TokenManager | None = None,
                 node_volumes: bool = True) -> None:
        self.root_dir, self.client = root_dir, client
        self.mounter = mounter or SystemMounter()
        self.allocatable = allocatable or {}
        self.tokens = tokens  # projected serviceAccountToken sources (None: refused)
        # False on a hollow node: only the volumes made from API objects are written;
        # emptyDir, hostPath and claims would touch the host the fake runtime pretends to be.
        self.node_volumes = node_volumes
        self.claim_paths: dict[str, dict[str, str]] = {}  # pod uid -> volume name -> PV path it mounts

    def pod_dir(self, uid: str) -> str:
        return os.path.join(self.root_dir, "pods", uid)

    def volume_dir(self, uid: str, kind: str, name: str) -> str:
        return os.path.join(self.pod_dir(uid), "volumes", _PLUGIN_DIRS[kind], name)

    async def mount_volumes(self, pod: Pod) -> dict[str, str]:
        paths = {}
        for volume in (pod.spec.volumes if pod.spec else None) or []:
            try:
                paths[volume.name] = await self._set_up(pod, volume)
            except (VolumeError, OSError) as err:
                raise VolumeError(f'MountVolume.SetUp failed for volume "{volume.name}" : {err}') from None
        return paths

    async def _set_up(self, pod: Pod, volume: Volume) -> str:
        uid, namespace = pod.metadata.uid or "", pod.metadata.namespace or ""
        name = volume.name
        if not self.node_volumes and not _from_api_objects(volume):
            return ""
        if "empty_dir" in volume.model_fields_set:  # `emptyDir: {}` (or null) is an emptyDir
            return await asyncio.to_thread(self._empty_dir, self.volume_dir(uid, "emptyDir", name),
                                           volume.empty_dir or EmptyDirVolumeSource())
        if volume.host_path is not None:
            path = volume.host_path.path
            await asyncio.to_thread(check_host_path, path, volume.host_path.type or "")
            return path
        if volume.persistent_volume_claim is not None:
            path = await claim_path(self.client, namespace, volume.persistent_volume_claim.claim_name)
            self.claim_paths.setdefault(uid, {})[name] = path
            return path
        payload: dict[str, FileProjection]
        if volume.config_map is not None:
            kind = "configMap"
            payload = await config_payload(self.client, "ConfigMap", namespace, volume.config_map, None)
        elif volume.secret is not None:
            kind = "secret"
            payload = await config_payload(self.client, "Secret", namespace, volume.secret, None)
        elif volume.downward_api is not None:
            kind = "downwardAPI"
            payload = downward_payload(pod, volume.downward_api.items or [], volume.downward_api.default_mode,
                                       self.allocatable)
        elif volume.projected is not None:
            kind = "projected"
            payload = await projected_payload(self.client, pod, volume.projected, self.allocatable,
                                              self.tokens)
        else:
            raise VolumeError("unsupported volume type")
        target = self.volume_dir(uid, kind, name)
        if await asyncio.to_thread(write_payload, target, payload):
            log.info("volume files updated pod=%s/%s volume=%s files=%d", namespace, pod.metadata.name,
                     name, len(payload))
        return target

    def _empty_dir(self, path: str, source: EmptyDirVolumeSource) -> str:
        if not os.path.isdir(path):
            os.makedirs(path, exist_ok=True)
            os.chmod(path, 0o777)
        if source.medium == "Memory" and not self.mounter.is_mount_point(path):
            size = int(parse_quantity(source.size_limit)) if source.size_limit else 0
            try:
                self.mounter.mount_tmpfs(path, size)
                os.chmod(path, 0o777)
            except (OSError, subprocess.CalledProcessError) as err:
                log.warning("tmpfs mount failed, emptyDir stays on disk path=%s err=%s", path, err)
        return path

    async def cleanup_pod(self, uid: str) -> None:
        self.claim_paths.pop(uid, None)
        if self.tokens is not None:
            self.tokens.delete_service_account_token(uid)
        await asyncio.to_thread(self._cleanup, uid)

    def paths_in_use(self) -> set[str]:
        """The PV paths pods on this node mount (the local-path reclaim leaves them alone)."""
        return {path for paths in self.claim_paths.values() for path in paths.values()}

    def _cleanup(self, uid: str) -> None:
        pod_dir = self.pod_dir(uid)
        if not os.path.isdir(pod_dir):
            return
        empty_dirs = os.path.join(pod_dir, "volumes", _PLUGIN_DIRS["emptyDir"])
        if os.path.isdir(empty_dirs):
            for name in os.listdir(empty_dirs):
                path = os.path.join(empty_dirs, name)
                if self.mounter.is_mount_point(path):
                    self.mounter.unmount(path)
                    if self.mounter.is_mount_point(path):
                        log.warning("cannot unmount, leaving pod dir path=%s", path)
                        return  # never rmtree into a mount we could not detach
        shutil.rmtree(pod_dir, ignore_errors=True)
        log.info("pod volumes removed uid=%s", uid)

    def pod_uids_on_disk(self) -> list[str]:
        pods = os.path.join(self.root_dir, "pods")
        return os.listdir(pods) if os.path.isdir(pods) else []
