"""NodeRestriction on a real API server over in-memory storage: writes as node-1
through the registries, refused with upstream's messages and nothing written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from apiserver import deletion, errors, eviction
from apiserver.admission import CREATE, AdmissionRequest
from apiserver.admission.noderestriction import forbidden_labels  # registers the plugin
from apiserver.auth import UserInfo
from apiserver.registry import RequestContext
from apiserver.server import APIServer, ServerConfig
from apiserver.storage.memory import MemoryStorage
from tinykube.api.resources import (LEASES, NODES, PERSISTENT_VOLUME_CLAIMS, POD_DISRUPTION_BUDGETS,
                                    PODS, SERVICE_ACCOUNTS)

NODE_1 = UserInfo("system:node:node-1", "", ("system:nodes", "system:authenticated"))


def as_node() -> RequestContext:
    return RequestContext(user=NODE_1)


def pod(name: str, node: str, **extra: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, **extra.pop("metadata", {})},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}], **extra}}


@pytest.fixture
async def server() -> AsyncIterator[APIServer]:
    api = APIServer(MemoryStorage(), ServerConfig(admission_plugins=("NodeRestriction",)))
    await api.start()
    for name in ("node-1", "node-2"):
        await api.registries[NODES].create(None, {"metadata": {"name": name}}, RequestContext())
    for name, node in (("mine", "node-1"), ("theirs", "node-2")):
        await api.registries[PODS].create("default", pod(name, node), RequestContext())
    yield api
    await api.stop()


async def refused(call: Any, message: str) -> None:
    with pytest.raises(errors.APIError) as caught:
        await call
    assert (caught.value.code, caught.value.reason, caught.value.message) == (
        403, "Forbidden", message)


async def test_a_node_changes_only_its_own_node_and_never_its_taints(server) -> None:
    nodes = server.registries[NODES]
    other = await nodes.get(None, "node-2")
    await refused(nodes.update(None, "node-2", {**other, "status": {"addresses": [
        {"type": "InternalIP", "address": "10.0.0.66"}]}}, as_node(), "status"),
        'nodes "node-2" is forbidden: node "node-1" is not allowed to modify node "node-2"')
    assert (await nodes.get(None, "node-2")).get("status", {}).get("addresses") is None
    await refused(nodes.create(None, {"metadata": {"name": "node-3"}}, as_node()),
                  'nodes "node-3" is forbidden: node "node-1" is not allowed to modify node '
                  '"node-3"')
    mine = await nodes.get(None, "node-1")
    await refused(nodes.update(None, "node-1", {**mine, "spec": {
        "taints": [{"key": "k", "effect": "NoSchedule"}]}}, as_node()),
        'nodes "node-1" is forbidden: node "node-1" is not allowed to modify taints')
    await refused(nodes.update(None, "node-1", {**mine, "metadata": {
        **mine["metadata"], "labels": {"node-restriction.kubernetes.io/pool": "gold"}}}, as_node()),
        'nodes "node-1" is forbidden: is not allowed to modify labels: '
        'node-restriction.kubernetes.io/pool')
    relabelled = await nodes.update(None, "node-1", {**mine, "metadata": {
        **mine["metadata"], "labels": {"kubernetes.io/hostname": "node-1", "disk": "ssd"}}},
        as_node())
    assert relabelled["metadata"]["labels"]["disk"] == "ssd"


@pytest.mark.parametrize("labels,refused_keys", [
    ({"kubernetes.io/hostname": "n", "topology.kubernetes.io/zone": "a", "disk": "ssd",
      "kubelet.kubernetes.io/x": "1", "foo.node.kubernetes.io/y": "2"}, []),
    ({"node-restriction.kubernetes.io/a": "1", "x.node-restriction.kubernetes.io/b": "1"},
     ["node-restriction.kubernetes.io/a", "x.node-restriction.kubernetes.io/b"]),
    ({"node-role.kubernetes.io/control-plane": "", "example.k8s.io/z": "1"},
     ["example.k8s.io/z", "node-role.kubernetes.io/control-plane"]),
])
def test_forbidden_labels_are_node_restriction_and_non_kubelet_kubernetes_labels(
        labels, refused_keys) -> None:
    assert forbidden_labels(labels, {}) == refused_keys
    assert forbidden_labels(labels, labels) == []  # unchanged labels are never refused


async def test_a_node_writes_status_deletes_and_evicts_only_its_own_pods(server) -> None:
    pods = server.registries[PODS]
    theirs = await pods.get("default", "theirs")
    await refused(pods.update("default", "theirs", {**theirs, "status": {"phase": "Failed"}},
                              as_node(), "status"),
                  'pods "theirs" is forbidden: node "node-1" can only update pod status for pods '
                  'with spec.nodeName set to itself')
    mine = await pods.get("default", "mine")
    updated = await pods.update("default", "mine", {**mine, "status": {"phase": "Running"}},
                                as_node(), "status")
    assert updated["status"]["phase"] == "Running"
    relabelled = await pods.update("default", "mine", {**updated, "metadata": {
        **updated["metadata"], "labels": {"a": "b"}}}, as_node(), "status")
    assert "labels" not in relabelled["metadata"]  # a status write never takes metadata
    await refused(deletion.delete(pods, "default", "theirs", {}, as_node()),
                  'pods "theirs" is forbidden: node "node-1" can only delete pods with '
                  'spec.nodeName set to itself')
    await refused(eviction.evict(pods, server.registries[POD_DISRUPTION_BUDGETS], "default",
                                 "theirs", {"metadata": {"name": "theirs"}}, as_node()),
                  'pods "theirs" is forbidden: node node-1 can only evict pods with '
                  'spec.nodeName set to itself')
    assert (await pods.get("default", "theirs"))["metadata"].get("deletionTimestamp") is None
    await deletion.delete(pods, "default", "mine", {"gracePeriodSeconds": 0}, as_node())


async def test_a_node_creates_only_plain_mirror_pods_of_its_own(server) -> None:
    pods = server.registries[PODS]
    node_uid = (await server.registries[NODES].get(None, "node-1"))["metadata"]["uid"]
    owner = {"apiVersion": "v1", "kind": "Node", "name": "node-1", "uid": node_uid,
             "controller": True}
    mirror = {"annotations": {"kubernetes.io/config.mirror": "hash"}, "ownerReferences": [owner]}
    await refused(pods.create("default", pod("static", "node-1"), as_node()),
                  'pods "static" is forbidden: pod does not have "kubernetes.io/config.mirror" '
                  'annotation, node "node-1" can only create mirror pods')
    await refused(pods.create("default", pod("static", "node-2", metadata=mirror), as_node()),
                  'pods "static" is forbidden: node "node-1" can only create pods with '
                  'spec.nodeName set to itself')
    await refused(pods.create("default", pod("static", "node-1", metadata={
        **mirror, "ownerReferences": [{**owner, "uid": "forged"}]}), as_node()),
        f'pods "static" is forbidden: node node-1 UID mismatch: expected forged got {node_uid}')
    await refused(pods.create("default", pod("static", "node-1", metadata=mirror, volumes=[
        {"name": "s", "secret": {"secretName": "tls"}}]), as_node()),
        'pods "static" is forbidden: node "node-1" can not create pods that reference secrets')
    created = await pods.create("default", pod("static", "node-1", metadata=mirror), as_node())
    assert created["spec"]["nodeName"] == "node-1"


async def test_a_node_touches_only_its_own_lease(server) -> None:
    leases = server.registries[LEASES]
    await refused(leases.create("kube-node-lease", {"metadata": {"name": "node-2"}}, as_node()),
                  'leases.coordination.k8s.io "node-2" is forbidden: can only access node lease '
                  'with the same name as the requesting node')
    await refused(leases.create("default", {"metadata": {"name": "node-1"}}, as_node()),
                  'leases.coordination.k8s.io "node-1" is forbidden: can only access leases in '
                  'the "kube-node-lease" system namespace')
    created = await leases.create("kube-node-lease", {"metadata": {"name": "node-1"}}, as_node())
    assert created["metadata"]["name"] == "node-1"


async def test_a_node_only_reports_claim_status(server) -> None:
    claims = server.registries[PERSISTENT_VOLUME_CLAIMS]
    claim = await claims.create("default", {"metadata": {"name": "data"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
        RequestContext())
    await refused(claims.update("default", "data", {**claim, "metadata": {
        **claim["metadata"], "labels": {"a": "b"}}}, as_node()),
        'persistentvolumeclaims "data" is forbidden: may only update PVC status')
    reported = await claims.update("default", "data", {**claim, "status": {
        "capacity": {"storage": "1Gi"}}}, as_node(), "status")
    assert reported["status"]["capacity"] == {"storage": "1Gi"}
    await refused(claims.update("default", "data", {**reported, "status": {
        **reported["status"], "phase": "Lost"}}, as_node(), "status"),
        'persistentvolumeclaims "data" is forbidden: node "node-1" is not allowed to update '
        'fields other than status.capacity and status.conditions')


async def test_a_node_requests_tokens_only_bound_to_its_own_pods(server) -> None:
    plugin = server.admission.plugins[0]
    theirs = await server.registries[PODS].get("default", "theirs")
    mine = await server.registries[PODS].get("default", "mine")

    def token_request(bound: dict[str, str] | None) -> Any:
        spec = {"audiences": ["api"]} | ({"boundObjectRef": bound} if bound else {})
        return plugin.validate(AdmissionRequest(
            CREATE, SERVICE_ACCOUNTS, "default", "default", NODE_1,
            obj={"spec": spec}, subresource="token"))

    prefix = 'serviceaccounts "default" is forbidden: '
    await refused(token_request(None), prefix + "node requested token not bound to a pod")
    await refused(token_request({"apiVersion": "v1", "kind": "Pod", "name": "mine"}),
                  prefix + "node requested token with a pod binding without a uid")
    await refused(token_request({"apiVersion": "v1", "kind": "Pod", "name": "theirs",
                                 "uid": theirs["metadata"]["uid"]}),
                  prefix + "node requested token bound to a pod scheduled on a different node")
    await refused(token_request({"apiVersion": "v1", "kind": "Pod", "name": "mine",
                                 "uid": "stale"}),
                  prefix + "the UID in the bound object reference (stale) does not match the "
                  "UID in record. The object might have been deleted and then recreated")
    await token_request({"apiVersion": "v1", "kind": "Pod", "name": "mine",
                         "uid": mine["metadata"]["uid"]})
