"""Node authorization end to end: an API server with `--authorization-mode=Node` and
NodeRestriction, and per-node tokens (`system:node:NAME` in `system:nodes`).

A node reads the secret and configmap of a pod bound to it and nothing else; it
cannot change another Node (so it cannot point the API server's kubelet
connections at an address of its choosing), another node's pods, or create pods
bound elsewhere; a hollow kubelet with its own per-node kubeconfig still runs a
pod to Running. Every refusal is one 403 Status with upstream's message.
"""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tinykube.testing.processes import (APIServerProcess, ManagedProcess, kubeconfig_text,
                                        start_apiserver, start_kubelet, wait_until)

DEADLINE_SECONDS = 30.0
# Node names (nauthz-1, nauthz-2) no other module binds pods to: etcd is the session's.
NAMESPACE = "node-authz"


@dataclass
class Cluster:
    api: APIServerProcess
    admin: httpx.Client
    node_1: httpx.Client
    node_2: httpx.Client
    kubelet: ManagedProcess


def client(api: APIServerProcess, token: str) -> httpx.Client:
    return httpx.Client(base_url=api.https_url, timeout=30,
                        verify=ssl.create_default_context(cafile=str(api.ca_file)),
                        headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
def cluster(etcd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("node-authz")
    secret = uuid.uuid4().hex
    tokens = workdir / "node-tokens.csv"
    tokens.write_text(f'admin-{secret},admin,admin-uid,"system:masters"\n'
                      f'nauthz-1-{secret},system:node:nauthz-1,nauthz-1-uid,"system:nodes"\n'
                      f'nauthz-2-{secret},system:node:nauthz-2,nauthz-2-uid,"system:nodes"\n')
    api = start_apiserver(etcd.url, workdir / "apiserver", token=f"admin-{secret}", flags=(
        "--token-auth-file", str(tokens), "--authorization-mode=Node",
        "--enable-admission-plugins=NodeRestriction"))
    kubelet = None
    try:
        kubeconfig = workdir / "nauthz-1.kubeconfig"
        kubeconfig.write_text(kubeconfig_text(api.https_url, api.ca_file, f"nauthz-1-{secret}"))
        kubelet = start_kubelet(api, "nauthz-1", workdir / "kubelet", "--kubeconfig", str(kubeconfig))
        with client(api, f"admin-{secret}") as admin, client(api, f"nauthz-1-{secret}") as node_1, \
                client(api, f"nauthz-2-{secret}") as node_2:
            admin.post("/api/v1/namespaces", json={"metadata": {"name": NAMESPACE}}).raise_for_status()
            admin.post("/api/v1/nodes", json={"metadata": {"name": "nauthz-2"}, "status": {
                "addresses": [{"type": "InternalIP", "address": "10.0.0.2"}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}}).raise_for_status()
            yield Cluster(api, admin, node_1, node_2, kubelet)
    finally:
        if kubelet is not None:
            kubelet.stop()
        api.stop()


def create(http: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post(path, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def pod(name: str, node: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {
        "nodeName": node, "containers": [{"name": "app", "image": "nginx", **spec.pop("container", {})}],
        **spec}}


def assert_forbidden(response: httpx.Response, message: str) -> None:
    assert response.status_code == 403, response.text
    status = response.json()
    assert (status["kind"], status["reason"], status["message"]) == ("Status", "Forbidden", message)


def wait_for_status(http: httpx.Client, path: str, code: int) -> httpx.Response:
    responses: list[httpx.Response] = []
    wait_until(lambda: responses.append(http.get(path)) or responses[-1].status_code == code,
               DEADLINE_SECONDS, f"{path} to answer {code}")
    return responses[-1]


SECRETS = f"/api/v1/namespaces/{NAMESPACE}/secrets"
CONFIGMAPS = f"/api/v1/namespaces/{NAMESPACE}/configmaps"
PODS = f"/api/v1/namespaces/{NAMESPACE}/pods"


def test_a_node_reads_the_secret_and_configmap_of_its_pod_and_no_other(cluster) -> None:
    for name in ("web-tls", "unrelated"):
        create(cluster.admin, SECRETS, {"metadata": {"name": name}, "stringData": {"k": "v"}})
    create(cluster.admin, CONFIGMAPS, {"metadata": {"name": "web-settings"}, "data": {"k": "v"}})
    create(cluster.admin, PODS, pod("web", "nauthz-1", container={
        "envFrom": [{"configMapRef": {"name": "web-settings"}}]},
        volumes=[{"name": "tls", "secret": {"secretName": "web-tls"}}]))

    got = wait_for_status(cluster.node_1, f"{SECRETS}/web-tls", 200)
    assert got.json()["metadata"]["name"] == "web-tls"
    assert cluster.node_1.get(f"{CONFIGMAPS}/web-settings").status_code == 200
    watched = cluster.node_1.get(SECRETS, params={"fieldSelector": "metadata.name=web-tls"})
    assert [s["metadata"]["name"] for s in watched.json()["items"]] == ["web-tls"]

    assert_forbidden(cluster.node_1.get(f"{SECRETS}/unrelated"),
                     f'secrets "unrelated" is forbidden: User "system:node:nauthz-1" cannot get '
                     f'resource "secrets" in API group "" in the namespace "{NAMESPACE}": '
                     "no relationship found between node 'nauthz-1' and this object")
    assert_forbidden(cluster.node_1.get(SECRETS),
                     f'secrets is forbidden: User "system:node:nauthz-1" cannot list resource '
                     f'"secrets" in API group "" in the namespace "{NAMESPACE}": No Object name '
                     "found")
    assert_forbidden(cluster.node_2.get(f"{SECRETS}/web-tls"),
                     f'secrets "web-tls" is forbidden: User "system:node:nauthz-2" cannot get '
                     f'resource "secrets" in API group "" in the namespace "{NAMESPACE}": '
                     "no relationship found between node 'nauthz-2' and this object")

    # Once the pod is gone, so is the node's access to its secret.
    cluster.admin.delete(f"{PODS}/web", params={"gracePeriodSeconds": "0"}).raise_for_status()
    wait_for_status(cluster.node_1, f"{SECRETS}/web-tls", 403)


def test_a_node_cannot_change_or_delete_another_node_nor_redirect_its_kubelet(cluster) -> None:
    addresses = {"status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                            "daemonEndpoints": {"kubeletEndpoint": {"Port": 1}}}}
    assert_forbidden(cluster.node_1.patch("/api/v1/nodes/nauthz-2/status", json=addresses,
                                          headers={"Content-Type": "application/merge-patch+json"}),
                     'nodes "nauthz-2" is forbidden: node "nauthz-1" is not allowed to modify node '
                     '"nauthz-2"')
    assert_forbidden(cluster.node_1.patch("/api/v1/nodes/nauthz-2", json={"spec": {"unschedulable": True}},
                                          headers={"Content-Type": "application/merge-patch+json"}),
                     'nodes "nauthz-2" is forbidden: node "nauthz-1" is not allowed to modify node '
                     '"nauthz-2"')
    assert_forbidden(cluster.node_1.delete("/api/v1/nodes/nauthz-2"),
                     'nodes "nauthz-2" is forbidden: User "system:node:nauthz-1" cannot delete resource '
                     '"nodes" in API group "" at the cluster scope')
    node_2 = cluster.admin.get("/api/v1/nodes/nauthz-2").json()
    assert node_2["status"]["addresses"] == [{"type": "InternalIP", "address": "10.0.0.2"}]
    assert node_2["status"]["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 10250}}
    assert not node_2.get("spec", {}).get("unschedulable")


def test_a_node_cannot_touch_another_nodes_pods_nor_create_pods_bound_elsewhere(cluster) -> None:
    create(cluster.admin, PODS, pod("theirs", "nauthz-2"))
    assert_forbidden(cluster.node_1.patch(f"{PODS}/theirs/status", json={"status": {"phase": "Failed"}},
                                          headers={"Content-Type": "application/merge-patch+json"}),
                     'pods "theirs" is forbidden: node "nauthz-1" can only update pod status for '
                     "pods with spec.nodeName set to itself")
    assert_forbidden(cluster.node_1.delete(f"{PODS}/theirs"),
                     'pods "theirs" is forbidden: node "nauthz-1" can only delete pods with '
                     "spec.nodeName set to itself")
    assert cluster.admin.get(f"{PODS}/theirs").json()["metadata"].get("deletionTimestamp") is None

    assert_forbidden(cluster.node_1.post(PODS, json=pod("sneaky", "nauthz-2")),
                     'pods "sneaky" is forbidden: pod does not have "kubernetes.io/config.mirror" '
                     'annotation, node "nauthz-1" can only create mirror pods')
    mirror = pod("sneaky", "nauthz-2")
    mirror["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "hash"}
    assert_forbidden(cluster.node_1.post(PODS, json=mirror),
                     'pods "sneaky" is forbidden: node "nauthz-1" can only create pods with '
                     "spec.nodeName set to itself")
    assert cluster.admin.get(f"{PODS}/sneaky").status_code == 404


def test_a_hollow_kubelet_with_its_own_node_credential_runs_a_pod(cluster) -> None:
    lease = cluster.admin.get("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/nauthz-1")
    assert lease.status_code == 200, lease.text  # the kubelet renews its own lease
    create(cluster.admin, PODS, pod("runs", "nauthz-1"))

    def running() -> bool:
        return cluster.admin.get(f"{PODS}/runs").json().get("status", {}).get("phase") == "Running"

    wait_until(running, DEADLINE_SECONDS, "the pod on nauthz-1 to be Running")
    ready = {c["type"]: c["status"] for c in
             cluster.admin.get("/api/v1/nodes/nauthz-1").json()["status"]["conditions"]}
    assert ready["Ready"] == "True"
    # The first test deletes pod `web` with grace 0: until the kubelet sees that, a retry of
    # its secret volume may meet the 403 the test waits for. Nothing else may be refused.
    refused = [line for line in Path(cluster.kubelet.log_path).read_text().splitlines()
               if "Forbidden" in line and '"web-tls"' not in line and '"web-settings"' not in line]
    assert refused == []
