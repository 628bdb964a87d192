"""`python -m kubelet`: the node agent.

    python -m kubelet --kubeconfig=kubeconfig --hostname-override=node-1 \\
        --container-runtime-endpoint=fake

A `Kubelet` (kubelet/kubelet.py) is a `NodeStatusManager` (register, Lease
heartbeat, node status) plus a `PodSyncer` (pod workers, status manager,
housekeeping) fed by an informer on this node's pods. With
`--container-runtime-endpoint=fake` the runtime is `FakeRuntime`: a *hollow node*
(the kubemark idea) that registers, heartbeats and reports its pods Running and
Ready without running anything (it writes only the volumes made from API objects,
ServiceAccount tokens included, under `<root-dir>/hollow/<node>`). `--hollow-nodes=N` runs N such kubelets in one
process, named `<hostname-override>-0` ... `-<N-1>`, each with its own client,
watch and Lease, for tests and benchmarks.

Flags are the kubelet's own (`--node-ip`, `--node-labels`, `--register-with-taints`,
`--max-pods`, `--kube-reserved`, `--system-reserved`, `--pod-cidr`,
`--node-status-update-frequency`); `--node-lease-duration-seconds` and
`--node-status-report-frequency` are KubeletConfiguration fields; `--root-dir`
(pod volumes), `--cluster-dns`, `--cluster-domain` and `--sync-frequency` are the
kubelet's too, and `--crash-loop-backoff-initial/-max` and
`--image-pull-backoff-initial/-max` let labs shorten the 10 s → 5 min backoffs; `--node-capacity`
and `--hollow-nodes` are tinykube's (kubemark sets capacity the same way), as is
`--fake-registry` (hollow nodes pull from a registry modelled by a JSON file).

Identity: `--bootstrap-kubeconfig` + `--kubeconfig` is kubeadm's TLS bootstrap
(kubelet/certificate/bootstrap.py); `--rotate-server-certificates` gets the kubelet
API a cluster-signed serving certificate; `--client-ca-file`,
`--authentication-token-webhook` and `--authorization-mode=Webhook` decide who may
call the kubelet API (kubelet/server/auth.py).

Kubernetes counterpart: cmd/kubelet/app/server.go, cmd/kubemark/hollow-node.go,
pkg/kubemark/hollow_kubelet.go
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import socket
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

from kubelet.backoff import DEFAULT_INITIAL_SECONDS, DEFAULT_MAX_SECONDS
from kubelet.kubelet import Kubelet, NodeRuntime
from kubelet.node_status import NodeConfig, machine_capacity, subtract_reserved
from kubelet.pod_sync import PodSyncConfig, PodSyncer
from kubelet.prober.probers import always_succeed
from kubelet.runtime import PAUSE_IMAGE
from kubelet.runtime.fake import FakeRuntime
from tinykube.authn import X509Authenticator
from kubelet.certificate.bootstrap import load_client_certificate
from kubelet.runtime.fake_registry import FakeRegistry
from kubelet.server import ServerConfig, read_token_file
from kubelet.token import TokenManager
from kubelet.server.auth import KubeletAuth, StaticTokenAuthenticator, WebhookAuthorizer, WebhookTokenAuthenticator
from kubelet.volumes.manager import DEFAULT_ROOT_DIR, VolumeManager
from tinykube.api.core import Taint
from tinykube.client import EventRecorder, RESTClient
from tinykube.component import (
    add_client_flags,
    boolean,
    client_config_from_flags,
    component_parser,
    duration,
    run_until_signalled,
)

log = logging.getLogger("kubelet")

POD_NETWORK = "tinykube-pods"  # the Docker network of pod sandboxes with --network-plugin=host-gw
HOLLOW_MIN_SYNC_SECONDS = 60.0  # hollow pods change only through the API: resync rarely


def parse_key_values(text: str) -> dict[str, str]:
    """"a=1,b=2" → {"a": "1", "b": "2"} (--node-labels, --kube-reserved, --node-capacity)."""
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    if any(len(p) != 2 for p in pairs):
        raise argparse.ArgumentTypeError(f"expected key=value[,key=value]: {text!r}")
    return {k.strip(): v.strip() for k, v in pairs}


def parse_taints(text: str) -> list[Taint]:
    """"key=value:Effect,key:Effect" → taints (--register-with-taints)."""
    taints = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        key_value, _, effect = item.rpartition(":")
        if effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute") or not key_value:
            raise argparse.ArgumentTypeError(f"invalid taint {item!r}: want key[=value]:Effect")
        key, _, value = key_value.partition("=")
        taints.append(Taint(key=key, value=value or None, effect=effect))
    return taints


def build_parser() -> argparse.ArgumentParser:
    parser = component_parser("python -m kubelet", __doc__)
    add_client_flags(parser)
    parser.add_argument("--hostname-override", default=None)
    parser.add_argument("--node-ip", default="127.0.0.1")
    parser.add_argument("--root-dir", default=DEFAULT_ROOT_DIR)
    parser.add_argument("--container-runtime-endpoint", default="unix:///var/run/docker.sock")
    parser.add_argument("--pod-infra-container-image", default=PAUSE_IMAGE,
                        help="the image of every pod's sandbox container (must be on the node)")
    parser.add_argument("--node-labels", type=parse_key_values, default={})
    parser.add_argument("--register-with-taints", type=parse_taints, default=[])
    parser.add_argument("--max-pods", type=int, default=110)
    parser.add_argument("--kube-reserved", type=parse_key_values, default={})
    parser.add_argument("--system-reserved", type=parse_key_values, default={})
    parser.add_argument("--pod-cidr", default="")
    parser.add_argument("--network-plugin", default="", choices=["", "host-gw"],
                        help="host-gw: pods on a bridge owning the node's podCIDR, routes to the other "
                             "nodes' podCIDRs (Docker runtime only); default: Docker's default bridge")
    parser.add_argument("--non-masquerade-cidr", default="10.244.0.0/16",
                        help="the cluster's pod CIDR: traffic inside it is never masqueraded")
    parser.add_argument("--node-status-update-frequency", type=duration, default=10.0)
    parser.add_argument("--node-status-report-frequency", type=duration, default=300.0)
    parser.add_argument("--node-lease-duration-seconds", type=int, default=40)
    parser.add_argument("--node-capacity", type=parse_key_values, default={},
                        help="tinykube: capacity overrides, e.g. cpu=4,memory=8Gi,pods=110")
    parser.add_argument("--hollow-nodes", type=int, default=1,
                        help="tinykube: run N hollow kubelets (fake runtime) in this process")
    parser.add_argument("--fake-registry", type=Path, default=None,
                        help="tinykube: hollow nodes pull from the registry this JSON file describes "
                             "(kubelet/runtime/fake_registry.py) and start with no images")
    parser.add_argument("--address", default="0.0.0.0", help="the kubelet API's bind address")
    parser.add_argument("--port", type=int, default=None,
                        help="the kubelet API's HTTPS port (default 10250; hollow nodes: off "
                             "unless given); 0 = off")
    parser.add_argument("--tls-cert-file", default="")
    parser.add_argument("--tls-private-key-file", default="")
    parser.add_argument("--kubelet-api-token-file", default="",
                        help="tinykube: a bearer token the kubelet API accepts as the API server's "
                        "(hollow-node tests only; clusters use --client-ca-file)")
    parser.add_argument("--anonymous-auth", type=boolean, default=False,
                        help="let callers the kubelet API does not recognise in as system:anonymous")
    parser.add_argument("--client-ca-file", default="",
                        help="authenticate kubelet API callers by certificates this CA signed")
    parser.add_argument("--authentication-token-webhook", type=boolean, default=False,
                        help="authenticate bearer tokens with a TokenReview to the API server")
    parser.add_argument("--authentication-token-webhook-cache-ttl", type=duration, default=120.0,
                        help="how long TokenReview answers are cached")
    parser.add_argument("--authorization-mode", default="AlwaysAllow", choices=["AlwaysAllow", "Webhook"],
                        help="Webhook: ask the API server (SubjectAccessReview) for nodes/proxy, nodes/stats, ...")
    parser.add_argument("--bootstrap-kubeconfig", default="",
                        help="a kubeconfig with a bootstrap token: when --kubeconfig is missing or its "
                        "certificate expired, get a client certificate through a CertificateSigningRequest")
    parser.add_argument("--cert-dir", default="",
                        help="where the node's certificates are written (default <root-dir>/pki)")
    parser.add_argument("--rotate-server-certificates", type=boolean, default=False,
                        help="serve the kubelet API with a certificate the cluster signs (kubelet-serving)")
    parser.add_argument("--cluster-dns", default="",
                        help="the cluster DNS server for dnsPolicy ClusterFirst pods (e.g. 10.96.0.10)")
    parser.add_argument("--cluster-domain", default="cluster.local")
    parser.add_argument("--sync-frequency", type=duration, default=10.0,
                        help="resync period of running pods (volume contents, statuses)")
    parser.add_argument("--crash-loop-backoff-initial", type=duration, default=DEFAULT_INITIAL_SECONDS,
                        help="tinykube: first CrashLoopBackOff delay (labs shorten it)")
    parser.add_argument("--crash-loop-backoff-max", type=duration, default=DEFAULT_MAX_SECONDS,
                        help="the CrashLoopBackOff cap (KubeletConfiguration maxContainerRestartPeriod)")
    parser.add_argument("--image-pull-backoff-initial", type=duration, default=DEFAULT_INITIAL_SECONDS)
    parser.add_argument("--image-pull-backoff-max", type=duration, default=DEFAULT_MAX_SECONDS)
    return parser


def pod_annotations_of(kubelet: Kubelet) -> Callable[[str, str], dict[str, str]]:
    """A hollow node's view of its pods' current annotations (the fake runtime's usage)."""
    def annotations(namespace: str, name: str) -> dict[str, str]:
        pod = kubelet.pod_informer.indexer.get(f"{namespace}/{name}")
        return dict(pod.metadata.annotations or {}) if pod is not None else {}
    return annotations


def fake_pod_cidr(node_name: str) -> str:
    """A stand-in /24 when neither --pod-cidr nor spec.podCIDR gives one (hollow nodes only)."""
    return f"10.244.{zlib.crc32(node_name.encode()) % 256}.0/24"


def node_configs(args: argparse.Namespace) -> list[NodeConfig]:
    base = (args.hostname_override or socket.gethostname()).lower()
    names = [base] if args.hollow_nodes <= 1 else [f"{base}-{i}" for i in range(args.hollow_nodes)]
    capacity = {**machine_capacity(args.max_pods, args.root_dir), **args.node_capacity}
    allocatable = subtract_reserved(capacity, args.kube_reserved, args.system_reserved)
    return [NodeConfig(name, args.node_ip, capacity, allocatable, labels=args.node_labels,
                       taints=args.register_with_taints,
                       lease_duration_seconds=args.node_lease_duration_seconds,
                       status_update_frequency_seconds=args.node_status_update_frequency,
                       status_report_frequency_seconds=args.node_status_report_frequency,
                       kubelet_port=kubelet_port(args, index))
            for index, name in enumerate(names)]


def kubelet_port(args: argparse.Namespace, index: int = 0) -> int:
    """--port, or 10250; hollow nodes serve no kubelet API unless --port is given (then
    node i serves on --port + i)."""
    if args.port is None:
        return 0 if args.container_runtime_endpoint == "fake" else 10250
    return args.port + index if args.port else 0


def kubelet_auth(args: argparse.Namespace, client: RESTClient) -> KubeletAuth:
    """Who may call the kubelet API, from the authentication and authorization flags."""
    token = read_token_file(args.kubelet_api_token_file) if args.kubelet_api_token_file else None
    return KubeletAuth(
        x509=X509Authenticator() if args.client_ca_file else None,
        static_token=StaticTokenAuthenticator(token) if token else None,
        webhook=WebhookTokenAuthenticator(client, args.authentication_token_webhook_cache_ttl)
        if args.authentication_token_webhook else None,
        anonymous=args.anonymous_auth,
        authorizer=WebhookAuthorizer(client) if args.authorization_mode == "Webhook" else None)


def api_server_config(args: argparse.Namespace, node: NodeConfig, client: RESTClient) -> ServerConfig | None:
    if not node.kubelet_port:
        return None
    return ServerConfig(node.name, args.address, node.kubelet_port, args.tls_cert_file,
                        args.tls_private_key_file, args.root_dir, kubelet_auth(args, client), node.node_ip,
                        args.client_ca_file)


def cert_dir(args: argparse.Namespace) -> Path:
    return Path(args.cert_dir or Path(args.root_dir) / "pki")


def pod_syncer(args: argparse.Namespace, client: RESTClient, runtime: NodeRuntime, node: NodeConfig) -> PodSyncer:
    """The node's pod sync: a hollow node runs no probes, writes only the volumes made from
    API objects, and records no events unless it models a registry (--fake-registry: its
    pulls are what is tested)."""
    hollow = args.container_runtime_endpoint == "fake"
    config = PodSyncConfig(
        node.name, host_ip=lambda: node.node_ip, cluster_dns=args.cluster_dns, cluster_domain=args.cluster_domain,
        allocatable=node.allocatable,
        resync_seconds=max(args.sync_frequency, HOLLOW_MIN_SYNC_SECONDS) if hollow else args.sync_frequency,
        runtime_name="fake" if hollow else "docker",
        crash_loop_backoff=(args.crash_loop_backoff_initial, args.crash_loop_backoff_max),
        image_pull_backoff=(args.image_pull_backoff_initial, args.image_pull_backoff_max))
    tokens = TokenManager(client)
    if hollow:
        # The volumes made from API objects (ServiceAccount tokens among them) are written,
        # each hollow node in its own directory: hollow kubelets may share a --root-dir, and
        # housekeeping removes the pod directories its own node does not know.
        root_dir = os.path.join(args.root_dir, "hollow", node.name)
        recorder = EventRecorder(client, "kubelet", host=node.name) if args.fake_registry else None
        return PodSyncer(client, runtime, config, probe_runner=always_succeed, recorder=recorder,
                         volumes=VolumeManager(root_dir, client, allocatable=node.allocatable,
                                               tokens=tokens, node_volumes=False))
    return PodSyncer(client, runtime, config,
                     volumes=VolumeManager(args.root_dir, client, allocatable=node.allocatable,
                                           tokens=tokens),
                     recorder=EventRecorder(client, "kubelet", host=node.name))


def docker_runtime(endpoint: str, pause_image: str, pod_network: str | None) -> NodeRuntime:
    # Imported here so hollow nodes never load the docker SDK.
    from kubelet.runtime.docker import DockerRuntime
    return DockerRuntime(endpoint, pod_infra_container_image=pause_image, pod_network=pod_network)


async def run(args: argparse.Namespace, stopping: asyncio.Event) -> int:
    endpoint = args.container_runtime_endpoint
    if endpoint != "fake" and (args.hollow_nodes > 1 or not endpoint.startswith(("unix://", "tcp://"))):
        log.error("want --container-runtime-endpoint=fake or unix://... / tcp://... (one node) endpoint=%s",
                  endpoint)
        return 2
    configs = node_configs(args)
    if args.bootstrap_kubeconfig:
        if len(configs) != 1 or not args.kubeconfig:
            log.error("--bootstrap-kubeconfig needs --kubeconfig (where to write) and one node")
            return 2
        await load_client_certificate(Path(args.kubeconfig), Path(args.bootstrap_kubeconfig), cert_dir(args),
                                      configs[0].name)
    config = client_config_from_flags(args, "tinykube-kubelet")
    # One user agent per node (`tinykube-kubelet/node-a`), so the flow log and
    # `tinykube trace` tell the kubelets of a hollow-node process apart.
    clients = [RESTClient(dataclasses.replace(config, user_agent=f"tinykube-kubelet/{node.name}"))
               for node in configs]
    try:
        kubelets = []
        for index, (client, node) in enumerate(zip(clients, configs, strict=True)):
            cidr = args.pod_cidr if len(configs) == 1 and args.pod_cidr else (
                f"10.244.{index % 256}.0/24" if len(configs) > 1 else fake_pod_cidr(node.name))
            host_gw = args.network_plugin == "host-gw" and endpoint != "fake"
            runtime: NodeRuntime = FakeRuntime(cidr) if endpoint == "fake" else docker_runtime(
                endpoint, args.pod_infra_container_image, POD_NETWORK if host_gw else None)
            if host_gw and args.pod_cidr:
                await runtime.update_runtime_config(args.pod_cidr)
            kubelet = Kubelet(client, runtime, node, pod_syncer(args, client, runtime, node),
                              api_server=api_server_config(args, node, client),
                              pod_network_cidr=args.non_masquerade_cidr if host_gw else None,
                              serving_cert_dir=cert_dir(args) if args.rotate_server_certificates else None)
            if isinstance(runtime, FakeRuntime):
                runtime.pod_annotations = pod_annotations_of(kubelet)
                runtime.registry = FakeRegistry(args.fake_registry) if args.fake_registry else None
            kubelets.append(kubelet)
        log.info("starting kubelet nodes=%d runtime=%s", len(kubelets), endpoint)
        try:
            async with asyncio.TaskGroup() as group:
                for kubelet in kubelets:
                    group.create_task(kubelet.run(), name=f"kubelet {kubelet.config.name}")
        finally:
            log.info("kubelet stopping nodes=%d", len(kubelets))
    finally:
        for client in clients:
            await client.aclose()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_until_signalled(lambda stopping: run(args, stopping), verbosity=args.v)


if __name__ == "__main__":
    sys.exit(main())
