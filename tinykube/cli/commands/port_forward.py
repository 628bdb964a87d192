"""`tinykube port-forward pod/NAME | svc/NAME | TYPE/NAME [LOCAL:]REMOTE... [--address ADDR]`.

Listens on LOCAL (REMOTE when only one port is given; `:REMOTE` or `0:REMOTE`
picks a free port) and, for every accepted connection, opens
`pods/{name}/portforward?ports=REMOTE` as a WebSocket with the
`v4.channel.k8s.io` subprotocol (the form the Kubernetes Python client speaks):
channel 0 carries data, channel 1 errors, and the server's first message on each
channel is the port as two little-endian bytes. A `[0]` message with no data
tells the server our side is done (half-close).

`svc/NAME` forwards to a running pod behind the Service (found through its
Endpoints), translating the service port to the pod's targetPort, named ports
included, as kubectl does.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/portforward/portforward.go,
staging/src/k8s.io/client-go/tools/portforward/portforward.go
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import Any

from tinykube.api.resources import ENDPOINTS, INDEX, PODS, SERVICES
from tinykube.cli.commands.exec import open_stream
from tinykube.cli.commands.logs import pods_for
from tinykube.cli.context import CLIContext, CLIError
from tinykube.client import NotFound, RESTClient, TransportError
from tinykube.client.websocket import stop_task



def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("port-forward", help="forward local ports to a pod")
    parser.add_argument("target", metavar="TYPE/NAME")
    parser.add_argument("ports", nargs="+", metavar="[LOCAL:]REMOTE")
    parser.add_argument("--address", default="localhost",
                        help="local addresses to listen on (comma-separated)")
    parser.set_defaults(func=run)


def parse_ports(specs: list[str]) -> list[tuple[int, str]]:
    """[(local port, remote port or name)]; local 0 means any free port."""
    pairs = []
    for spec in specs:
        local, _, remote = spec.rpartition(":") if ":" in spec else (spec, "", spec)
        try:
            pairs.append((int(local or 0), remote))
        except ValueError:
            raise CLIError(f"invalid port {spec!r}: want LOCAL:REMOTE") from None
    return pairs


def container_port(pod: dict[str, Any], port: int | str) -> int:
    """A port number, or a named port of one of the pod's containers."""
    if isinstance(port, int) or str(port).isdigit():
        return int(port)
    for container in (pod.get("spec") or {}).get("containers") or []:
        for entry in container.get("ports") or []:
            if entry.get("name") == port:
                return int(entry["containerPort"])
    raise CLIError(f"Pod '{pod['metadata']['name']}' does not have a named port '{port}'")


async def service_target(ctx: CLIContext, client: RESTClient, name: str
                         ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Service and one running pod behind it (from its Endpoints)."""
    service = await client.get(SERVICES, name, ctx.namespace)
    try:
        endpoints = await client.get(ENDPOINTS, name, ctx.namespace)
    except NotFound:
        endpoints = {}
    for subset in endpoints.get("subsets") or []:
        for address in subset.get("addresses") or []:
            ref = address.get("targetRef") or {}
            if ref.get("kind") == "Pod":
                return service, await client.get(PODS, ref["name"], ctx.namespace)
    raise CLIError(f"no running pod behind service/{name}: its Endpoints have no ready address")


def service_port_to_pod(service: dict[str, Any], pod: dict[str, Any], port: str) -> int:
    for entry in (service.get("spec") or {}).get("ports") or []:
        if str(entry.get("port")) == port or entry.get("name") == port:
            return container_port(pod, entry.get("targetPort", entry["port"]))
    raise CLIError(f"Service {service['metadata']['name']} does not have a service port {port}")


async def run(ctx: CLIContext) -> int:
    args = ctx.args
    pairs = parse_ports(args.ports)
    async with ctx.client() as client:
        kind, _, name = args.target.rpartition("/")
        if kind and INDEX.by_name(kind) is SERVICES:
            service, pod = await service_target(ctx, client, name)
            forwards = [(local, service_port_to_pod(service, pod, remote)) for local, remote in pairs]
        else:
            pod = (await pods_for(ctx, client, args.target, None))[0]
            forwards = [(local, container_port(pod, remote)) for local, remote in pairs]
    phase = (pod.get("status") or {}).get("phase")
    if phase != "Running":
        raise CLIError(f"unable to forward port because pod is not running. Current status={phase}")
    pod_name = pod["metadata"]["name"]
    servers = []
    for local, remote in forwards:
        for address in args.address.split(","):
            host = "127.0.0.1" if address == "localhost" else address
            server = await asyncio.start_server(
                lambda r, w, remote=remote: _forward(ctx, pod_name, remote, r, w), host, local)
            bound = server.sockets[0].getsockname()[1]
            print(f"Forwarding from {host}:{bound} -> {remote}", file=ctx.out, flush=True)
            servers.append(server)
    try:
        await asyncio.gather(*(s.serve_forever() for s in servers))
    finally:
        for server in servers:
            server.close()
    return 0


async def _forward(ctx: CLIContext, pod: str, port: int, reader: asyncio.StreamReader,
                   writer: asyncio.StreamWriter) -> None:
    local = writer.get_extra_info("sockname")[1]
    print(f"Handling connection for {local}", file=ctx.out, flush=True)
    try:
        ws = await open_stream(ctx.config, f"/api/v1/namespaces/{ctx.namespace}/pods/{pod}/portforward",
                               [("ports", str(port))], "v4.channel.k8s.io")
    except (CLIError, TransportError) as err:
        print(f"error: {err}", file=ctx.err, flush=True)
        writer.close()
        return

    async def local_to_pod() -> None:
        while data := await reader.read(65536):
            await ws.send(bytes([0]) + data)
        await ws.send(bytes([0]))  # half-close

    upstream = asyncio.create_task(local_to_pod())
    seen_prefix = {0: False, 1: False}
    try:
        while (message := await ws.receive()) is not None:
            channel, payload = message[0], message[1:]
            if channel in seen_prefix and not seen_prefix[channel]:
                seen_prefix[channel], payload = True, payload[2:]  # the port announcement
            if channel == 0 and payload:
                writer.write(payload)
                await writer.drain()
            elif channel == 1 and payload:
                print(f"E {payload.decode(errors='replace')}", file=ctx.err, flush=True)
    except ConnectionError:
        pass
    finally:
        await stop_task(upstream)
        await ws.close()
        with contextlib.suppress(ConnectionError):
            writer.close()
