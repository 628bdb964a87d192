"""The Kubelet: one node's agent, wiring its parts together.

- `NodeStatusManager` registers the Node, heartbeats its Lease and reports its status.
- A typed informer on this node's pods (`fieldSelector=spec.nodeName=<node>`) feeds
  the `PodSyncer` (pod workers, sync, status manager, housekeeping).
- With a pod network (`--network-plugin=host-gw`) the node first waits for its
  podCIDR, then runs the host-gw agent (`HostGatewayNetwork`).
- A node that writes volumes deletes the data of local-path volumes whose PV is gone
  (`LocalPathReclaimer`).
- With a port, the kubelet API (`KubeletServer`) serves logs, exec, port-forward
  and stats; with `--rotate-server-certificates` it starts once the Node is
  registered and the cluster signed its serving certificate (kubelet/certificate).
Stopping (cancelling `run`) stops every part; running containers are left alone.

Kubernetes counterpart: pkg/kubelet/kubelet.go (NewMainKubelet, Run), pkg/kubelet/config
(the apiserver pod source)
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path
from typing import Protocol

from kubelet.certificate.serving import serving_certificate
from kubelet.kuberuntime.manager import KubeletRuntime
from kubelet.network.hostgw import HostGatewayNetwork
from kubelet.node_status import NodeConfig, NodeStatusManager
from kubelet.pod_sync import PodSyncer
from kubelet.runtime import POD_BRIDGE
from kubelet.server import KubeletServer, ServerConfig
from kubelet.server.app import ServerRuntime
from kubelet.volumes.local_path import LocalPathReclaimer
from tinykube.api.resources import PODS
from tinykube.client import RESTClient, SharedInformer
from tinykube.client.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)


class NodeRuntime(KubeletRuntime, ServerRuntime, Protocol):
    """What a node's runtime serves: the pod sync and the kubelet API."""


class Kubelet:
    """One node: registration and heartbeats, plus the sync of its pods."""

    def __init__(self, client: RESTClient, runtime: NodeRuntime, config: NodeConfig, pod_syncer: PodSyncer, *,
                 api_server: ServerConfig | None = None, pod_network_cidr: str | None = None,
                 serving_cert_dir: Path | None = None, clock: Clock = REAL_CLOCK) -> None:
        self.client, self.runtime, self.config, self.pod_syncer = client, runtime, config, pod_syncer
        # With a pod network (--network-plugin=host-gw): the cluster's pod CIDR, whose
        # per-node blocks this node routes to the other nodes.
        self.pod_network_cidr = pod_network_cidr
        self.api_server = api_server  # the kubelet API on --port (None: not served)
        # --rotate-server-certificates: where the cluster-signed serving certificate lives
        # (None: the API serves --tls-cert-file or a self-signed certificate).
        self.serving_cert_dir = serving_cert_dir
        self.node_status = NodeStatusManager(client, runtime, config, clock=clock)
        self.pod_informer = SharedInformer(client, PODS, field_selector=f"spec.nodeName={config.name}",
                                           indexers={}, typed=True)
        self.pod_informer.add_event_handler(pod_syncer.on_add, pod_syncer.on_update, pod_syncer.on_delete)

    async def serve_with_cluster_certificate(self, api_server: ServerConfig, cert_dir: Path) -> None:
        sans = sorted({self.config.name, self.config.node_ip})
        pem = str(await serving_certificate(self.client, cert_dir, self.config.name, sans))
        await KubeletServer(self.runtime, dataclasses.replace(
            api_server, tls_cert_file=pem, tls_private_key_file=pem)).run()

    async def run(self) -> None:
        api = None
        if self.api_server is not None and self.serving_cert_dir is None:
            api = asyncio.create_task(KubeletServer(self.runtime, self.api_server).run(),
                                      name=f"kubelet API {self.config.name}")
        await self.node_status.register_node()
        if self.api_server is not None and self.serving_cert_dir is not None:
            # The approver checks the certificate's names against the registered Node.
            api = asyncio.create_task(self.serve_with_cluster_certificate(self.api_server, self.serving_cert_dir),
                                      name=f"kubelet API {self.config.name}")
        network = None
        if self.pod_network_cidr is not None:
            # Pods need the bridge, which needs the node's podCIDR: wait for it first.
            log.info("waiting for the node's pod CIDR node=%s", self.config.name)
            pod_cidr = await self.node_status.wait_for_pod_cidr()
            log.info("pod CIDR node=%s cidr=%s", self.config.name, pod_cidr)
            agent = HostGatewayNetwork(self.client, self.config.name, self.pod_network_cidr, POD_BRIDGE,
                                       lambda: self.node_status.pod_cidr)
            network = asyncio.create_task(agent.run(), name=f"pod network {self.config.name}")
        self.pod_informer.start()
        pods = asyncio.create_task(self.pod_syncer.run(self.pod_informer.has_synced),
                                   name=f"pod housekeeping {self.config.name}")
        volumes = self.pod_syncer.volumes  # None on hollow nodes: they write no volumes
        reclaim = None if volumes is None else asyncio.create_task(
            LocalPathReclaimer(self.client, volumes.paths_in_use).run(), name=f"local-path reclaim {self.config.name}")
        try:
            await self.node_status.run()
        finally:
            pods.cancel()
            if reclaim is not None:
                reclaim.cancel()
            if network is not None:
                network.cancel()
            if api is not None:
                api.cancel()
            await self.pod_informer.stop()
            await self.pod_syncer.stop()
