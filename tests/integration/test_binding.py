"""pods/binding as the scheduler uses it: the Binding's metadata.uid is a
precondition, so a binding meant for an earlier pod of the same name never lands
on its successor; a bound pod cannot be bound again.

Kubernetes counterpart: pkg/registry/core/pod/storage/storage_test.go (TestEtcdCreateBinding*)
"""

from __future__ import annotations

from typing import Any

import httpx


def pod(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def binding(name: str, node: str, uid: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if uid is not None:
        meta["uid"] = uid
    return {"apiVersion": "v1", "kind": "Binding", "metadata": meta,
            "target": {"kind": "Node", "name": node}}


def test_binding_with_the_wrong_uid_is_a_conflict_and_binds_nothing(
        http: httpx.Client, namespace: str) -> None:
    base = f"/api/v1/namespaces/{namespace}/pods"
    created = http.post(base, json=pod("web")).json()
    uid = created["metadata"]["uid"]

    refused = http.post(f"{base}/web/binding", json=binding("web", "node-1", uid="not-" + uid))
    assert refused.status_code == 409, refused.text
    status = refused.json()
    assert status["reason"] == "Conflict"
    assert status["message"] == (
        f'Operation cannot be fulfilled on pods "web": StorageError: invalid object, Code: 4, '
        f"Key: /registry/pods/{namespace}/web, ResourceVersion: 0, AdditionalErrorMsg: "
        f"Precondition failed: UID in precondition: not-{uid}, UID in object meta: {uid}")
    unbound = http.get(f"{base}/web").json()
    assert "nodeName" not in unbound["spec"]
    assert unbound["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]

    accepted = http.post(f"{base}/web/binding", json=binding("web", "node-1", uid=uid))
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["status"] == "Success"
    bound = http.get(f"{base}/web").json()
    assert bound["spec"]["nodeName"] == "node-1"
    assert [c["status"] for c in bound["status"]["conditions"] if c["type"] == "PodScheduled"] \
        == ["True"]


def test_binding_a_bound_pod_is_a_conflict(http: httpx.Client, namespace: str) -> None:
    base = f"/api/v1/namespaces/{namespace}/pods"
    assert http.post(base, json=pod("once")).status_code == 201
    assert http.post(f"{base}/once/binding", json=binding("once", "node-1")).status_code == 201

    again = http.post(f"{base}/once/binding", json=binding("once", "node-2"))
    assert again.status_code == 409, again.text
    assert again.json()["message"] == ('Operation cannot be fulfilled on pods/binding "once": '
                                       'pod once is already assigned to node "node-1"')
    assert http.get(f"{base}/once").json()["spec"]["nodeName"] == "node-1"


def test_binding_a_missing_pod_is_not_found(http: httpx.Client, namespace: str) -> None:
    missing = http.post(f"/api/v1/namespaces/{namespace}/pods/ghost/binding",
                        json=binding("ghost", "node-1"))
    assert missing.status_code == 404, missing.text
    assert missing.json()["message"] == 'pods "ghost" not found'
