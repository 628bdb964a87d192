"""`tinykube autoscale deployment web --min=1 --max=5 --cpu=50%`: a HorizontalPodAutoscaler.

As current kubectl: an autoscaling/v2 HPA named after the target (or `--name`) for a
Deployment, ReplicaSet or StatefulSet; `--cpu` / `--memory` take a percentage
(Utilization of the pods' requests) or a quantity (AverageValue; a bare cpu number
is millicores); the deprecated `--cpu-percent=N` still works, with kubectl's
deprecation warning. No metric flag leaves the server's default (cpu at 80 %).

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/autoscale/autoscale.go
"""

from __future__ import annotations

import sys
from typing import Any

from tinykube.cli.context import CLIContext, CLIError
from tinykube.cli.generators import add_target_arguments, output_printer, report, target_of

Obj = dict[str, Any]
SCALABLE_KINDS = ("Deployment", "ReplicaSet", "StatefulSet")
CPU_PERCENT_DEPRECATION = ("Flag --cpu-percent has been deprecated, Use --cpu with percentage or resource "
                           "quantity format (e.g., '70%' for utilization or '500m' for milliCPU).")


def metric(resource: str, value: str) -> Obj:
    """`50%` → Utilization 50; `500m`/`1Gi` → AverageValue; a bare cpu number is millicores."""
    if value.endswith("%"):
        try:
            percent = int(value[:-1])
        except ValueError:
            raise CLIError(f"invalid --{resource} value {value!r}: want a percentage like 70%") from None
        target: Obj = {"type": "Utilization", "averageUtilization": percent}
    else:
        quantity = f"{value}m" if resource == "cpu" and value.isdigit() else value
        target = {"type": "AverageValue", "averageValue": quantity}
    return {"type": "Resource", "resource": {"name": resource, "target": target}}


def build_hpa(args: Any, info_api_version: str, kind: str, name: str, namespace: str) -> Obj:
    if args.max < 1:
        raise CLIError(f"--max=MAXPODS is required and must be at least 1, max: {args.max}")
    if args.max < args.min:
        raise CLIError(f"--max=MAXPODS must be larger or equal to --min=MINPODS, max: {args.max}, min: {args.min}")
    cpu = args.cpu
    if args.cpu_percent is not None and args.cpu_percent >= 0:
        print(CPU_PERCENT_DEPRECATION, file=sys.stderr)
        cpu = cpu or f"{args.cpu_percent}%"
    spec: Obj = {"scaleTargetRef": {"apiVersion": info_api_version, "kind": kind, "name": name},
                 "maxReplicas": args.max}
    if args.min >= 0:
        spec["minReplicas"] = args.min
    metrics = [metric(r, v) for r, v in (("cpu", cpu), ("memory", args.memory)) if v]
    if metrics:
        spec["metrics"] = metrics
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": args.hpa_name or name, "namespace": namespace}, "spec": spec}


async def run(ctx: CLIContext) -> int:
    args = ctx.args
    kind_arg, name = target_of(args, "tinykube autoscale TYPE NAME --max=MAXPODS")
    info = ctx.resource(kind_arg)
    if info.kind not in SCALABLE_KINDS:
        raise CLIError(f"cannot autoscale a {info.kind}: tinykube autoscales Deployments, ReplicaSets and "
                       "StatefulSets")
    printer = output_printer(args.output)
    hpas = ctx.resource("horizontalpodautoscalers.autoscaling")
    async with ctx.client() as client:
        await client.get(info, name, ctx.namespace)  # the target must exist, as kubectl checks
        hpa = build_hpa(args, info.api_version, info.kind, name, ctx.namespace)
        if args.dry_run != "client":
            hpa = await client.create(hpas, hpa, ctx.namespace, field_manager="kubectl-autoscale")
    report(ctx, printer, hpas, hpa, "autoscaled", args.dry_run)
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("autoscale", help="autoscale a deployment, replica set or stateful set",
                                   description="Create a HorizontalPodAutoscaler for an existing workload.")
    add_target_arguments(parser)
    parser.add_argument("--min", type=int, default=-1, help="the lower limit for the number of pods")
    parser.add_argument("--max", type=int, default=-1, help="the upper limit for the number of pods (required)")
    parser.add_argument("--cpu", help="target cpu: a percentage of requests (70%%) or a quantity per pod (500m)")
    parser.add_argument("--memory", help="target memory: a percentage of requests (70%%) or a quantity (500Mi)")
    parser.add_argument("--cpu-percent", type=int, help="deprecated: use --cpu=N%%")
    parser.add_argument("--name", dest="hpa_name", help="the autoscaler's name (default: the target's name)")
    parser.add_argument("--dry-run", choices=("none", "client", "server"), nargs="?", const="client")
    parser.add_argument("-o", "--output", help="print the autoscaler: yaml|json|name")
    parser.set_defaults(func=run)
