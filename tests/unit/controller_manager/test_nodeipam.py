"""Node IPAM: blocks handed out lowest-first, never twice, freed on delete."""

from __future__ import annotations

from typing import Any

import pytest
from controller_fakes import FakeClient, cache_add, parsed, typed_factory

from controller_manager.nodeipam import CIDRSet, NodeIpamController
from tinykube.client import EventRecorder, FakeClock

Obj = dict[str, Any]


def node(name: str, cidr: str | None = None) -> Obj:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "resourceVersion": "1"},
            "spec": {"podCIDR": cidr} if cidr else {}}


def controller(nodes: list[Obj], cluster_cidr: str = "10.244.0.0/16") -> tuple[NodeIpamController, FakeClient]:
    client = FakeClient()
    ctrl = NodeIpamController(client, typed_factory(client), EventRecorder(client, "test"),  # type: ignore[arg-type]
                              clock=FakeClock(), allocate_node_cidrs=True, cluster_cidr=cluster_cidr)
    for n in nodes:
        cache_add(ctrl.node_informer, n)
        ctrl.on_node(parsed(ctrl.node_informer, n))
    return ctrl, client


def patches(client: FakeClient) -> list[tuple[str, Obj]]:
    return [(a.name, a.body) for a in client.writes("nodes", "patch")]


def test_cidr_set_allocates_lowest_free_block_and_reuses_released_ones() -> None:
    cidrs = CIDRSet("10.244.0.0/16", 24)
    assert cidrs.occupy("10.244.0.0/24")
    assert not cidrs.occupy("10.99.0.0/24") and not cidrs.occupy("10.244.0.0/25") and not cidrs.occupy("junk")
    assert cidrs.allocate() == "10.244.1.0/24"
    assert cidrs.allocate() == "10.244.2.0/24"
    cidrs.release("10.244.1.0/24")
    assert cidrs.allocate() == "10.244.1.0/24"


def test_mask_size_outside_the_cluster_cidr_is_refused() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        CIDRSet("10.244.0.0/16", 8)


async def test_nodes_without_a_cidr_get_the_free_ones_and_nodes_with_one_keep_it() -> None:
    ctrl, client = controller([node("a", "10.244.0.0/24"), node("b"), node("c")])
    await ctrl.sync_node("b")
    await ctrl.sync_node("c")
    await ctrl.sync_node("a")
    assert patches(client) == [
        ("b", {"spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]}}),
        ("c", {"spec": {"podCIDR": "10.244.2.0/24", "podCIDRs": ["10.244.2.0/24"]}})]


async def test_a_deleted_nodes_cidr_goes_to_the_next_node() -> None:
    ctrl, client = controller([node("a", "10.244.0.0/24"), node("b", "10.244.1.0/24")])
    gone = ctrl.node_informer.indexer.get("a")
    ctrl.node_informer.indexer.delete(gone)
    ctrl.on_node_delete(gone)
    new = parsed(ctrl.node_informer, node("d"))
    cache_add(ctrl.node_informer, new)
    ctrl.on_node(new)
    await ctrl.sync_node("d")
    assert patches(client) == [("d", {"spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]}})]


async def test_a_full_range_is_an_event_and_a_retry() -> None:
    ctrl, client = controller([node("a", "10.244.0.0/24"), node("b")], cluster_cidr="10.244.0.0/24")
    with pytest.raises(RuntimeError, match="no free pod CIDR"):
        await ctrl.sync_node("b")
    await ctrl.recorder.flush()
    assert patches(client) == [] and [(e["type"], e["reason"]) for e in client.events] == [
        ("Warning", "CIDRNotAvailable")]
