"""The Node authorizer's graph: what pods and volumes refer to, and how binding,
rebinding and deleting a pod change what its node can reach. The populator is
checked against a real API server over in-memory storage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from apiserver import deletion
from apiserver.authorization.node import node_authorizer_for
from apiserver.authorization.node.graph import (CONFIG_MAP, POD, PVC, SECRET, SERVICE_ACCOUNT,
                                                Graph, pod_edges, pod_vertex, pv_edges,
                                                pv_vertex)
from apiserver.authorization.node.references import pod_references, pv_references
from apiserver.registry import RequestContext
from apiserver.server import APIServer
from apiserver.storage.memory import MemoryStorage
from tinykube.api.resources import PERSISTENT_VOLUMES, PODS

DEADLINE_SECONDS = 5.0


def pod(name: str, node: str = "", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": {"name": name, "namespace": "ns"},
                            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}
    if node:
        body["spec"]["nodeName"] = node
    return body


EVERYTHING = dict(
    serviceAccountName="runner",
    imagePullSecrets=[{"name": "registry"}],
    initContainers=[{"name": "i", "image": "x",
                     "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "init-env",
                                                                          "key": "k"}}}]}],
    containers=[{"name": "c", "image": "x",
                 "env": [{"name": "B", "valueFrom": {"configMapKeyRef": {"name": "env-cm",
                                                                         "key": "k"}}},
                         {"name": "C", "value": "plain"}],
                 "envFrom": [{"secretRef": {"name": "bulk"}}, {"configMapRef": {"name": "bulk-cm"}}]}],
    ephemeralContainers=[{"name": "debug", "image": "x",
                          "envFrom": [{"secretRef": {"name": "debug-env"}}]}],
    volumes=[{"name": "s", "secret": {"secretName": "vol-secret"}},
             {"name": "m", "configMap": {"name": "vol-cm"}},
             {"name": "p", "projected": {"sources": [{"secret": {"name": "proj-secret"}},
                                                     {"configMap": {"name": "proj-cm"}},
                                                     {"serviceAccountToken": {"path": "t"}}]}},
             {"name": "csi", "csi": {"driver": "d", "nodePublishSecretRef": {"name": "csi-secret"}}},
             {"name": "rbd", "rbd": {"monitors": ["m"], "image": "i",
                                     "secretRef": {"name": "rbd-secret"}}},
             {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
             {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}},
             {"name": "tmp", "emptyDir": {}}])


def test_a_pod_refers_to_everything_its_containers_and_volumes_name() -> None:
    refs = pod_references(pod("web", **EVERYTHING))
    assert refs.service_account == "runner"
    assert refs.secrets == {"registry", "init-env", "bulk", "debug-env", "vol-secret",
                            "proj-secret", "csi-secret", "rbd-secret"}
    assert refs.config_maps == {"env-cm", "bulk-cm", "vol-cm", "proj-cm"}
    assert refs.claims == {"data", "web-scratch"}
    assert pod_references(pod("bare")).empty


@pytest.mark.parametrize("spec,claim,secrets", [
    ({}, None, set()),
    ({"claimRef": {"namespace": "ns", "name": "data"}, "hostPath": {"path": "/x"}},
     ("ns", "data"), set()),
    ({"claimRef": {"namespace": "ns", "name": "data"},
      "csi": {"driver": "d", "nodeStageSecretRef": {"name": "stage", "namespace": "infra"},
              "nodePublishSecretRef": {"name": "publish"}}},
     ("ns", "data"), {("infra", "stage"), ("ns", "publish")}),
])
def test_a_volume_refers_to_its_claim_and_secrets_once_bound(spec, claim, secrets) -> None:
    refs = pv_references({"metadata": {"name": "pv1"}, "spec": spec})
    assert refs.claim == claim and refs.secrets == secrets


def reaches(graph: Graph, kind: str, name: str, node: str, namespace: str = "ns") -> bool:
    return graph.has_path_to_node((kind, namespace, name), node)


def test_binding_rebinding_and_deleting_a_pod_moves_what_nodes_reach() -> None:
    graph = Graph()
    web = pod_vertex("ns", "web")
    unbound = pod("web", serviceAccountName="runner", volumes=[
        {"name": "s", "secret": {"secretName": "tls"}}])
    assert not graph.set_edges(web, pod_edges(unbound))  # unbound: no edges at all
    assert graph.vertices() == set()

    bound = pod("web", "node-1", **unbound["spec"])
    assert graph.set_edges(web, pod_edges(bound))
    assert reaches(graph, SECRET, "tls", "node-1")
    assert reaches(graph, SERVICE_ACCOUNT, "runner", "node-1")
    assert reaches(graph, POD, "web", "node-1")
    assert not reaches(graph, SECRET, "tls", "node-2")
    assert not reaches(graph, SECRET, "other", "node-1")
    assert not reaches(graph, SECRET, "tls", "node-1", namespace="elsewhere")

    rebound = pod("web", "node-2", **unbound["spec"])  # deleted and recreated elsewhere
    graph.set_edges(web, pod_edges(rebound))
    assert reaches(graph, SECRET, "tls", "node-2")
    assert not reaches(graph, SECRET, "tls", "node-1")
    assert ("node", "", "node-1") not in graph.vertices()  # orphaned vertices are gone

    graph.set_edges(web, frozenset())  # deleted
    assert not reaches(graph, SECRET, "tls", "node-2")
    assert graph.vertices() == set()


def test_a_shared_secret_stays_reachable_while_any_pod_of_the_node_uses_it() -> None:
    graph = Graph()
    for name in ("a", "b"):
        graph.set_edges(pod_vertex("ns", name), pod_edges(
            pod(name, "node-1", imagePullSecrets=[{"name": "registry"}])))
    graph.set_edges(pod_vertex("ns", "a"), frozenset())
    assert reaches(graph, SECRET, "registry", "node-1")
    graph.set_edges(pod_vertex("ns", "b"), frozenset())
    assert not reaches(graph, SECRET, "registry", "node-1")


def test_a_volume_and_its_secret_are_reachable_through_the_claim_of_a_bound_pod() -> None:
    graph = Graph()
    volume = {"metadata": {"name": "pv1"},
              "spec": {"claimRef": {"namespace": "ns", "name": "data"},
                       "csi": {"driver": "d", "nodePublishSecretRef": {"name": "pv-secret"}}}}
    graph.set_edges(pv_vertex("pv1"), pv_edges(volume))
    assert not graph.has_path_to_node(pv_vertex("pv1"), "node-1")  # no pod uses the claim yet
    graph.set_edges(pod_vertex("ns", "db"), pod_edges(pod("db", "node-1", volumes=[
        {"name": "d", "persistentVolumeClaim": {"claimName": "data"}}])))
    assert graph.has_path_to_node(pv_vertex("pv1"), "node-1")
    assert reaches(graph, PVC, "data", "node-1")
    assert reaches(graph, SECRET, "pv-secret", "node-1")
    assert not reaches(graph, CONFIG_MAP, "data", "node-1")
    graph.replace_owners("pv", {})  # a fresh list without the volume
    assert not graph.has_path_to_node(pv_vertex("pv1"), "node-1")
    assert reaches(graph, PVC, "data", "node-1")


# --- the populator, following a real API server's watch caches ---------------------------


@pytest.fixture
async def server() -> AsyncIterator[APIServer]:
    api = APIServer(MemoryStorage())
    await api.start()
    await api.namespaces.create(None, {"metadata": {"name": "ns"}}, RequestContext())
    yield api
    await api.stop()


async def eventually(condition: Callable[[], bool], what: str) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(poll(), DEADLINE_SECONDS)
    except TimeoutError:
        raise AssertionError(f"not within {DEADLINE_SECONDS}s: {what}") from None


async def test_the_graph_follows_pods_and_volumes_in_the_api_servers_caches(server) -> None:
    pods, volumes = server.registries[PODS], server.registries[PERSISTENT_VOLUMES]
    await pods.create("ns", pod("early", "node-1", volumes=[
        {"name": "s", "secret": {"secretName": "early"}}]), RequestContext())
    await eventually(lambda: pods.cache.cached("/registry/pods/ns/early") is not None, "cached")
    authorizer = node_authorizer_for(server)
    assert authorizer.populator is not None
    graph = authorizer.graph
    try:
        # What existed before the authorizer was made is in its graph at once.
        assert reaches(graph, SECRET, "early", "node-1")

        await pods.create("ns", pod("web", volumes=[
            {"name": "s", "secret": {"secretName": "tls"}},
            {"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]), RequestContext())
        await volumes.create(None, {"metadata": {"name": "pv1"}, "spec": {
            "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "hostPath": {"path": "/srv"}, "claimRef": {"namespace": "ns", "name": "data"}}},
            RequestContext())
        await pods.create_on_subresource("ns", "web", "binding", {
            "metadata": {"name": "web"}, "target": {"kind": "Node", "name": "node-1"}},
            RequestContext())
        await eventually(lambda: reaches(graph, SECRET, "tls", "node-1"), "bound pod's secret")
        await eventually(lambda: graph.has_path_to_node(pv_vertex("pv1"), "node-1"),
                         "bound pod's volume")

        await deletion.delete(pods, "ns", "web", {"gracePeriodSeconds": 0}, RequestContext())
        await eventually(lambda: not reaches(graph, SECRET, "tls", "node-1"),
                         "deleted pod's secret")
        assert not graph.has_path_to_node(pv_vertex("pv1"), "node-1")
        assert reaches(graph, SECRET, "early", "node-1")
    finally:
        await authorizer.populator.stop()
