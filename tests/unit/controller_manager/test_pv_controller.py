"""PersistentVolume binder: preload caches, run one sync, assert on the recorded writes and events."""

from __future__ import annotations

from typing import Any

import pytest
from controller_fakes import FakeClient, cache_add, typed_factory

from controller_manager.volume.persistentvolume import PersistentVolumeController
from tinykube.api.other import PersistentVolume, PersistentVolumeClaim
from tinykube.api.volume_util import LOCAL_PATH_DIR, find_matching_volume
from tinykube.client import EventRecorder

Obj = dict[str, Any]
WFFC = "WaitForFirstConsumer"


def pv(name: str, size: str = "1Gi", *, modes: tuple[str, ...] = ("ReadWriteOnce",), class_name: str = "",
       claim: Obj | None = None, labels: dict[str, str] | None = None, policy: str = "Retain",
       phase: str | None = None, annotations: dict[str, str] | None = None, mode: str | None = None) -> Obj:
    spec: Obj = {"capacity": {"storage": size}, "accessModes": list(modes), "storageClassName": class_name,
                 "persistentVolumeReclaimPolicy": policy, "hostPath": {"path": f"/data/{name}"}}
    if mode:
        spec["volumeMode"] = mode
    if claim is not None:
        spec["claimRef"] = {"kind": "PersistentVolumeClaim", "namespace": claim["metadata"]["namespace"],
                            "name": claim["metadata"]["name"], "uid": claim["metadata"].get("uid", "")}
    obj: Obj = {"apiVersion": "v1", "kind": "PersistentVolume", "spec": spec,
                "metadata": {"name": name, "uid": f"uid-{name}", "resourceVersion": "1",
                             "labels": labels or {}, "annotations": annotations or {}}}
    if phase:
        obj["status"] = {"phase": phase}
    return obj


def pvc(name: str = "data", size: str = "1Gi", *, modes: tuple[str, ...] = ("ReadWriteOnce",),
        class_name: str | None = "", volume: str | None = None, selector: Obj | None = None,
        annotations: dict[str, str] | None = None, phase: str | None = None, mode: str | None = None) -> Obj:
    spec: Obj = {"accessModes": list(modes), "resources": {"requests": {"storage": size}}}
    if class_name is not None:
        spec["storageClassName"] = class_name
    if volume:
        spec["volumeName"] = volume
    if selector:
        spec["selector"] = selector
    if mode:
        spec["volumeMode"] = mode
    obj: Obj = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "spec": spec,
                "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "resourceVersion": "1",
                             "annotations": annotations or {}}}
    if phase:
        obj["status"] = {"phase": phase}
    return obj


def storage_class(name: str = "standard", *, provisioner: str = "tinykube.io/local-path", mode: str = WFFC,
                  default: bool = False, policy: str = "Delete") -> Obj:
    annotations = {"storageclass.kubernetes.io/is-default-class": "true"} if default else {}
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "provisioner": provisioner,
            "reclaimPolicy": policy, "volumeBindingMode": mode,
            "metadata": {"name": name, "uid": f"uid-{name}", "resourceVersion": "1", "annotations": annotations}}


def node(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "uid": f"uid-{name}",
                                                              "labels": {"kubernetes.io/hostname": name}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}


def make(*, volumes: list[Obj] = (), claims: list[Obj] = (), classes: list[Obj] = (),  # type: ignore[assignment]
         nodes: list[Obj] = (), provisioner: bool = True) -> tuple[PersistentVolumeController, FakeClient]:  # type: ignore[assignment]
    client = FakeClient()
    controller = PersistentVolumeController(client, typed_factory(client), EventRecorder(client, "test"),  # type: ignore[arg-type]
                                            enable_hostpath_provisioner=provisioner)
    cache_add(controller.volume_informer, *volumes)
    cache_add(controller.claim_informer, *claims)
    cache_add(controller.class_informer, *classes)
    cache_add(controller.node_informer, *nodes)
    return controller, client


async def sync_claim(controller: PersistentVolumeController, client: FakeClient, name: str = "data") -> None:
    await controller.sync(f"claim:default/{name}")
    await controller.recorder.flush()


async def sync_volume(controller: PersistentVolumeController, client: FakeClient, name: str) -> None:
    await controller.sync(f"volume:{name}")
    await controller.recorder.flush()


def events(client: FakeClient) -> list[tuple[str, str, str]]:
    return [(e["type"], e["reason"], e["message"]) for e in client.events]


def writes(client: FakeClient) -> list[tuple[str, str, str]]:
    return [(a.verb, a.resource, a.name) for a in client.actions]


# --- matching rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(("claim", "volumes", "expected"), [
    (pvc(size="1Gi"), [pv("big", "10Gi"), pv("small", "2Gi"), pv("tiny", "500Mi")], "small"),
    (pvc(modes=("ReadWriteMany",)), [pv("rwo"), pv("rwx", modes=("ReadWriteOnce", "ReadWriteMany"))], "rwx"),
    (pvc(class_name="fast"), [pv("plain"), pv("fast", class_name="fast")], "fast"),
    (pvc(class_name=""), [pv("fast", class_name="fast")], None),
    (pvc(selector={"matchLabels": {"tier": "db"}}), [pv("a"), pv("b", labels={"tier": "db"})], "b"),
    (pvc(mode="Block"), [pv("fs"), pv("block", mode="Block")], "block"),
    (pvc(), [pv("taken", claim=pvc("other"))], None),
    (pvc(), [pv("released", phase="Released")], None),
    (pvc(), [pv("big", "10Gi"), pv("mine", "5Gi", claim=pvc())], "mine"),  # pre-bound wins over smaller
    (pvc(size="20Gi"), [pv("mine", "5Gi", claim=pvc())], None),
])
def test_find_matching_volume(claim: Obj, volumes: list[Obj], expected: str | None) -> None:
    found = find_matching_volume(PersistentVolumeClaim.from_dict(claim),
                                 [PersistentVolume.from_dict(v) for v in volumes])
    assert (found.metadata.name if found else None) == expected


def test_delay_binding_without_a_node_matches_only_pre_bound_volumes() -> None:
    claim = PersistentVolumeClaim.from_dict(pvc())
    assert find_matching_volume(claim, [PersistentVolume.from_dict(pv("free"))], delay_binding=True) is None
    local = pv("local")
    local["spec"]["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-2"]}]}]}}
    volumes = [PersistentVolume.from_dict(local)]
    assert find_matching_volume(claim, volumes, node_name="node-1", node_labels={"kubernetes.io/hostname": "node-1"},
                                delay_binding=True) is None
    found = find_matching_volume(claim, volumes, node_name="node-2",
                                 node_labels={"kubernetes.io/hostname": "node-2"}, delay_binding=True)
    assert found is not None and found.metadata.name == "local"


# --- binding -------------------------------------------------------------------------------------


async def test_static_volume_binds_both_ways_volume_first() -> None:
    controller, client = make(volumes=[pv("pv-1", "5Gi"), pv("pv-2", "2Gi")], claims=[pvc()])
    await sync_claim(controller, client)
    assert writes(client) == [("update", "persistentvolumes", "pv-2"), ("update_status", "persistentvolumes", "pv-2"),
                              ("update", "persistentvolumeclaims", "data"),
                              ("update_status", "persistentvolumeclaims", "data")]
    volume, volume_status, claim, claim_status = (a.body for a in client.actions)
    assert volume["spec"]["claimRef"]["uid"] == "uid-data"
    assert volume["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] == "yes"
    assert volume_status["status"]["phase"] == "Bound"
    assert claim["spec"]["volumeName"] == "pv-2"
    assert claim["metadata"]["annotations"] == {"pv.kubernetes.io/bind-completed": "yes",
                                                "pv.kubernetes.io/bound-by-controller": "yes"}
    assert claim_status["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"],
                                      "capacity": {"storage": "2Gi"}}


async def test_unsatisfiable_claim_without_class_stays_pending_with_event() -> None:
    controller, client = make(volumes=[pv("small", "1Mi")], claims=[pvc(size="1Gi")])
    await sync_claim(controller, client)
    assert writes(client) == [("update_status", "persistentvolumeclaims", "data")]
    assert client.actions[0].body["status"]["phase"] == "Pending"
    assert events(client) == [("Normal", "FailedBinding",
                               "no persistent volumes available for this claim and no storage class is set")]


async def test_pre_bound_claim_to_too_small_volume_is_a_mismatch() -> None:
    controller, client = make(volumes=[pv("named", "1Mi")], claims=[pvc(volume="named")])
    await sync_claim(controller, client)
    assert events(client) == [("Warning", "VolumeMismatch",
                               'Cannot bind to requested volume "named": requested PV is too small')]


async def test_claim_asking_for_a_volume_of_another_claim_waits() -> None:
    controller, client = make(volumes=[pv("named", claim=pvc("other"))], claims=[pvc(volume="named")])
    await sync_claim(controller, client)
    assert events(client) == [("Warning", "FailedBinding", 'volume "named" already bound to a different claim.')]


async def test_default_class_is_assigned_to_a_claim_without_class() -> None:
    controller, client = make(claims=[pvc(class_name=None)], classes=[storage_class(default=True),
                                                                       storage_class("other")])
    await sync_claim(controller, client)
    assert writes(client) == [("update", "persistentvolumeclaims", "data")]
    assert client.actions[0].body["spec"]["storageClassName"] == "standard"


async def test_wait_for_first_consumer_claim_waits_without_selected_node() -> None:
    controller, client = make(volumes=[pv("free", class_name="standard")], claims=[pvc(class_name="standard")],
                              classes=[storage_class()])
    await sync_claim(controller, client)
    assert events(client) == [("Normal", "WaitForFirstConsumer",
                               "waiting for first consumer to be created before binding")]
    assert writes(client) == [("update_status", "persistentvolumeclaims", "data")]


async def test_selected_node_claim_is_provisioned_on_that_node() -> None:
    claim = pvc(class_name="standard", annotations={"volume.kubernetes.io/selected-node": "node-2"})
    controller, client = make(claims=[claim], classes=[storage_class()], nodes=[node("node-1"), node("node-2")])
    await sync_claim(controller, client)
    created = [a.body for a in client.writes("persistentvolumes", "create")]
    assert len(created) == 1
    volume = created[0]
    assert volume["metadata"]["name"] == "pvc-uid-data"
    assert volume["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"] == "tinykube.io/local-path"
    assert volume["spec"]["hostPath"] == {"path": f"{LOCAL_PATH_DIR}/pvc-uid-data", "type": "DirectoryOrCreate"}
    assert volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == \
        ["node-2"]
    assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert volume["spec"]["claimRef"]["uid"] == "uid-data"
    assert ("Normal", "ProvisioningSucceeded",
            "Successfully provisioned volume pvc-uid-data using tinykube.io/local-path") in events(client)
    # the provisioned volume, once in the cache, binds on the next claim sync
    cache_add(controller.volume_informer, volume)
    client.actions.clear()
    await sync_claim(controller, client)
    assert ("update", "persistentvolumeclaims", "data") in writes(client)


async def test_immediate_class_is_provisioned_on_a_ready_node() -> None:
    controller, client = make(claims=[pvc(class_name="now")], classes=[storage_class("now", mode="Immediate")],
                              nodes=[node("node-1")])
    await sync_claim(controller, client)
    assert [a.name for a in client.writes("persistentvolumes", "create")] == ["pvc-uid-data"]


async def test_disabled_provisioner_waits_for_an_external_one() -> None:
    claim = pvc(class_name="standard", annotations={"volume.kubernetes.io/selected-node": "node-1"})
    controller, client = make(claims=[claim], classes=[storage_class()], provisioner=False)
    await sync_claim(controller, client)
    assert client.writes("persistentvolumes") == []
    assert events(client)[0][1] == "ExternalProvisioning"


async def test_missing_class_is_a_provisioning_failure() -> None:
    controller, client = make(claims=[pvc(class_name="gone")])
    await sync_claim(controller, client)
    assert events(client) == [("Warning", "ProvisioningFailed", 'storageclass.storage.k8s.io "gone" not found')]


async def test_bound_claim_whose_volume_vanished_is_lost() -> None:
    claim = pvc(volume="gone", annotations={"pv.kubernetes.io/bind-completed": "yes"}, phase="Bound")
    controller, client = make(claims=[claim])
    await sync_claim(controller, client)
    assert client.actions[0].body["status"]["phase"] == "Lost"
    assert events(client) == [("Warning", "ClaimLost",
                               "Bound claim has lost its PersistentVolume. Data on the volume is lost!")]


# --- volumes: phases and reclaim ------------------------------------------------------------------------


async def test_free_volume_is_available() -> None:
    controller, client = make(volumes=[pv("free")])
    await sync_volume(controller, client, "free")
    assert client.actions[0].body["status"]["phase"] == "Available"


async def test_retained_volume_of_a_deleted_claim_is_released_and_kept() -> None:
    controller, client = make(volumes=[pv("kept", claim=pvc(), phase="Bound")])
    await sync_volume(controller, client, "kept")
    assert writes(client) == [("update_status", "persistentvolumes", "kept")]
    assert client.actions[0].body["status"]["phase"] == "Released"


async def test_provisioned_volume_with_delete_policy_is_deleted() -> None:
    volume = pv("pvc-x", claim=pvc(), policy="Delete", phase="Bound",
                annotations={"pv.kubernetes.io/provisioned-by": "tinykube.io/local-path"})
    controller, client = make(volumes=[volume])
    await sync_volume(controller, client, "pvc-x")
    assert writes(client) == [("update_status", "persistentvolumes", "pvc-x"), ("delete", "persistentvolumes", "pvc-x")]


async def test_static_volume_with_delete_policy_fails() -> None:
    controller, client = make(volumes=[pv("static", claim=pvc(), policy="Delete", phase="Bound")])
    await sync_volume(controller, client, "static")
    assert client.actions[-1].body["status"]["phase"] == "Failed"
    assert events(client) == [("Warning", "VolumeFailedDelete", 'error getting deleter volume plugin for volume '
                               '"static": no deletable volume plugin matched')]


async def test_volume_bound_by_controller_to_a_claim_bound_elsewhere_is_unbound() -> None:
    claim = pvc(volume="other", annotations={"pv.kubernetes.io/bind-completed": "yes"})
    volume = pv("stale", claim=claim, annotations={"pv.kubernetes.io/bound-by-controller": "yes"})
    controller, client = make(volumes=[volume], claims=[claim])
    await sync_volume(controller, client, "stale")
    assert writes(client) == [("update", "persistentvolumes", "stale"), ("update_status", "persistentvolumes", "stale")]
    assert "claimRef" not in client.actions[0].body["spec"]
    assert client.actions[1].body["status"]["phase"] == "Available"
