"""PersistentVolumes with a whole control plane (hollow nodes): the binder, the host-path
provisioner and the scheduler's VolumeBinding, observed through the API as a user would.

- a static volume binds to a matching claim, both ways, and both show Bound;
- a claim nothing can satisfy stays Pending with the binder's event;
- a WaitForFirstConsumer claim waits for its pod, is provisioned on the node the pod
  was scheduled to, the pod runs there, and deleting the claim deletes the volume;
- a pod whose static local volume lives on one node is placed on that node.
The module has its own cluster (cluster-scoped StorageClasses and volumes stay out
of the shared one).
"""

from __future__ import annotations

import uuid

from control_plane_fixtures import ControlPlane, Obj, wait_for
from test_control_plane import ns, plane  # noqa: F401  (fixtures: this module gets a cluster of its own)

from tests.integration.cli_helpers import tinykube

LOCAL_PATH = "tinykube.io/local-path"


def create(plane: ControlPlane, path: str, body: Obj) -> Obj:
    response = plane.http.post(path, json=body)
    assert response.status_code == 201, response.text
    result: Obj = response.json()
    return result


def claim(name: str, class_name: str, size: str = "1Gi") -> Obj:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": class_name,
                     "resources": {"requests": {"storage": size}}}}


def volume(name: str, class_name: str, size: str = "1Gi", node: str | None = None) -> Obj:
    spec: Obj = {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"], "storageClassName": class_name,
                 "persistentVolumeReclaimPolicy": "Retain", "hostPath": {"path": f"/tmp/{name}"}}
    if node:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name}, "spec": spec}


def storage_class(name: str, provisioner: str = LOCAL_PATH) -> Obj:
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
            "provisioner": provisioner, "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer"}


def pod_using(name: str, claim_name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "db", "image": "redis",
                                     "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                     "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim_name}}]}}


def get_claim(plane: ControlPlane, ns: str, name: str) -> Obj:
    return plane.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{name}")


def phase(obj: Obj) -> str | None:
    return (obj.get("status") or {}).get("phase")


def event(plane: ControlPlane, ns: str, reason: str, name: str) -> Obj | None:
    return next((e for e in plane.get(f"/api/v1/namespaces/{ns}/events")["items"]
                 if e["reason"] == reason and e["involvedObject"]["name"] == name), None)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_a_static_volume_binds_to_the_smallest_matching_claim(plane: ControlPlane, ns: str) -> None:
    class_name = unique("manual")
    big, small = unique("pv-big"), unique("pv-small")
    create(plane, "/api/v1/persistentvolumes", volume(big, class_name, "10Gi"))
    create(plane, "/api/v1/persistentvolumes", volume(small, class_name, "2Gi"))
    create(plane, f"/api/v1/namespaces/{ns}/persistentvolumeclaims", claim("data", class_name))
    bound = wait_for(lambda: (c := get_claim(plane, ns, "data")) and phase(c) == "Bound" and c, "the claim Bound")
    assert bound["spec"]["volumeName"] == small
    assert bound["status"]["capacity"] == {"storage": "2Gi"}
    assert bound["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] == "yes"
    pv = wait_for(lambda: (v := plane.get(f"/api/v1/persistentvolumes/{small}")) and phase(v) == "Bound" and v,
                  "the volume Bound")
    assert (pv["spec"]["claimRef"]["namespace"], pv["spec"]["claimRef"]["name"]) == (ns, "data")
    assert phase(plane.get(f"/api/v1/persistentvolumes/{big}")) == "Available"
    # Retain: the deleted claim's volume is Released and kept
    plane.http.delete(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/data").raise_for_status()
    wait_for(lambda: phase(plane.get(f"/api/v1/persistentvolumes/{small}")) == "Released", "the volume Released")


def test_a_claim_nothing_can_satisfy_stays_pending_with_an_event(plane: ControlPlane, ns: str) -> None:
    create(plane, f"/api/v1/namespaces/{ns}/persistentvolumeclaims", claim("huge", "", "100Ti"))
    found = wait_for(lambda: event(plane, ns, "FailedBinding", "huge"), "the FailedBinding event")
    assert found["message"] == "no persistent volumes available for this claim and no storage class is set"
    assert phase(get_claim(plane, ns, "huge")) == "Pending"


def test_a_wait_for_first_consumer_claim_is_provisioned_where_its_pod_runs(plane: ControlPlane, ns: str) -> None:
    class_name = unique("local")
    create(plane, "/apis/storage.k8s.io/v1/storageclasses", storage_class(class_name))
    created = create(plane, f"/api/v1/namespaces/{ns}/persistentvolumeclaims", claim("data", class_name))
    found = wait_for(lambda: event(plane, ns, "WaitForFirstConsumer", "data"), "the WaitForFirstConsumer event")
    assert found["message"] == "waiting for first consumer to be created before binding"
    assert phase(get_claim(plane, ns, "data")) == "Pending"

    create(plane, f"/api/v1/namespaces/{ns}/pods", pod_using("db", "data"))
    running = wait_for(lambda: (p := plane.get(f"/api/v1/namespaces/{ns}/pods/db")) and phase(p) == "Running" and p,
                       "the pod Running")
    node = running["spec"]["nodeName"]
    # The pod was bound once the claim named its volume; the claim's phase follows in
    # the binder's next status write.
    bound = wait_for(lambda: (c := get_claim(plane, ns, "data")) and phase(c) == "Bound" and c, "the claim Bound")
    assert bound["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == node
    name = f"pvc-{created['metadata']['uid']}"
    assert bound["spec"]["volumeName"] == name
    pv = plane.get(f"/api/v1/persistentvolumes/{name}")
    assert pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == [node]
    assert pv["spec"]["hostPath"] == {"path": f"/var/lib/tinykube/local-path/{name}", "type": "DirectoryOrCreate"}
    assert event(plane, ns, "ProvisioningSucceeded", "data")["message"] == \
        f"Successfully provisioned volume {name} using {LOCAL_PATH}"

    claims = tinykube(plane.api, "-n", ns, "get", "pvc").stdout.splitlines()
    assert claims[0].split() == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES", "STORAGECLASS",
                                 "VOLUMEATTRIBUTESCLASS", "AGE"]
    assert claims[1].split()[:6] == ["data", "Bound", name, "1Gi", "RWO", class_name]
    volumes = tinykube(plane.api, "get", "pv", name).stdout.splitlines()
    assert volumes[1].split()[:6] == [name, "1Gi", "RWO", "Delete", "Bound", f"{ns}/data"]
    described = tinykube(plane.api, "-n", ns, "describe", "pvc", "data").stdout
    assert "Used By:       db" in described and "ProvisioningSucceeded" in described, described
    described = tinykube(plane.api, "describe", "pv", name).stdout
    assert f"Term 0:        kubernetes.io/hostname in [{node}]" in described, described

    plane.http.delete(f"/api/v1/namespaces/{ns}/pods/db", params={"gracePeriodSeconds": "0"}).raise_for_status()
    plane.http.delete(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/data").raise_for_status()
    wait_for(lambda: plane.http.get(f"/api/v1/persistentvolumes/{name}").status_code == 404,
             "reclaim Delete to delete the volume")


def test_a_pod_follows_its_local_volume_to_its_node(plane: ControlPlane, ns: str) -> None:
    class_name = unique("static-local")
    create(plane, "/apis/storage.k8s.io/v1/storageclasses", storage_class(class_name, "kubernetes.io/no-provisioner"))
    local = unique("pv-local")
    create(plane, "/api/v1/persistentvolumes", volume(local, class_name, node="node-b"))
    create(plane, f"/api/v1/namespaces/{ns}/persistentvolumeclaims", claim("data", class_name))
    create(plane, f"/api/v1/namespaces/{ns}/pods", pod_using("db", "data"))
    running = wait_for(lambda: (p := plane.get(f"/api/v1/namespaces/{ns}/pods/db")) and phase(p) == "Running" and p,
                       "the pod Running")
    assert running["spec"]["nodeName"] == "node-b"
    assert get_claim(plane, ns, "data")["spec"]["volumeName"] == local
