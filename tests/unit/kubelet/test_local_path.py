"""Provisioned local-path volumes on a node: created on first mount, deleted once their PV is gone."""

from __future__ import annotations

from pathlib import Path

from kubelet.kuberuntime.container_config import container_mounts
from kubelet.volumes.local_path import LocalPathReclaimer
from kubelet.volumes.manager import VolumeManager
from tinykube.api.core import Pod
from tinykube.testing.fake_client import FakeClient


def pod_using(claim: str, *, read_only: bool = False) -> Pod:
    return Pod.from_dict({
        "metadata": {"name": "db", "namespace": "ns", "uid": "u1"},
        "spec": {"containers": [{"name": "db", "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                 "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim, "readOnly": read_only}}]}})


def seed_bound(client: FakeClient, base: Path, volume: str = "pvc-1") -> None:
    client.seed("persistentvolumeclaims", {"metadata": {"name": "data", "namespace": "ns"},
                                           "spec": {"volumeName": volume}, "status": {"phase": "Bound"}})
    client.seed("persistentvolumes", {"metadata": {"name": volume}, "spec": {
        "hostPath": {"path": str(base / volume), "type": "DirectoryOrCreate"}}})


async def test_provisioned_volume_directory_is_created_on_first_mount(tmp_path: Path) -> None:
    client = FakeClient()
    seed_bound(client, tmp_path / "local-path")
    manager = VolumeManager(str(tmp_path / "root"), client)
    paths = await manager.mount_volumes(pod_using("data"))
    assert paths == {"data": str(tmp_path / "local-path" / "pvc-1")}
    assert (tmp_path / "local-path" / "pvc-1").is_dir()
    assert manager.paths_in_use() == {paths["data"]}
    await manager.cleanup_pod("u1")
    assert manager.paths_in_use() == set()
    assert (tmp_path / "local-path" / "pvc-1").is_dir()  # a pod leaving never removes the data


def test_read_only_claim_is_mounted_read_only() -> None:
    pod = pod_using("data", read_only=True)
    mounts = container_mounts(pod, pod.spec.containers[0], {"data": "/var/lib/x"})  # type: ignore[union-attr]
    assert [(m.container_path, m.readonly) for m in mounts] == [("/data", True)]


async def test_reclaim_removes_data_of_deleted_volumes_only(tmp_path: Path) -> None:
    base = tmp_path / "local-path"
    for name in ("pvc-kept", "pvc-gone", "pvc-mounted", "other"):
        (base / name).mkdir(parents=True)
        (base / name / "dump.rdb").write_text("data")
    client = FakeClient()
    client.seed("persistentvolumes", {"metadata": {"name": "pvc-kept"}, "spec": {}})
    reclaimer = LocalPathReclaimer(client, lambda: {str(base / "pvc-mounted")}, base_dir=str(base))  # type: ignore[arg-type]
    assert await reclaimer.reclaim() == [str(base / "pvc-gone")]
    assert sorted(p.name for p in base.iterdir()) == ["other", "pvc-kept", "pvc-mounted"]
