"""API server benchmark: create throughput and watch fan-out, next to raw etcd.

Starts its own etcd and API server (real processes, the plain HTTP port) with
`tinykube.testing.processes`, then measures in one run:

1. raw aetcd puts/s with C concurrent tasks, straight to that etcd (the floor
   every API write pays for);
2. API server creates/s of ConfigMaps from C concurrent httpx clients, each one
   HTTP/1.1 keep-alive connection, all into one namespace;
3. watch fan-out: W watch streams (one connection each) opened from a list's
   resourceVersion, then N creates at a steady pace. For every watcher x event,
   latency = the moment the watcher read the event line minus the moment just
   before the writer sent the request. The same is measured on raw etcd (W aetcd
   watches, N puts) as the baseline. Watchers run in a child process so their
   parsing does not delay the writer; both sides read CLOCK_MONOTONIC, which is
   one clock for every process on the machine.

With `--audit-level Metadata` (or Request, RequestResponse) a second API server on
the same etcd writes an audit log (every request at that level) and the creates
are measured again: its creates/s and CPU per create print beside the figures
without audit.

The figures are a measurement, not a test: the targets are printed next to them
and the script exits 0 either way. Everything it starts is stopped by PID.

Kubernetes counterpart: kubernetes/perf-tests clusterloader2 (load test; API call
and watch latency SLOs)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from urllib.parse import urlparse

import aetcd
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tinykube.testing.processes import APIServerProcess, Etcd, start_apiserver, start_etcd  # noqa: E402

NAMESPACE = "bench"
TARGET_CREATES_PER_SECOND = 1000.0  # issue 12
TARGET_FANOUT_P99_MS = 100.0
WATCH_DEADLINE_SECONDS = 60.0


def parse_etcd_url(url: str) -> tuple[str, int]:
    parsed = urlparse(url)
    return parsed.hostname or "127.0.0.1", parsed.port or 2379


def configmap(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": {"app": "bench"}},
            "data": {"key": "value", "index": name}}


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return math.nan
    index = min(len(sorted_values) - 1, max(0, math.ceil(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


# --- throughput -----------------------------------------------------------------

async def raw_puts_per_second(etcd_url: str, count: int, clients: int, value: bytes) -> float:
    host, port = parse_etcd_url(etcd_url)
    client = aetcd.Client(host=host, port=port)
    await client.connect()
    try:
        for i in range(20):  # warm the channel up
            await client.put(f"/bench/warm/{i}".encode(), value)

        async def worker(first: int) -> None:
            for i in range(first, count, clients):
                await client.put(f"/bench/raw/{i:06d}".encode(), value)

        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in range(clients)))
        return count / (time.perf_counter() - started)
    finally:
        await client.close()


async def api_creates_per_second(http_url: str, count: int, clients: int,
                                 namespace: str = NAMESPACE, prefix: str = "") -> float:
    """`prefix` keeps the names of repeated runs into one namespace apart."""
    sessions = [httpx.AsyncClient(base_url=http_url, timeout=30,
                                  limits=httpx.Limits(max_connections=1)) for _ in range(clients)]
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    try:
        for i, session in enumerate(sessions):  # open every keep-alive connection first
            (await session.post(path, json=configmap(f"{prefix}warm-{i}"))).raise_for_status()

        async def worker(session: httpx.AsyncClient, first: int) -> None:
            for i in range(first, count, clients):
                response = await session.post(path, json=configmap(f"{prefix}create-{i:06d}"))
                if response.status_code != 201:
                    raise RuntimeError(f"create failed: {response.status_code} {response.text}")

        started = time.perf_counter()
        await asyncio.gather(*(worker(s, c) for c, s in enumerate(sessions)))
        return count / (time.perf_counter() - started)
    finally:
        for session in sessions:
            await session.aclose()


# --- fan-out: the watcher side (runs in a child process) --------------------------

@dataclass(frozen=True)
class WatchPlan:
    mode: str  # "api" or "etcd"
    url: str
    after_revision: int
    watchers: int
    expected: int


def watch_process(plan: WatchPlan, conn: Connection) -> None:
    """Opens the watches, says "ready", then sends back every (index, received_at)."""
    received = asyncio.run(_watch_all(plan, conn))
    conn.send((received, time.process_time()))
    conn.close()


async def _watch_all(plan: WatchPlan, conn: Connection) -> list[list[tuple[int, float]]]:
    received: list[list[tuple[int, float]]] = [[] for _ in range(plan.watchers)]
    opened: list[asyncio.Event] = [asyncio.Event() for _ in range(plan.watchers)]
    watch_one = _watch_api if plan.mode == "api" else _watch_etcd
    if plan.mode == "etcd":  # one client; etcd multiplexes its watches on one stream
        host, port = parse_etcd_url(plan.url)
        shared: object = aetcd.Client(host=host, port=port)
        await shared.connect()  # type: ignore[attr-defined]
    else:
        shared = None
    tasks = [asyncio.create_task(watch_one(plan, shared, opened[i], received[i]))
             for i in range(plan.watchers)]
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in opened)), 30)
    conn.send("ready")
    await asyncio.wait(tasks, timeout=WATCH_DEADLINE_SECONDS)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if shared is not None:
        await shared.close()  # type: ignore[attr-defined]
    return received


async def _watch_api(plan: WatchPlan, _shared: object, opened: asyncio.Event,
                     got: list[tuple[int, float]]) -> None:
    params = {"watch": "true", "resourceVersion": str(plan.after_revision)}
    async with httpx.AsyncClient(base_url=plan.url, timeout=None) as client:
        async with client.stream("GET", f"/api/v1/namespaces/{NAMESPACE}/configmaps",
                                 params=params) as response:
            response.raise_for_status()
            opened.set()
            pending = b""
            # Raw bytes split by hand: httpx's text line decoder would cost this
            # process more than the events cost the server.
            async for chunk in response.aiter_raw():
                received_at = time.monotonic()
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    event = json.loads(line)
                    name = event["object"]["metadata"]["name"]
                    if event["type"] == "ADDED" and name.startswith("fan-"):
                        got.append((int(name[4:]), received_at))
                if len(got) >= plan.expected:
                    return


async def _watch_etcd(plan: WatchPlan, shared: object, opened: asyncio.Event,
                      got: list[tuple[int, float]]) -> None:
    client: aetcd.Client = shared  # type: ignore[assignment]
    stream = await client.watch_prefix(b"/bench/fan/", start_revision=plan.after_revision + 1)
    opened.set()
    try:
        async for event in stream:
            got.append((int(event.kv.key.decode().rsplit("/", 1)[1]), time.monotonic()))
            if len(got) >= plan.expected:
                return
    finally:
        await stream.cancel()


# --- fan-out: the writer side -------------------------------------------------------

@dataclass
class FanOut:
    latencies_ms: list[float]
    received: int
    expected: int
    write_errors: int
    wall_seconds: float
    watcher_cpu_seconds: float  # the watcher process: near wall_seconds means it was the limit


async def fan_out(plan: WatchPlan, writes_per_second: float, value: bytes) -> FanOut:
    parent_end, child_end = multiprocessing.get_context("spawn").Pipe()
    child = multiprocessing.get_context("spawn").Process(target=watch_process,
                                                         args=(plan, child_end))
    child.start()
    try:
        if not await asyncio.to_thread(parent_end.poll, 60) or parent_end.recv() != "ready":
            raise RuntimeError("the watcher process did not open its watches")
        started = time.monotonic()
        sent_at, errors = await _paced_writes(plan, writes_per_second, value)
        if not await asyncio.to_thread(parent_end.poll, WATCH_DEADLINE_SECONDS + 30):
            raise RuntimeError("the watcher process did not report")
        received: list[list[tuple[int, float]]]
        received, watcher_cpu = parent_end.recv()
        wall = time.monotonic() - started
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()
            child.join()
    latencies = sorted((at - sent_at[index]) * 1000 for got in received for index, at in got
                       if index in sent_at)
    distinct = sum(len({index for index, _ in got}) for got in received)
    return FanOut(latencies, distinct, plan.watchers * plan.expected, errors, wall, watcher_cpu)


async def _paced_writes(plan: WatchPlan, writes_per_second: float,
                        value: bytes) -> tuple[dict[int, float], int]:
    """Open loop: write i is sent at start + i/rate, whether or not earlier ones returned."""
    sent_at: dict[int, float] = {}
    errors = 0
    if plan.mode == "api":
        http = httpx.AsyncClient(base_url=plan.url, timeout=30,
                                 limits=httpx.Limits(max_connections=16))
        path = f"/api/v1/namespaces/{NAMESPACE}/configmaps"

        async def write(i: int) -> None:
            nonlocal errors
            body = configmap(f"fan-{i:06d}")
            sent_at[i] = time.monotonic()
            errors += (await http.post(path, json=body)).status_code != 201
    else:
        host, port = parse_etcd_url(plan.url)
        etcd = aetcd.Client(host=host, port=port)
        await etcd.connect()

        async def write(i: int) -> None:
            sent_at[i] = time.monotonic()
            await etcd.put(f"/bench/fan/{i:06d}".encode(), value)
    try:
        start = time.monotonic() + 0.1
        writes: list[asyncio.Task[None]] = []
        for i in range(plan.expected):
            await asyncio.sleep(max(0.0, start + i / writes_per_second - time.monotonic()))
            writes.append(asyncio.create_task(write(i)))
        await asyncio.gather(*writes)
    finally:
        await (http.aclose() if plan.mode == "api" else etcd.close())
    return sent_at, errors


async def current_etcd_revision(etcd_url: str) -> int:
    host, port = parse_etcd_url(etcd_url)
    client = aetcd.Client(host=host, port=port)
    await client.connect()
    try:
        return int((await client.get_prefix(b"/bench/-revision-probe-")).header.revision)
    finally:
        await client.close()


# --- report ---------------------------------------------------------------------------

def verdict(ok: bool) -> str:
    return "PASS" if ok else "BELOW TARGET"


def latency_text(result: FanOut) -> str:
    values = result.latencies_ms
    return (f"{percentile(values, 0.5):.1f} / {percentile(values, 0.99):.1f} / "
            f"{(values[-1] if values else math.nan):.1f} ms")


def row(figure: str, value: str, target: str = "", result: str = "") -> None:
    print(f"{figure:<44}{value:>26}   {target:<16}{result}")


def cpu_seconds(pid: int) -> float:
    """user + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CPU:
    """CPU used by the API server and etcd during one phase: unlike rates and
    latencies, it does not depend on what else the machine is running."""

    def __init__(self, apiserver_pid: int, etcd_pid: int) -> None:
        self._pids = (apiserver_pid, etcd_pid)
        self._start = tuple(cpu_seconds(p) for p in self._pids)

    def used_ms(self) -> tuple[float, float]:
        api, etcd = (1000 * (cpu_seconds(p) - s) for p, s in zip(self._pids, self._start))
        return api, etcd


async def measure(args: argparse.Namespace, etcd_url: str, http_url: str,
                  pids: tuple[int, int]) -> None:
    load_before = os.getloadavg()[0]
    async with httpx.AsyncClient(base_url=http_url) as http:
        (await http.post("/api/v1/namespaces", json={"metadata": {"name": NAMESPACE}})
         ).raise_for_status()
        probe = (await http.post(f"/api/v1/namespaces/{NAMESPACE}/configmaps",
                                 json=configmap("size-probe"))).content
    value = probe  # raw etcd writes store a value as large as a real ConfigMap

    cpu = CPU(*pids)
    puts = await raw_puts_per_second(etcd_url, args.creates, args.clients, value)
    _, etcd_put_ms = cpu.used_ms()
    cpu = CPU(*pids)
    creates = await api_creates_per_second(http_url, args.creates, args.clients)
    api_create_ms, etcd_create_ms = cpu.used_ms()

    revision = await current_etcd_revision(etcd_url)
    raw_fan = await fan_out(WatchPlan("etcd", etcd_url, revision, args.watchers, args.writes),
                            args.rate, value)
    async with httpx.AsyncClient(base_url=http_url) as http:
        listed = (await http.get(f"/api/v1/namespaces/{NAMESPACE}/configmaps",
                                 params={"limit": "1"})).json()
    cpu = CPU(*pids)
    api_fan = await fan_out(WatchPlan("api", http_url, int(listed["metadata"]["resourceVersion"]),
                                      args.watchers, args.writes), args.rate, value)
    api_fan_ms, _ = cpu.used_ms()
    load_after = os.getloadavg()[0]

    print()
    print(f"tinykube API server benchmark: {os.cpu_count()} CPU cores, Python "
          f"{platform.python_version()}, value size {len(value)} bytes, "
          f"load average {load_before:.1f} before / {load_after:.1f} after")
    print(f"creates: {args.creates} ConfigMaps, {args.clients} concurrent clients; fan-out: "
          f"{args.watchers} watchers x {args.writes} writes at {args.rate:g} writes/s")
    print("latency = watcher read the event - writer sent the request (p50 / p99 / max)")
    print()
    row("figure", "value", "target", "")
    row("-" * 42, "-" * 26, "-" * 16, "-" * 12)
    row(f"raw etcd puts/s ({args.clients} concurrent, aetcd)", f"{puts:,.0f}")
    row(f"API creates/s ({args.clients} clients, ConfigMap)", f"{creates:,.0f}",
        f">= {TARGET_CREATES_PER_SECOND:.0f}/s", verdict(creates >= TARGET_CREATES_PER_SECOND))
    row("  API creates / raw puts", f"{creates / puts:.2f}")
    row("  etcd CPU per write: raw put / API create", f"{etcd_put_ms / args.creates:.2f} / "
        f"{etcd_create_ms / args.creates:.2f} ms")
    row("  API server CPU per create", f"{api_create_ms / args.creates:.2f} ms")
    row(f"raw etcd put->watch ({args.watchers} aetcd watches)", latency_text(raw_fan))
    row("  events received / expected", f"{raw_fan.received:,} / {raw_fan.expected:,}", "no loss",
        verdict(raw_fan.received == raw_fan.expected))
    p99 = percentile(api_fan.latencies_ms, 0.99)
    row(f"API create->watch ({args.watchers} HTTP watches)", latency_text(api_fan),
        f"p99 <= {TARGET_FANOUT_P99_MS:.0f} ms", verdict(p99 <= TARGET_FANOUT_P99_MS))
    row("  events received / expected", f"{api_fan.received:,} / {api_fan.expected:,}", "no loss",
        verdict(api_fan.received == api_fan.expected and api_fan.write_errors == 0))
    if api_fan.write_errors:
        row("  failed writes", str(api_fan.write_errors))
    delivered = max(api_fan.received, 1)
    row("  API server CPU per delivered event", f"{1000 * api_fan_ms / delivered:.0f} us")
    row("  API server CPU busy during fan-out", f"{api_fan_ms / 10 / api_fan.wall_seconds:.0f} %")
    row("  watcher process CPU busy (raw / API)",
        f"{100 * raw_fan.watcher_cpu_seconds / raw_fan.wall_seconds:.0f} / "
        f"{100 * api_fan.watcher_cpu_seconds / api_fan.wall_seconds:.0f} %")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creates", type=int, default=2000, help="objects to create (and raw puts)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--watchers", type=int, default=100, help="concurrent watch streams")
    parser.add_argument("--writes", type=int, default=1000, help="writes during the fan-out")
    parser.add_argument("--rate", type=float, default=100.0, help="fan-out writes per second")
    parser.add_argument("--audit-level", default="", choices=["", "Metadata", "Request", "RequestResponse"],
                        help="also measure creates with an audit log at this level (and without one)")
    return parser.parse_args(argv)


def measure_audit_cost(args: argparse.Namespace, etcd: Etcd) -> None:
    """Creates/s and API server CPU per create without and with an audit log, each on a
    fresh API server of the same etcd (the log is written to a file and deleted)."""
    results = {}
    for level in ("", args.audit_level):
        workdir = Path(tempfile.mkdtemp(prefix="tinykube-bench-audit-"))
        flags: tuple[str, ...] = ()
        if level:
            (workdir / "policy.yaml").write_text(
                f"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{{level: {level}}}]\n")
            flags = ("--audit-policy-file", str(workdir / "policy.yaml"),
                     "--audit-log-path", str(workdir / "audit.log"))
        apiserver = start_apiserver(etcd.url, workdir, flags=flags)
        try:
            namespace = httpx.post(f"{apiserver.http_url}/api/v1/namespaces",
                                   json={"metadata": {"name": NAMESPACE}})
            assert namespace.status_code in (201, 409), namespace.text
            cpu = CPU(apiserver.proc.process.pid, etcd.proc.process.pid)
            creates = asyncio.run(api_creates_per_second(apiserver.http_url, args.creates, args.clients,
                                                         prefix=f"audit-{uuid.uuid4().hex[:8]}-"))
            results[level] = (creates, cpu.used_ms()[0] / args.creates)
        finally:
            stop_and_remove([apiserver], etcd, keep_etcd=True)
    (off, off_ms), (on, on_ms) = results[""], results[args.audit_level]
    print()
    row(f"API creates/s, audit off / {args.audit_level}", f"{off:,.0f} / {on:,.0f}")
    row("  API server CPU per create, audit off / on", f"{off_ms:.2f} / {on_ms:.2f} ms")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    etcd = start_etcd()
    apiserver = None
    try:
        apiserver = start_apiserver(etcd.url)
        asyncio.run(measure(args, etcd.url, apiserver.http_url,
                            (apiserver.proc.process.pid, etcd.proc.process.pid)))
        if args.audit_level:
            measure_audit_cost(args, etcd)
    finally:
        stop_and_remove([apiserver] if apiserver is not None else [], etcd)


def stop_and_remove(apiservers: list[APIServerProcess], etcd: Etcd, keep_etcd: bool = False) -> None:
    """Stop the API servers and etcd (by PID) and delete their files."""
    for apiserver in apiservers:
        apiserver.stop()
        shutil.rmtree(apiserver.workdir, ignore_errors=True)
    if keep_etcd:
        return
    etcd.stop()
    shutil.rmtree(etcd.data_dir, ignore_errors=True)
    Path(f"{etcd.data_dir}.log").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
