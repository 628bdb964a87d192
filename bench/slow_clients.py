"""Slow clients against the API server: a stuck watcher, and a slowloris crowd.

Starts its own etcd and API server (real processes, the plain HTTP port) with
`tinykube.testing.processes`, then measures in one run:

1. **stuck watcher**: the API server's VmRSS, then `--events` updates of ConfigMaps
   of about `--object-kib` KiB each (put straight into etcd, so they flow at etcd's
   pace and the API server does only the watch side), first with no watcher (the baseline: what the
   watch cache's own history costs), then again with one watcher that opened its
   stream and never reads a byte; prints the RSS growth of each phase and whether
   the server closed the stuck stream;
2. **YAML**: `/readyz` asked every 10 ms while a ConfigMap is created from about
   1 MiB of YAML; prints the slowest answer;
3. **slowloris**: `--slowloris` connections that each send half a request line and
   then nothing, held open while `/readyz` is asked 20 times; prints readyz
   latency p50 / max next to the same figure with no such connections.

A measurement, not a test: it exits 0 either way. Everything it starts is stopped
by PID.

Kubernetes counterpart: none (kube-apiserver's ReadHeaderTimeout and cacheWatcher
termination are what it exercises)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import threading
import time
from pathlib import Path

import aetcd
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tinykube.testing.processes import start_apiserver, start_etcd  # noqa: E402

NAMESPACE = "default"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def write_events(etcd_url: str, namespace: str, count: int, object_kib: int,
                       writers: int = 8) -> None:
    """`count` updates of `writers` ConfigMaps, put straight into etcd so that the
    events flow at etcd's pace; the API server sees them through its watch (also
    used by tests/integration/test_slow_clients.py)."""
    host, port = etcd_url.removeprefix("http://").split(":")
    client = aetcd.Client(host=host, port=int(port))
    await client.connect()
    payload = "x" * (object_kib * 1024)

    async def writer(name: str) -> None:
        key = f"/registry/configmaps/{namespace}/{name}".encode()
        for i in range(count // writers):
            meta = {"name": name, "namespace": namespace}
            await client.put(key, json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                                              "metadata": meta,
                                              "data": {"payload": payload, "i": str(i)}}).encode())

    try:
        await asyncio.gather(*(writer(f"slow-{w}") for w in range(writers)))
    finally:
        await client.close()


def open_stuck_watch(port: int) -> socket.socket:
    """A watch whose client never reads: its receive buffer fills and stays full."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(f"GET /api/v1/namespaces/{NAMESPACE}/configmaps?watch=true HTTP/1.1\r\n"
                 f"Host: 127.0.0.1\r\n\r\n".encode())
    return sock


def closed_by_server(sock: socket.socket) -> str:
    """Drain what the server sent: how the stream ended."""
    sock.settimeout(5)
    received = 0
    try:
        while data := sock.recv(1 << 20):
            received += len(data)
        return f"yes (EOF after {received} bytes)"
    except ConnectionResetError:
        return f"yes (reset after {received} bytes)"
    except TimeoutError:
        return f"no (still open after {received} bytes)"


def readyz_latencies(base: str, count: int = 20) -> list[float]:
    latencies = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for _ in range(count):
            started = time.perf_counter()
            http.get("/readyz").raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)
    return sorted(latencies)


def readyz_during_yaml(base: str, keys: int = 10_000) -> tuple[float, float, int]:
    """(readyz max ms, create ms, body bytes) while a ~1 MiB YAML ConfigMap is created."""
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: big-yaml", "data:"]
    lines += [f"  k{i}: {'v' * 90}" for i in range(keys)]
    body = ("\n".join(lines) + "\n").encode()
    with httpx.Client(base_url=base, timeout=120) as http:
        http.delete(f"/api/v1/namespaces/{NAMESPACE}/configmaps/big-yaml")
        done: list[float] = []

        def create() -> None:
            started = time.perf_counter()
            http.post(f"/api/v1/namespaces/{NAMESPACE}/configmaps", content=body,
                      headers={"Content-Type": "application/yaml"}).raise_for_status()
            done.append((time.perf_counter() - started) * 1000)

        worker = threading.Thread(target=create)
        worker.start()
        worst = 0.0
        with httpx.Client(base_url=base, timeout=120) as probe:
            while not done:
                started = time.perf_counter()
                probe.get("/readyz").raise_for_status()
                worst = max(worst, (time.perf_counter() - started) * 1000)
                time.sleep(0.01)
        worker.join()
    return worst, done[0], len(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=15_000)
    parser.add_argument("--object-kib", type=int, default=5)
    parser.add_argument("--slowloris", type=int, default=2_000)
    args = parser.parse_args()
    etcd = start_etcd()
    server = start_apiserver(etcd.url)
    try:
        pid, base = server.proc.process.pid, server.http_url
        port = int(base.rsplit(":", 1)[1])
        start = rss_mib(pid)
        asyncio.run(write_events(etcd.url, NAMESPACE, args.events, args.object_kib))
        baseline = rss_mib(pid)
        sock = open_stuck_watch(port)
        asyncio.run(write_events(etcd.url, NAMESPACE, args.events, args.object_kib))
        stuck = rss_mib(pid)
        closed = closed_by_server(sock)
        sock.close()
        print(f"stuck watcher: RSS at start {start:.0f} MiB; +{baseline - start:.0f} MiB after "
              f"{args.events} events of {args.object_kib} KiB with no watcher; "
              f"+{stuck - baseline:.0f} MiB after {args.events} more with a watcher that never "
              f"reads; stream closed by the server: {closed}")

        worst, create_ms, size = readyz_during_yaml(base)
        print(f"yaml: creating a ConfigMap from {size / 1024:.0f} KiB of YAML took "
              f"{create_ms:.0f} ms; /readyz answered within {worst:.0f} ms meanwhile")

        quiet = readyz_latencies(base)
        crowd = []
        for _ in range(args.slowloris):
            conn = socket.create_connection(("127.0.0.1", port))
            conn.sendall(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: ")
            crowd.append(conn)
        loaded = readyz_latencies(base)
        for conn in crowd:
            conn.close()
        print(f"readyz: p50 {quiet[len(quiet) // 2]:.1f} ms, max {quiet[-1]:.1f} ms alone; "
              f"p50 {loaded[len(loaded) // 2]:.1f} ms, max {loaded[-1]:.1f} ms with "
              f"{args.slowloris} half-sent requests open")
    finally:
        server.stop()
        etcd.stop()


if __name__ == "__main__":
    main()
