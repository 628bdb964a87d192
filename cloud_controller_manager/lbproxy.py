"""`python -m cloud_controller_manager.lbproxy`: the local cloud's load balancer.

    python -m cloud_controller_manager.lbproxy --listen 80=172.18.0.5:31080,172.18.0.6:31080

For each `--listen PORT=BACKEND,...` it accepts TCP connections on PORT and splices
each one to the next backend in turn (round robin over the nodes' NodePorts); a
backend that refuses is skipped for that connection. What happens after a node is
kube-proxy's business, as with a cloud load balancer.

Kubernetes counterpart: what a cloud's L4 load balancer does (sigs.k8s.io/cloud-provider-kind
runs an Envoy per load balancer)
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import sys

from tinykube.component import component_parser, run_until_signalled

log = logging.getLogger("lbproxy")


def parse_listen(text: str) -> tuple[int, list[tuple[str, int]]]:
    port, _, targets = text.partition("=")
    backends = []
    for target in filter(None, targets.split(",")):
        host, _, backend_port = target.rpartition(":")
        backends.append((host, int(backend_port)))
    if not port.isdigit() or not backends:
        raise argparse.ArgumentTypeError(f"want PORT=HOST:PORT[,HOST:PORT...], got {text!r}")
    return int(port), backends


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()


class Balancer:
    def __init__(self, backends: list[tuple[str, int]]) -> None:
        self.backends = backends
        self._next = itertools.cycle(range(len(backends)))

    async def handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        start = next(self._next)
        for offset in range(len(self.backends)):
            host, port = self.backends[(start + offset) % len(self.backends)]
            try:
                backend_reader, backend_writer = await asyncio.wait_for(asyncio.open_connection(host, port), 3)
            except (OSError, TimeoutError):
                continue
            await asyncio.gather(pipe(client_reader, backend_writer), pipe(backend_reader, client_writer))
            backend_writer.close()
            client_writer.close()
            return
        client_writer.close()  # no backend answered


async def run(listens: list[tuple[int, list[tuple[str, int]]]], stopping: asyncio.Event) -> int:
    servers = [await asyncio.start_server(Balancer(backends).handle, "0.0.0.0", port) for port, backends in listens]
    for port, backends in listens:
        log.info("listening port=%d backends=%s", port, ",".join(f"{h}:{p}" for h, p in backends))
    try:
        await stopping.wait()
    finally:
        for server in servers:
            server.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = component_parser("python -m cloud_controller_manager.lbproxy", __doc__)
    parser.add_argument("--listen", type=parse_listen, action="append", required=True)
    args = parser.parse_args(argv)
    return run_until_signalled(lambda stopping: run(args.listen, stopping), verbosity=args.v)


if __name__ == "__main__":
    sys.exit(main())
