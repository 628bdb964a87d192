"""`tinykube top nodes|pods [NAME] [-l SELECTOR] [-A] [--containers] [--sort-by cpu|memory]`.

Reads metrics.k8s.io/v1beta1 (NodeMetrics, PodMetrics), which the API server
builds from the kubelets' stats summaries, and prints kubectl's columns:

    top nodes: NAME  CPU(cores)  CPU(%)  MEMORY(bytes)  MEMORY(%)
    top pods:  [NAMESPACE]  NAME  CPU(cores)  MEMORY(bytes)   (--containers: POD NAME ...)

CPU is shown in millicores, memory in MiB; the percentages are of the node's
allocatable, read from the Node objects.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/top/{top_node,top_pod}.go,
staging/src/k8s.io/kubectl/pkg/metricsutil/metrics_printer.go
"""

from __future__ import annotations

import argparse
from typing import Any

from tinykube.api.quantity import parse_quantity
from tinykube.api.resources import NODES
from tinykube.cli.context import CLIContext, CLIError
from tinykube.cli.printers import render_rows
from tinykube.client import NotFound

METRICS = "/apis/metrics.k8s.io/v1beta1"
def cpu_millis(text: str) -> int:
    return int(parse_quantity(text) * 1000)


def memory_mib(text: str) -> int:
    return int(parse_quantity(text) / (1 << 20))


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("top", help="show CPU and memory use of nodes or pods")
    parser.add_argument("kind", choices=["node", "nodes", "no", "pod", "pods", "po"])
    parser.add_argument("name", nargs="?")
    parser.add_argument("-l", "--selector", help="label selector")
    parser.add_argument("-A", "--all-namespaces", action="store_true")
    parser.add_argument("--containers", action="store_true", help="one line per container")
    parser.add_argument("--sort-by", choices=["cpu", "memory"], help="sort by usage, largest first")
    parser.add_argument("--no-headers", action="store_true")
    parser.set_defaults(func=run)


async def _get(ctx: CLIContext, path: str, selector: str | None) -> dict[str, Any]:
    async with ctx.client() as client:
        try:
            return await client.request("GET", path, params={"labelSelector": selector})  # type: ignore[no-any-return]
        except NotFound:
            if path.rstrip("/").endswith(("/nodes", "/pods")):
                raise CLIError("Metrics API not available") from None
            raise


async def run(ctx: CLIContext) -> int:
    args = ctx.args
    if args.kind in ("node", "nodes", "no"):
        return await top_nodes(ctx)
    return await top_pods(ctx)


def _sorted(items: list[Any], sort_by: str | None, usage: Any) -> list[Any]:
    if sort_by == "cpu":
        return sorted(items, key=lambda i: -cpu_millis(usage(i)["cpu"]))
    if sort_by == "memory":
        return sorted(items, key=lambda i: -memory_mib(usage(i)["memory"]))
    return sorted(items, key=lambda i: (i["metadata"].get("namespace", ""), i["metadata"]["name"]))


async def top_nodes(ctx: CLIContext) -> int:
    args = ctx.args
    path = f"{METRICS}/nodes" + (f"/{args.name}" if args.name else "")
    body = await _get(ctx, path, args.selector)
    items = body.get("items", [body]) if "items" in body else [body]
    async with ctx.client() as client:
        nodes, _ = await client.list(NODES, label_selector=args.selector)
    allocatable = {n["metadata"]["name"]: (n.get("status") or {}).get("allocatable") or {} for n in nodes}
    rows = [] if args.no_headers else [["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]]
    for item in _sorted(items, args.sort_by, lambda i: i["usage"]):
        name, usage = item["metadata"]["name"], item["usage"]
        cpu, memory = cpu_millis(usage["cpu"]), memory_mib(usage["memory"])
        alloc = allocatable.get(name, {})
        cpu_total = cpu_millis(alloc.get("cpu", "0"))
        memory_total = memory_mib(alloc.get("memory", "0"))
        rows.append([name, f"{cpu}m", f"{cpu * 100 // cpu_total}%" if cpu_total else "<unknown>",
                     f"{memory}Mi", f"{memory * 100 // memory_total}%" if memory_total else "<unknown>"])
    print(render_rows(rows), end="", file=ctx.out)
    return 0


async def top_pods(ctx: CLIContext) -> int:
    args = ctx.args
    if args.all_namespaces:
        path = f"{METRICS}/pods"
    else:
        path = f"{METRICS}/namespaces/{ctx.namespace}/pods" + (f"/{args.name}" if args.name else "")
    body = await _get(ctx, path, args.selector)
    items = body["items"] if "items" in body else [body]
    if not items:
        print(f"No resources found in {ctx.namespace} namespace.", file=ctx.err)
        return 0

    def total(item: dict[str, Any]) -> dict[str, str]:
        containers = item.get("containers") or []
        return {"cpu": f"{sum(cpu_millis(c['usage']['cpu']) for c in containers)}m",
                "memory": f"{sum(memory_mib(c['usage']['memory']) for c in containers)}Mi"}

    namespace_column = ["NAMESPACE"] if args.all_namespaces else []
    header = namespace_column + (["POD", "NAME"] if args.containers else ["NAME"]) + \
        ["CPU(cores)", "MEMORY(bytes)"]
    rows = [] if args.no_headers else [header]
    for item in _sorted(items, args.sort_by, total):
        meta = item["metadata"]
        prefix = [meta.get("namespace", "")] if args.all_namespaces else []
        if args.containers:
            for container in item.get("containers") or []:
                usage = container["usage"]
                rows.append(prefix + [meta["name"], container["name"], f"{cpu_millis(usage['cpu'])}m",
                                      f"{memory_mib(usage['memory'])}Mi"])
        else:
            usage = total(item)
            rows.append(prefix + [meta["name"], usage["cpu"], usage["memory"]])
    print(render_rows(rows), end="", file=ctx.out)
    return 0
