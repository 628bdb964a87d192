"""The node IPAM controller: one pod CIDR per node, out of the cluster CIDR.

With `--allocate-node-cidrs` (the compose cluster and `tinykube init` set it), every
Node without `spec.podCIDR` gets the lowest free `/--node-cidr-mask-size` block of
`--cluster-cidr` (10.244.0.0/16 → 10.244.0.0/24, 10.244.1.0/24, ...). The kubelet
gives its pod bridge that block, and every node routes the others' blocks to them
(host-gw), so a pod IP says which node the pod is on.

- At start the blocks already on Nodes are marked used (informer cache), so a
  restarted or newly elected controller never hands one out twice.
- A deleted Node's block is free again.
- One worker: allocations are sequential, so two nodes never race for one block.
- When the range is exhausted the Node gets a `CIDRNotAvailable` event and is
  retried with backoff.

Kubernetes counterpart: pkg/controller/nodeipam/ipam/range_allocator.go,
pkg/controller/nodeipam/ipam/cidrset/cidr_set.go
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from controller_manager.controller_utils import Controller
from tinykube.api.core import Node
from tinykube.api.resources import NODES
from tinykube.client import REAL_CLOCK, Clock, EventRecorder, NotFound, PatchType, RESTClient, SharedInformerFactory

log = logging.getLogger(__name__)


class CIDRSet:
    """The blocks of one cluster CIDR, each used or free."""

    def __init__(self, cluster_cidr: str, mask_size: int) -> None:
        self.network = ipaddress.ip_network(cluster_cidr)
        if not self.network.prefixlen <= mask_size <= self.network.max_prefixlen:
            raise ValueError(f"--node-cidr-mask-size {mask_size} does not fit in --cluster-cidr {cluster_cidr}")
        self.mask_size = mask_size
        self.used: set[str] = set()

    def occupy(self, cidr: str) -> bool:
        """Mark a block used; False when it is not one of ours."""
        try:
            block = ipaddress.ip_network(cidr)
        except ValueError:
            return False
        if block.prefixlen != self.mask_size or not block.subnet_of(self.network):  # type: ignore[arg-type]
            return False
        self.used.add(str(block))
        return True

    def release(self, cidr: str) -> None:
        self.used.discard(cidr)

    def allocate(self) -> str | None:
        for block in self.network.subnets(new_prefix=self.mask_size):
            if str(block) not in self.used:
                self.used.add(str(block))
                return str(block)
        return None


class NodeIpamController(Controller):
    name = "nodeipam"  # kube-controller-manager's --controllers name

    def __init__(self, client: RESTClient, factory: SharedInformerFactory, recorder: EventRecorder, *,
                 clock: Clock = REAL_CLOCK, allocate_node_cidrs: bool = False,
                 cluster_cidr: str = "10.244.0.0/16", node_cidr_mask_size: int = 24, **options: Any) -> None:
        super().__init__(client, recorder, self.sync_node, clock=clock)
        self.enabled = allocate_node_cidrs
        self.cidrs = CIDRSet(cluster_cidr, node_cidr_mask_size)
        self.node_informer = factory.informer_for(NODES)
        self.node_informer.add_event_handler(on_add=self.on_node, on_update=lambda old, new: self.on_node(new),
                                             on_delete=self.on_node_delete)

    def on_node(self, node: Node) -> None:
        cidr = _pod_cidr(node)
        if cidr:
            self.cidrs.occupy(cidr)
        else:
            self.enqueue(node)

    def on_node_delete(self, node: Node) -> None:
        cidr = _pod_cidr(node)
        if cidr:
            self.cidrs.release(cidr)
            log.info("released pod CIDR node=%s cidr=%s", node.metadata.name, cidr)

    async def run(self, workers: int) -> None:
        if not self.enabled:
            log.info("node CIDR allocation is off (--allocate-node-cidrs=false)")
            return
        for node in self.node_informer.indexer.list():  # blocks in use before any allocation
            cidr = _pod_cidr(node)
            if cidr:
                self.cidrs.occupy(cidr)
        await super().run(1)  # one worker: allocations never race

    async def sync_node(self, name: str) -> None:
        node: Node | None = self.node_informer.indexer.get(name)
        if node is None or _pod_cidr(node):
            return
        cidr = self.cidrs.allocate()
        if cidr is None:
            self.recorder.event(node, "Warning", "CIDRNotAvailable",
                                f"Node {name} status is now: CIDRNotAvailable ({self.cidrs.network} is full)")
            raise RuntimeError(f"no free pod CIDR in {self.cidrs.network} for node {name}")
        try:
            await self.client.patch(NODES, name, {"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}},
                                    patch_type=PatchType.MERGE)
        except NotFound:
            self.cidrs.release(cidr)
            return
        except Exception:
            self.cidrs.release(cidr)
            raise
        log.info("allocated pod CIDR node=%s cidr=%s", name, cidr)
        self.recorder.event(node, "Normal", "CIDRAssignmentSucceeded", f"Node {name} got pod CIDR {cidr}")


def _pod_cidr(node: Node) -> str | None:
    return node.spec.pod_cidr if node.spec else None
