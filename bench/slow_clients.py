"""Slow clients against the API server: a stuck watcher, and a slowloris crowd.

Starts its own etcd and API server (real processes, the plain HTTP port) with
`tinykube.testing.processes`, then measures in one run:

1. **stuck watcher**: the API server's VmRSS, then `--events` updates of ConfigMaps
   of about `--object-kib` KiB each (put straight into etcd, so they flow at etcd's
   pace and the API server does only the watch side), first with no watcher (the baseline: what the
   watch cache's own history costs), then again with one watcher that opened its
   stream and never reads a byte; prints the RSS growth of each phase and whether
   the server closed the stuck stream;
2. **large and hostile bodies**: `/readyz` asked every 10 ms while one request is
   served: a ConfigMap from about 1 MiB of YAML, a YAML alias bomb (CVE-2019-11253),
   and a `--large-body-mib` (50) MB JSON body, once with its Content-Length and once
   chunked (the server only learns its size by reading); prints the slowest answer;
3. **slowloris**: `--slowloris` connections that each send half a request line and
   then nothing; `/readyz` is asked 20 times right after they are opened (the
   server may still be accepting them) and 20 times once the server holds them
   all; prints readyz latency p50 / max next to the same figure with no such
   connections.

It ends with the worst `/readyz` latency during each of these, against the issue's
target of 1 s.

A measurement, not a test: it exits 0 either way. Everything it starts is stopped
by PID.

Kubernetes counterpart: none (kube-apiserver's ReadHeaderTimeout and cacheWatcher
termination are what it exercises)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import aetcd
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tinykube.testing.processes import start_apiserver, start_etcd  # noqa: E402

NAMESPACE = "default"
READYZ_TARGET_MS = 1000.0


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


def readyz_during(base: str, send: Callable[[httpx.Client], str]) -> tuple[float, float, str]:
    """(slowest /readyz ms, request ms, what the request got) while `send` runs in a
    thread and `/readyz` is asked every 10 ms."""
    with httpx.Client(base_url=base, timeout=120) as http:
        done: list[tuple[float, str]] = []

        def run() -> None:
            started = time.perf_counter()
            try:
                outcome = send(http)
            except httpx.HTTPError as err:  # e.g. the server closed on an unread body
                outcome = type(err).__name__
            done.append(((time.perf_counter() - started) * 1000, outcome))

        worker = threading.Thread(target=run)
        worker.start()
        worst = 0.0
        with httpx.Client(base_url=base, timeout=120) as probe:
            while True:  # at least once, however quick the request
                started = time.perf_counter()
                probe.get("/readyz").raise_for_status()
                worst = max(worst, (time.perf_counter() - started) * 1000)
                if done:
                    break
                time.sleep(0.01)
        worker.join()
    return worst, done[0][0], done[0][1]


def large_yaml(keys: int = 10_000) -> bytes:
    """A ConfigMap of about 1 MiB of YAML (pure-Python parsing: about 2 s)."""
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: big-yaml", "data:"]
    lines += [f"  k{i}: {'v' * 90}" for i in range(keys)]
    return ("\n".join(lines) + "\n").encode()


def yaml_bomb(name: str = "bomb") -> bytes:
    """The ConfigMap of CVE-2019-11253: 445 bytes that expand to a billion strings
    (also used by tests/integration/test_limits.py)."""
    levels = ['  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi"):
        levels.append(f"  {cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n"
            + "\n".join(levels) + "\n").encode()


def post_yaml(body: bytes) -> Callable[[httpx.Client], str]:
    def send(http: httpx.Client) -> str:
        response = http.post(f"/api/v1/namespaces/{NAMESPACE}/configmaps", content=body,
                             headers={"Content-Type": "application/yaml"})
        return str(response.status_code)
    return send


def post_large_body(mib: int, chunked: bool) -> Callable[[httpx.Client], str]:
    """A JSON ConfigMap of `mib` MiB, sent with its Content-Length or chunked (then the
    server only learns the size by reading)."""
    body = json.dumps({"metadata": {"name": "huge"}, "data": {"k": "x" * (mib << 20)}}).encode()

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(body), 1 << 20):
            yield body[start:start + (1 << 20)]

    def send(http: httpx.Client) -> str:
        response = http.post(f"/api/v1/namespaces/{NAMESPACE}/configmaps",
                             content=pieces() if chunked else body,
                             headers={"Content-Type": "application/json"})
        return str(response.status_code)
    return send


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=15_000)
    parser.add_argument("--object-kib", type=int, default=5)
    parser.add_argument("--slowloris", type=int, default=2_000)
    parser.add_argument("--large-body-mib", type=int, default=50)
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

        worst_cases: list[tuple[str, float]] = []
        for label, send in [("a ConfigMap from 1 MiB of YAML", post_yaml(large_yaml())),
                            ("a YAML alias bomb (445 bytes)", post_yaml(yaml_bomb())),
                            (f"a {args.large_body_mib} MB JSON body with Content-Length",
                             post_large_body(args.large_body_mib, chunked=False)),
                            (f"a {args.large_body_mib} MB JSON body, chunked",
                             post_large_body(args.large_body_mib, chunked=True))]:
            with httpx.Client(base_url=base, timeout=120) as http:  # untimed: a rerun's leftovers
                http.delete(f"/api/v1/namespaces/{NAMESPACE}/configmaps/big-yaml")
            worst, request_ms, outcome = readyz_during(base, send)
            print(f"{label}: answered {outcome} in {request_ms:.0f} ms; /readyz answered "
                  f"within {worst:.0f} ms meanwhile")
            worst_cases.append((label, worst))

        quiet = readyz_latencies(base)
        open_fds = len(os.listdir(f"/proc/{pid}/fd"))
        crowd = []
        for _ in range(args.slowloris):
            conn = socket.create_connection(("127.0.0.1", port))
            conn.sendall(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: ")
            crowd.append(conn)
        arriving = readyz_latencies(base)  # the server may still be accepting the crowd
        deadline = time.monotonic() + 60
        while len(os.listdir(f"/proc/{pid}/fd")) < open_fds + args.slowloris \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        held = readyz_latencies(base)
        for conn in crowd:
            conn.close()
        print(f"readyz: p50 {quiet[len(quiet) // 2]:.1f} ms, max {quiet[-1]:.1f} ms alone; "
              f"p50 {arriving[len(arriving) // 2]:.1f} ms, max {arriving[-1]:.1f} ms right "
              f"after opening {args.slowloris} half-sent requests; p50 "
              f"{held[len(held) // 2]:.1f} ms, max {held[-1]:.1f} ms once all are accepted")
        worst_cases.append((f"{args.slowloris} slowloris connections, arriving", arriving[-1]))
        worst_cases.append((f"{args.slowloris} slowloris connections, held", held[-1]))
        print(f"\n/readyz worst case (target: within {READYZ_TARGET_MS:,.0f} ms), "
              f"load average {os.getloadavg()[0]:.1f}:")
        for label, worst in worst_cases:
            verdict = "PASS" if worst <= READYZ_TARGET_MS else "ABOVE TARGET"
            print(f"  {label:<48} {worst:>8,.0f} ms   {verdict}")
    finally:
        server.stop()
        etcd.stop()


if __name__ == "__main__":
    main()
