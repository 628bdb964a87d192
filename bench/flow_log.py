"""Flow log overhead: API server creates/s and CPU per create, flow log off and on.

Starts one etcd and two API servers on it (real processes, plain HTTP ports): one
with `--flow-log-size=0`, one with the default ring. Each gets W watch streams on
the namespace it is written into (so every create is also delivered W times, and
the "on" server records those deliveries), then N ConfigMap creates from C
keep-alive clients. The two servers are measured alternately, round after round,
so a busy machine weighs on both alike; the medians of the rounds are printed
with the load average. A measurement, not a test: it exits 0 either way.

    python bench/flow_log.py --creates 2000 --clients 16 --watchers 10 --rounds 3

Kubernetes counterpart: kubernetes/perf-tests clusterloader2 (API call latency and
throughput with a feature on and off)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import cpu_seconds  # noqa: E402
from bench.apiserver import api_creates_per_second, stop_and_remove  # noqa: E402
from tinykube.testing.processes import APIServerProcess, start_apiserver, start_etcd  # noqa: E402

MODES = {"off": ("--flow-log-size=0",), "on": ()}


async def drain_watch(http: httpx.AsyncClient, path: str, opened: asyncio.Event) -> None:
    async with http.stream("GET", path, params={"watch": "true"}) as response:
        opened.set()
        async for _ in response.aiter_raw():
            pass


async def measure(args: argparse.Namespace, servers: dict[str, APIServerProcess]) -> None:
    watch_clients: list[httpx.AsyncClient] = []
    watches: list[asyncio.Task[None]] = []
    results: dict[str, list[tuple[float, float]]] = {mode: [] for mode in servers}
    try:
        for mode, api in servers.items():
            async with httpx.AsyncClient(base_url=api.http_url) as http:
                (await http.post("/api/v1/namespaces", json={"metadata": {"name": f"flow-{mode}"}})
                 ).raise_for_status()
            for _ in range(args.watchers):
                client = httpx.AsyncClient(base_url=api.http_url, timeout=None)
                watch_clients.append(client)
                opened = asyncio.Event()
                watches.append(asyncio.create_task(drain_watch(
                    client, f"/api/v1/namespaces/flow-{mode}/configmaps", opened)))
                await opened.wait()
        for round_number in range(args.rounds):
            for mode, api in servers.items():
                pid = api.proc.process.pid
                cpu_before = cpu_seconds(pid)
                rate = await api_creates_per_second(api.http_url, args.creates, args.clients,
                                                    f"flow-{mode}", f"r{round_number}-")
                cpu_ms = (cpu_seconds(pid) - cpu_before) * 1000 / (args.creates + args.clients)
                results[mode].append((rate, cpu_ms))
                print(f"round {round_number + 1} flow log {mode:>3}: {rate:7.0f} creates/s  "
                      f"{cpu_ms:.3f} ms CPU per create", flush=True)
    finally:
        for task in watches:
            task.cancel()
        await asyncio.gather(*watches, return_exceptions=True)
        for client in watch_clients:
            await client.aclose()
    print(f"\nmedians of {args.rounds} rounds ({args.creates} creates, {args.clients} clients, "
          f"{args.watchers} watchers; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())})")
    for mode, rows in results.items():
        print(f"  flow log {mode:>3}: {statistics.median(r for r, _ in rows):7.0f} creates/s  "
              f"{statistics.median(c for _, c in rows):.3f} ms CPU per create")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creates", type=int, default=2000, help="creates per server per round")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--watchers", type=int, default=10, help="watch streams per server")
    parser.add_argument("--rounds", type=int, default=3)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    etcd = start_etcd()
    servers: dict[str, APIServerProcess] = {}
    try:
        for mode, flags in MODES.items():
            servers[mode] = start_apiserver(etcd.url, flags=flags)
        asyncio.run(measure(args, servers))
    finally:
        stop_and_remove(list(servers.values()), etcd)


if __name__ == "__main__":
    main()
