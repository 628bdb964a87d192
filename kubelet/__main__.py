"""`python -m kubelet`: the node agent.

    python -m kubelet --kubeconfig=kubeconfig --hostname-override=node-1 \\
        --container-runtime-endpoint=fake

A `Kubelet` is a `NodeStatusManager` (register, Lease heartbeat, node status) plus
a `PodSyncer` fed by an informer on this node's pods. With
`--container-runtime-endpoint=fake` the runtime is `FakeRuntime`: a *hollow node*
(the kubemark idea) that registers, heartbeats and reports its pods Running and
Ready without running anything. `--hollow-nodes=N` runs N such kubelets in one
process, named `<hostname-override>-0` ... `-<N-1>`, each with its own client,
watch and Lease, for tests and benchmarks.

Flags are the kubelet's own (`--node-ip`, `--node-labels`, `--register-with-taints`,
`--max-pods`, `--kube-reserved`, `--system-reserved`, `--pod-cidr`,
`--node-status-update-frequency`); `--node-lease-duration-seconds` and
`--node-status-report-frequency` are KubeletConfiguration fields; `--node-capacity`
and `--hollow-nodes` are tinykube's (kubemark sets capacity the same way).

Kubernetes counterpart: cmd/kubelet/app/server.go, cmd/kubemark/hollow-node.go,
pkg/kubemark/hollow_kubelet.go
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import sys
import zlib

from kubelet.node_status import NodeConfig, NodeStatusManager, machine_capacity, subtract_reserved
from kubelet.pod_sync import PODS, PodSyncer
from kubelet.runtime import RuntimeService
from kubelet.runtime.fake import FakeRuntime
from tinykube.client import ClientConfig, RESTClient, SharedInformer, load_kubeconfig
from tinykube.client.clock import REAL_CLOCK, Clock

log = logging.getLogger("kubelet")


class Kubelet:
    """One node: registration and heartbeats, plus the sync of its pods."""

    def __init__(self, client: RESTClient, runtime: RuntimeService, config: NodeConfig,
                 clock: Clock = REAL_CLOCK) -> None:
        self.client, self.runtime, self.config = client, runtime, config
        self.node_status = NodeStatusManager(client, runtime, config, clock=clock)
        self.pod_syncer = PodSyncer(client, runtime, config.name, host_ip=lambda: config.node_ip,
                                    clock=clock)
        self.pod_informer = SharedInformer(client, PODS, field_selector=f"spec.nodeName={config.name}",
                                           indexers={})
        syncer = self.pod_syncer
        self.pod_informer.add_event_handler(syncer.on_add, syncer.on_update, syncer.on_delete)

    async def run(self) -> None:
        await self.node_status.register_node()
        self.pod_informer.start()
        try:
            await self.node_status.run()
        finally:
            await self.pod_informer.stop()
            await self.pod_syncer.stop()


def parse_key_values(text: str) -> dict[str, str]:
    """"a=1,b=2" → {"a": "1", "b": "2"} (--node-labels, --kube-reserved, --node-capacity)."""
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    if any(len(p) != 2 for p in pairs):
        raise argparse.ArgumentTypeError(f"expected key=value[,key=value]: {text!r}")
    return {k.strip(): v.strip() for k, v in pairs}


def parse_taints(text: str) -> list[dict[str, str]]:
    """"key=value:Effect,key:Effect" → taints (--register-with-taints)."""
    taints = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        key_value, _, effect = item.rpartition(":")
        if effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute") or not key_value:
            raise argparse.ArgumentTypeError(f"invalid taint {item!r}: want key[=value]:Effect")
        key, _, value = key_value.partition("=")
        taints.append({"key": key, **({"value": value} if value else {}), "effect": effect})
    return taints


def parse_duration(text: str) -> float:
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    for unit in ("ms", "s", "m", "h"):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * units[unit]
    return float(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kubelet", description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", default=None)
    parser.add_argument("--hostname-override", default=None)
    parser.add_argument("--node-ip", default="127.0.0.1")
    parser.add_argument("--root-dir", default="/var/lib/kubelet")
    parser.add_argument("--container-runtime-endpoint", default="unix:///var/run/docker.sock")
    parser.add_argument("--node-labels", type=parse_key_values, default={})
    parser.add_argument("--register-with-taints", type=parse_taints, default=[])
    parser.add_argument("--max-pods", type=int, default=110)
    parser.add_argument("--kube-reserved", type=parse_key_values, default={})
    parser.add_argument("--system-reserved", type=parse_key_values, default={})
    parser.add_argument("--pod-cidr", default="")
    parser.add_argument("--node-status-update-frequency", type=parse_duration, default=10.0)
    parser.add_argument("--node-status-report-frequency", type=parse_duration, default=300.0)
    parser.add_argument("--node-lease-duration-seconds", type=int, default=40)
    parser.add_argument("--node-capacity", type=parse_key_values, default={},
                        help="tinykube: capacity overrides, e.g. cpu=4,memory=8Gi,pods=110")
    parser.add_argument("--hollow-nodes", type=int, default=1,
                        help="tinykube: run N hollow kubelets (fake runtime) in this process")
    parser.add_argument("-v", "--v", type=int, default=2)
    return parser


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
                       status_report_frequency_seconds=args.node_status_report_frequency)
            for name in names]


def client_config(args: argparse.Namespace) -> ClientConfig:
    config = load_kubeconfig(args.kubeconfig)
    config.user_agent = "tinykube-kubelet"
    return config


async def run(args: argparse.Namespace) -> int:
    if args.container_runtime_endpoint != "fake":
        log.error("only the fake runtime is available yet endpoint=%s", args.container_runtime_endpoint)
        return 2
    config = client_config(args)
    configs = node_configs(args)
    clients = [RESTClient(config) for _ in configs]
    kubelets = []
    for index, (client, node) in enumerate(zip(clients, configs, strict=True)):
        cidr = args.pod_cidr if len(configs) == 1 and args.pod_cidr else (
            f"10.244.{index % 256}.0/24" if len(configs) > 1 else fake_pod_cidr(node.name))
        kubelets.append(Kubelet(client, FakeRuntime(cidr), node))
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: main.cancel() if main else None)
    log.info("starting kubelet nodes=%d runtime=fake", len(kubelets))
    try:
        async with asyncio.TaskGroup() as group:
            for kubelet in kubelets:
                group.create_task(kubelet.run(), name=f"kubelet {kubelet.config.name}")
    except asyncio.CancelledError:
        log.info("kubelet stopping nodes=%d", len(kubelets))
    finally:
        for client in clients:
            await client.aclose()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.v >= 4 else logging.INFO if args.v >= 2 else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
