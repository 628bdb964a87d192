"""Pod volumes under a temporary root dir: what a container would find at its mount paths."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from kubelet.volumes.atomic_writer import FileProjection, write_payload
from kubelet.volumes.manager import VolumeManager
from kubelet.volumes.plugins import VolumeError
from tinykube.api.core import Pod
from tinykube.testing.fake_client import FakeClient

Obj = dict[str, Any]


def seed(client: FakeClient, plural: str, name: str, body: Obj, namespace: str | None = "ns") -> None:
    client.seed(plural, {"metadata": {"name": name, "namespace": namespace}, **body})


class FakeMounter:
    def __init__(self) -> None:
        self.mounted: dict[str, int] = {}

    def mount_tmpfs(self, path: str, size_bytes: int) -> None:
        self.mounted[path] = size_bytes

    def unmount(self, path: str) -> None:
        self.mounted.pop(path, None)

    def is_mount_point(self, path: str) -> bool:
        return path in self.mounted


def pod(*volumes: Obj) -> Pod:
    return Pod.from_dict({"metadata": {"name": "web", "namespace": "ns", "uid": "u1", "labels": {"app": "web", "tier": "front"}},
            "spec": {"containers": [{"name": "app", "resources": {"limits": {"memory": "32Mi"}}}],
                     "volumes": list(volumes)}})


def read(path: str) -> str:
    return Path(path).read_text()


@pytest.fixture
def objects() -> FakeClient:
    client = FakeClient()
    seed(client, "configmaps", "settings", {"data": {"greeting": "hello", "color": "blue"}})
    seed(client, "secrets", "creds", {"data": {"password": base64.b64encode(b"s3cret").decode()}})
    seed(client, "persistentvolumeclaims", "bound", {"spec": {"volumeName": "pv1"}, "status": {"phase": "Bound"}})
    seed(client, "persistentvolumeclaims", "waiting", {"spec": {}, "status": {"phase": "Pending"}})
    return client


def test_atomic_writer_swaps_versions_and_drops_removed_keys(tmp_path: Path) -> None:
    target = str(tmp_path / "vol")
    assert write_payload(target, {"a": FileProjection(b"1"), "dir/b": FileProjection(b"2", 0o600)})
    first = os.readlink(f"{target}/..data")
    assert (read(f"{target}/a"), read(f"{target}/dir/b")) == ("1", "2")
    assert stat.S_IMODE(os.stat(f"{target}/dir/b").st_mode) == 0o600
    assert not write_payload(target, {"a": FileProjection(b"1"), "dir/b": FileProjection(b"2", 0o600)})
    assert write_payload(target, {"a": FileProjection(b"changed")})
    assert read(f"{target}/a") == "changed" and not os.path.lexists(f"{target}/dir")
    assert os.readlink(f"{target}/..data") != first and not os.path.exists(f"{target}/{first}")


def test_atomic_writer_refuses_escaping_paths(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_payload(str(tmp_path), {"../evil": FileProjection(b"x")})


async def test_configmap_secret_and_downward_api_files(tmp_path: Path, objects: FakeClient) -> None:
    manager = VolumeManager(str(tmp_path), objects)
    paths = await manager.mount_volumes(pod(
        {"name": "all", "configMap": {"name": "settings"}},
        {"name": "some", "configMap": {"name": "settings", "defaultMode": 0o600,
                                       "items": [{"key": "color", "path": "nested/colour", "mode": 0o640}]}},
        {"name": "secret", "secret": {"secretName": "creds"}},
        {"name": "maybe", "configMap": {"name": "absent", "optional": True}},
        {"name": "info", "downwardAPI": {"items": [
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
            {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
            {"path": "mem", "resourceFieldRef": {"containerName": "app", "resource": "limits.memory",
                                                 "divisor": "1Mi"}}]}}))
    assert paths["all"] == f"{tmp_path}/pods/u1/volumes/kubernetes.io~configmap/all"
    assert sorted(n for n in os.listdir(paths["all"]) if not n.startswith("..")) == ["color", "greeting"]
    assert os.path.islink(f"{paths['all']}/greeting") and os.path.islink(f"{paths['all']}/..data")
    assert read(f"{paths['all']}/greeting") == "hello"
    assert read(f"{paths['some']}/nested/colour") == "blue" and not os.path.exists(f"{paths['some']}/greeting")
    assert stat.S_IMODE(os.stat(f"{paths['some']}/nested/colour").st_mode) == 0o640
    assert stat.S_IMODE(os.stat(f"{paths['all']}/color").st_mode) == 0o644
    assert read(f"{paths['secret']}/password") == "s3cret"
    assert [n for n in os.listdir(paths["maybe"]) if not n.startswith("..")] == []
    assert read(f"{paths['info']}/labels") == 'app="web"\ntier="front"'
    assert (read(f"{paths['info']}/name"), read(f"{paths['info']}/mem")) == ("web", "32")


async def test_a_changed_configmap_reaches_the_file(tmp_path: Path, objects: FakeClient) -> None:
    manager = VolumeManager(str(tmp_path), objects)
    spec = pod({"name": "cfg", "configMap": {"name": "settings"}})
    path = (await manager.mount_volumes(spec))["cfg"]
    seed(objects, "configmaps", "settings", {"data": {"greeting": "bonjour"}})
    await manager.mount_volumes(spec)
    assert read(f"{path}/greeting") == "bonjour" and not os.path.exists(f"{path}/color")


@pytest.mark.parametrize(("volume", "message"), [
    ({"configMap": {"name": "absent"}}, 'configmap "absent" not found'),
    ({"configMap": {"name": "settings", "items": [{"key": "nope", "path": "x"}]}},
     "configmap references non-existent config key: nope"),
    ({"secret": {"secretName": "absent"}}, 'secret "absent" not found'),
    ({"persistentVolumeClaim": {"claimName": "waiting"}},
     "PVC ns/waiting has non-bound phase ('Pending') or empty pvc.Spec.VolumeName"),
    ({"persistentVolumeClaim": {"claimName": "absent"}}, 'persistentvolumeclaim "absent" not found'),
])
async def test_a_volume_that_is_not_ready(tmp_path: Path, objects: FakeClient, volume: Obj, message: str) -> None:
    with pytest.raises(VolumeError) as error:
        await VolumeManager(str(tmp_path), objects).mount_volumes(pod({"name": "v", **volume}))
    assert str(error.value) == f'MountVolume.SetUp failed for volume "v" : {message}'


async def test_host_path_types(tmp_path: Path, objects: FakeClient) -> None:
    manager = VolumeManager(str(tmp_path / "root"), objects)
    made, file_ = tmp_path / "made", tmp_path / "file"
    paths = await manager.mount_volumes(pod(
        {"name": "d", "hostPath": {"path": str(made), "type": "DirectoryOrCreate"}},
        {"name": "f", "hostPath": {"path": str(file_), "type": "FileOrCreate"}},
        {"name": "any", "hostPath": {"path": str(tmp_path / "whatever")}}))
    assert made.is_dir() and file_.is_file() and paths["d"] == str(made)
    with pytest.raises(VolumeError, match=f"hostPath type check failed: {file_} is not a directory"):
        await manager.mount_volumes(pod({"name": "x", "hostPath": {"path": str(file_), "type": "Directory"}}))
    with pytest.raises(VolumeError, match="is not a socket file"):
        await manager.mount_volumes(pod({"name": "x", "hostPath": {"path": str(file_), "type": "Socket"}}))


async def test_persistent_volume_claim_mounts_the_bound_volume_path(tmp_path: Path, objects: FakeClient) -> None:
    seed(objects, "persistentvolumes", "pv1", {"spec": {"hostPath": {"path": str(tmp_path / "pv")}}}, None)
    (tmp_path / "pv").mkdir()
    paths = await VolumeManager(str(tmp_path / "root"), objects).mount_volumes(
        pod({"name": "data", "persistentVolumeClaim": {"claimName": "bound"}}))
    assert paths["data"] == str(tmp_path / "pv")


async def test_empty_dirs_and_cleanup(tmp_path: Path, objects: FakeClient) -> None:
    mounter = FakeMounter()
    manager = VolumeManager(str(tmp_path), objects, mounter=mounter)
    host_dir = tmp_path / "host"
    host_dir.mkdir()
    (host_dir / "keep").write_text("x")
    paths = await manager.mount_volumes(pod({"name": "scratch", "emptyDir": {}},
                                            {"name": "fast", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
                                            {"name": "host", "hostPath": {"path": str(host_dir)}}))
    assert stat.S_IMODE(os.stat(paths["scratch"]).st_mode) == 0o777
    assert mounter.mounted == {paths["fast"]: 1 << 20}
    Path(paths["scratch"], "data").write_text("temp")
    assert manager.pod_uids_on_disk() == ["u1"]
    await manager.cleanup_pod("u1")
    assert not os.path.exists(manager.pod_dir("u1")) and mounter.mounted == {}
    assert (host_dir / "keep").read_text() == "x"  # a host path is never touched
