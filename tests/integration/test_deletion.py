"""Deletion as a user sees it: finalizers, propagation, grace periods, collections.

No controllers run here, so whatever holds an object (a finalizer, a pod's grace
period, a namespace's spec.finalizers) keeps holding it until the test lets go.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

CM = "/api/v1/namespaces/{ns}/configmaps"
PODS = "/api/v1/namespaces/{ns}/pods"


def create(http: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post(path, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def configmap(name: str, finalizers: list[str] | None = None,
              labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if finalizers:
        meta["finalizers"] = finalizers
    if labels:
        meta["labels"] = labels
    return {"metadata": meta, "data": {"k": "v"}}


def delete(http: httpx.Client, path: str, **options: Any) -> httpx.Response:
    return http.request("DELETE", path, content=json.dumps(options).encode(),
                        headers={"Content-Type": "application/json"})


def test_finalizer_holds_the_object_until_removed_and_watch_sees_it_go(
        http: httpx.Client, namespace: str) -> None:
    collection = CM.format(ns=namespace)
    create(http, collection, configmap("held", finalizers=["example.com/hold"]))
    deleted = delete(http, f"{collection}/held")
    assert deleted.status_code == 200, deleted.text

    marked = http.get(f"{collection}/held").json()
    assert marked["metadata"]["deletionTimestamp"]
    assert marked["metadata"]["finalizers"] == ["example.com/hold"]

    params = {"watch": "true", "resourceVersion": marked["metadata"]["resourceVersion"],
              "fieldSelector": "metadata.name=held", "timeoutSeconds": "30"}
    with http.stream("GET", collection, params=params) as stream:
        marked["metadata"]["finalizers"] = []
        released = http.put(f"{collection}/held", json=marked)
        assert released.status_code == 200, released.text
        events = []
        for line in stream.iter_lines():
            if not line:
                continue
            event = json.loads(line)
            events.append(event["type"])
            if event["type"] == "DELETED":
                assert event["object"]["metadata"]["name"] == "held"
                break
    assert "DELETED" in events, events
    assert http.get(f"{collection}/held").status_code == 404


def test_foreground_and_orphan_become_finalizers(http: httpx.Client, namespace: str) -> None:
    collection = CM.format(ns=namespace)
    for name, policy, finalizer in (("fg", "Foreground", "foregroundDeletion"),
                                    ("orph", "Orphan", "orphan")):
        create(http, collection, configmap(name))
        assert delete(http, f"{collection}/{name}", propagationPolicy=policy).status_code == 200
        obj = http.get(f"{collection}/{name}").json()
        assert obj["metadata"]["finalizers"] == [finalizer]
        assert obj["metadata"]["deletionTimestamp"]


def pod(name: str, node_name: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox"}]}
    if node_name:
        spec["nodeName"] = node_name
    return {"metadata": {"name": name}, "spec": spec}


def test_bound_pod_terminates_gracefully_and_goes_on_grace_zero(
        http: httpx.Client, namespace: str) -> None:
    pods = PODS.format(ns=namespace)
    create(http, pods, pod("bound", node_name="node-1"))
    assert delete(http, f"{pods}/bound").status_code == 200

    terminating = http.get(f"{pods}/bound")
    assert terminating.status_code == 200
    meta = terminating.json()["metadata"]
    assert meta["deletionTimestamp"]
    assert meta["deletionGracePeriodSeconds"] == 30

    assert delete(http, f"{pods}/bound", gracePeriodSeconds=0).status_code == 200
    assert http.get(f"{pods}/bound").status_code == 404


def test_unbound_pod_goes_at_once(http: httpx.Client, namespace: str) -> None:
    pods = PODS.format(ns=namespace)
    create(http, pods, pod("unbound"))
    assert delete(http, f"{pods}/unbound").status_code == 200
    assert http.get(f"{pods}/unbound").status_code == 404


def test_deletecollection_with_label_selector_deletes_exactly_the_matching(
        http: httpx.Client, namespace: str) -> None:
    collection = CM.format(ns=namespace)
    for i in range(3):
        create(http, collection, configmap(f"a-{i}", labels={"app": "a"}))
    for i in range(2):
        create(http, collection, configmap(f"b-{i}", labels={"app": "b"}))
    create(http, collection, configmap("unlabelled"))

    response = http.delete(collection, params={"labelSelector": "app=a"})
    assert response.status_code == 200, response.text
    left = sorted(item["metadata"]["name"] for item in http.get(collection).json()["items"])
    assert left == ["b-0", "b-1", "unlabelled"]


def test_dry_run_delete_leaves_the_object(http: httpx.Client, namespace: str) -> None:
    collection = CM.format(ns=namespace)
    before = create(http, collection, configmap("kept"))
    response = http.delete(f"{collection}/kept", params={"dryRun": "All"})
    assert response.status_code == 200, response.text
    after = http.get(f"{collection}/kept")
    assert after.status_code == 200
    assert after.json()["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert "deletionTimestamp" not in after.json()["metadata"]


def test_deleted_namespace_is_terminating_and_refuses_new_content(
        http: httpx.Client, namespace: str) -> None:
    create(http, CM.format(ns=namespace), configmap("existing"))
    assert http.delete(f"/api/v1/namespaces/{namespace}").status_code == 200

    ns = http.get(f"/api/v1/namespaces/{namespace}").json()
    assert ns["status"]["phase"] == "Terminating"
    assert ns["metadata"]["deletionTimestamp"]

    refused = http.post(CM.format(ns=namespace), json=configmap("new"))
    assert refused.status_code == 403
    assert refused.json()["reason"] == "Forbidden"
    assert http.get(f"{CM.format(ns=namespace)}/new").status_code == 404
