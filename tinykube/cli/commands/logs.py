"""`tinykube logs [-f] [-c CONTAINER] [--previous] [--tail N] [--timestamps] [--since 5m]
POD | TYPE/NAME | -l SELECTOR`.

Reads `GET pods/{name}/log` (the API server relays the kubelet's bytes) and copies
them to stdout as they arrive; with `-f` the stream lasts until the container
stops or the user interrupts. `TYPE/NAME` (deploy/web, rs/x, job/y) picks the first
pod its selector matches, as kubectl does; `-l` prints every matching pod's log
(concurrently with `-f`, `--prefix` adds `[pod/NAME/CONTAINER]`).

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/logs/logs.go,
staging/src/k8s.io/kubectl/pkg/polymorphichelpers/logsforobject.go
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from tinykube.api.resources import INDEX, PODS
from tinykube.api.selectors import label_selector_from_dict
from tinykube.cli.context import CLIContext, CLIError
from tinykube.client import RESTClient
from tinykube.component import duration



def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("logs", help="print the logs of a container in a pod")
    parser.add_argument("target", nargs="?", metavar="POD | TYPE/NAME")
    parser.add_argument("-f", "--follow", action="store_true", help="stream the logs")
    parser.add_argument("-c", "--container", help="the container (default: the only one)")
    parser.add_argument("-p", "--previous", action="store_true",
                        help="the previous, terminated instance of the container")
    parser.add_argument("--tail", type=int, default=-1, help="only the last N lines")
    parser.add_argument("--timestamps", action="store_true", help="prefix each line with its time")
    parser.add_argument("--since", type=duration, default=0.0,
                        help="only logs newer than this, e.g. 10s, 5m, 1h (0: all)")
    parser.add_argument("-l", "--selector", help="label selector: logs of every matching pod")
    parser.add_argument("--prefix", action="store_true", help="prefix lines with the pod name")
    parser.set_defaults(func=run)


async def pods_for(ctx: CLIContext, client: RESTClient, target: str | None,
                   selector: str | None) -> list[dict[str, Any]]:
    """The pods a `logs`/`exec`/`port-forward` target means."""
    if selector:
        items, _ = await client.list(PODS, ctx.namespace, label_selector=selector)
        return items
    if not target:
        raise CLIError("expected POD or TYPE/NAME, or -l SELECTOR")
    kind, _, name = target.rpartition("/")
    if not kind or INDEX.by_name(kind) is PODS:
        return [await client.get(PODS, name, ctx.namespace)]
    info = ctx.resource(kind)
    obj = await client.get(info, name, ctx.namespace)
    spec = obj.get("spec") or {}
    match = spec.get("selector") if info.plural != "services" else {"matchLabels": spec.get("selector")}
    if not match:
        raise CLIError(f"cannot find the pods of {info.plural}/{name}: it has no selector")
    selector_obj = label_selector_from_dict(match if "matchLabels" in match or "matchExpressions"
                                            in match else {"matchLabels": match})
    items, _ = await client.list(PODS, ctx.namespace)
    pods = [p for p in items
            if selector_obj.matches(p["metadata"].get("labels") or {})]
    if not pods:
        raise CLIError(f"no pods found for {info.plural}/{name}")
    pods.sort(key=lambda p: ((p.get("status") or {}).get("phase") != "Running",
                             p["metadata"].get("creationTimestamp", "")))
    return pods[:1]


async def stream_log(client: RESTClient, namespace: str, pod: str, params: dict[str, str],
                     out: Any, prefix: str = "") -> None:
    pending = b""
    async for chunk in client.stream(f"/api/v1/namespaces/{namespace}/pods/{pod}/log", params):
        if not prefix:
            out.write(chunk)
            out.flush()
            continue
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            out.write(prefix.encode() + line + b"\n")
        out.flush()
    if pending:
        out.write(prefix.encode() + pending)
        out.flush()


async def run(ctx: CLIContext) -> int:
    args = ctx.args
    params = {"container": args.container, "follow": "true" if args.follow else None,
              "previous": "true" if args.previous else None,
              "timestamps": "true" if args.timestamps else None,
              "tailLines": str(args.tail) if args.tail >= 0 else None,
              "sinceSeconds": str(max(1, int(args.since))) if args.since else None}
    query = {k: v for k, v in params.items() if v is not None}
    out = getattr(ctx.out, "buffer", None) or sys.stdout.buffer
    async with ctx.client() as client:
        pods = await pods_for(ctx, client, args.target, args.selector)
        if not pods:
            print(f"No resources found in {ctx.namespace} namespace.", file=ctx.err)
            return 0
        jobs = []
        for pod in pods:
            name = pod["metadata"]["name"]
            prefix = f"[pod/{name}/{args.container or pod['spec']['containers'][0]['name']}] " \
                if args.prefix else ""
            jobs.append(stream_log(client, ctx.namespace, name, query, out, prefix))
        if args.follow:
            await asyncio.gather(*jobs)
        else:
            for job in jobs:
                await job
    return 0
