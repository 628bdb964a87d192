"""`tinykube expose deployment NAME --port=80`: a Service in front of existing pods.

The selector is taken from the exposed object (a Deployment's or ReplicaSet's
`spec.selector.matchLabels`, a Service's selector, a Pod's labels); without
`--port`, the first container port of the pod template is used.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/expose/expose.go
"""

from __future__ import annotations

import argparse
from typing import Any

from tinykube.cli.context import CLIContext, CLIError
from tinykube.cli.generators import add_target_arguments, output_printer, report, target_of

Obj = dict[str, Any]


def selector_of(kind: str, obj: Obj) -> dict[str, str]:
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return dict((obj.get("metadata") or {}).get("labels") or {})
    if kind == "Service":
        return dict(spec.get("selector") or {})
    selector = spec.get("selector") or {}
    if selector.get("matchExpressions"):
        raise CLIError(f"couldn't retrieve selectors via --selector flag or introspection: "
                       f"the {kind} uses matchExpressions, which a Service cannot express")
    return dict(selector.get("matchLabels") or {})


def first_port(kind: str, obj: Obj) -> tuple[int, Any] | None:
    spec = obj.get("spec") or {}
    if kind == "Service":
        ports = spec.get("ports") or []
        return (int(ports[0]["port"]), ports[0].get("targetPort")) if ports else None
    pod_spec = spec if kind == "Pod" else ((spec.get("template") or {}).get("spec") or {})
    for container in pod_spec.get("containers") or []:
        for port in container.get("ports") or []:
            return int(port["containerPort"]), int(port["containerPort"])
    return None


def build_service(args: argparse.Namespace, kind: str, obj: Obj) -> Obj:
    selector = dict(pair.split("=", 1) for pair in args.selector.split(",")) if args.selector \
        else selector_of(kind, obj)
    found = first_port(kind, obj)
    if args.port is None and found is None:
        raise CLIError(f"couldn't find port via --port flag or introspection")
    port = args.port if args.port is not None else found[0]  # type: ignore[index]
    target: Any = args.target_port or (found[1] if args.port is None and found else port)
    if isinstance(target, str) and target.isdigit():
        target = int(target)
    entry: Obj = {"port": port, "protocol": args.protocol, "targetPort": target}
    metadata = obj.get("metadata") or {}
    labels = dict(metadata.get("labels") or {}) or None
    service: Obj = {"apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": args.service_name or metadata.get("name")},
                    "spec": {"ports": [entry], "selector": selector}}
    if labels:
        service["metadata"]["labels"] = labels
    if args.type:
        service["spec"]["type"] = args.type
    return service


async def run(ctx: CLIContext) -> int:
    args = ctx.args
    kind_arg, name = target_of(args, "tinykube expose TYPE NAME")
    info = ctx.resource(kind_arg)
    if info.kind not in ("Deployment", "ReplicaSet", "Service", "Pod", "StatefulSet"):
        raise CLIError(f"cannot expose a {info.kind}")
    printer = output_printer(args.output)
    services = ctx.resource("services")
    async with ctx.client() as client:
        obj = await client.get(info, name, ctx.namespace)
        service = build_service(args, info.kind, obj)
        service["metadata"]["namespace"] = ctx.namespace
        if args.dry_run != "client":
            service = await client.create(services, service, ctx.namespace,
                                          field_manager="kubectl-expose")
    report(ctx, printer, services, service, "exposed", args.dry_run)
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("expose", help="expose a deployment, pod or service as a Service",
                                   description="Create a Service selecting the pods of an object.")
    add_target_arguments(parser)
    parser.add_argument("--port", type=int, help="the Service's port")
    parser.add_argument("--target-port", help="the pods' port (number or name)")
    parser.add_argument("--protocol", default="TCP", choices=("TCP", "UDP", "SCTP"))
    parser.add_argument("--type", choices=("ClusterIP", "NodePort", "LoadBalancer"))
    parser.add_argument("--name", dest="service_name", help="the Service's name (default: NAME)")
    parser.add_argument("--selector", help="k=v[,k=v] instead of the object's selector")
    parser.add_argument("--dry-run", choices=("none", "client", "server"), nargs="?", const="client")
    parser.add_argument("-o", "--output", help="print the Service: yaml|json|name")
    parser.set_defaults(func=run)
