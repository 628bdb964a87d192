"""Scheduler benchmark: pods bound per second on 100 hollow nodes, next to the raw
API server create rate measured in the same run.

Starts its own etcd and API server (real processes, plain HTTP port), one kubelet
process hosting N hollow nodes (`python -m kubelet --container-runtime-endpoint=fake
--hollow-nodes=N`), then:

1. raw: creates P pods nobody schedules (schedulerName "bench-nobody") from C
   concurrent clients: the API server's create rate for this very pod shape,
   with the hollow nodes' watches open (the ceiling for step 2);
2. starts `python -m scheduler` and waits until it holds its Lease;
3. end to end: creates P pods (cpu 10m, memory 16Mi) from C concurrent clients and
   watches them; pods/s bound = P / (last pod seen bound - first create sent).
   The time until every pod is reported Running by its hollow kubelet is printed
   too (that includes one more write per pod).

A measurement, not a test: the target is printed next to the figure and the script
exits 0 either way. Everything it starts is stopped by PID. With
TINYKUBE_BENCH_PROFILE_DIR set, the scheduler runs under cProfile and writes
scheduler.prof there when it stops (read it with `python -m pstats`).

Kubernetes counterpart: test/integration/scheduler_perf (SchedulingBasic),
perf-tests clusterloader2 with kubemark hollow nodes
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import Children, cpu_seconds, create_pods, start_plain_apiserver, stop_on_sigterm  # noqa: E402
from tinykube.testing.processes import (  # noqa: E402
    start_etcd,
    wait_until,
)

TARGET_PODS_PER_SECOND = 200.0
PROFILE_DIR = os.environ.get("TINYKUBE_BENCH_PROFILE_DIR")
POLL_SECONDS = 0.2  # while setting up: light on the API server


async def watch_pods(base_url: str, namespace: str, count: int, resource_version: str,
                     deadline_seconds: float) -> tuple[float, float]:
    """Monotonic times at which the last of `count` pods was seen bound, and Running."""
    bound: set[str] = set()
    running: set[str] = set()
    last_bound = last_running = float("nan")
    timeout = httpx.Timeout(30, read=None)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout) as http:
        async with http.stream("GET", f"/api/v1/namespaces/{namespace}/pods",
                               params={"watch": "true", "resourceVersion": resource_version}) as response:
            async def read() -> None:
                nonlocal last_bound, last_running
                async for line in response.aiter_lines():
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    obj = event.get("object") or {}
                    name = (obj.get("metadata") or {}).get("name")
                    if (obj.get("spec") or {}).get("nodeName") and name not in bound:
                        bound.add(name)
                        if len(bound) == count:
                            last_bound = time.monotonic()
                    if (obj.get("status") or {}).get("phase") == "Running" and name not in running:
                        running.add(name)
                        if len(running) == count:
                            last_running = time.monotonic()
                            return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(read(), deadline_seconds)
    if len(bound) < count:
        print(f"  only {len(bound)}/{count} pods bound and {len(running)} running before the deadline")
    return last_bound, last_running


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--deadline-seconds", type=float, default=180.0)
    args = parser.parse_args()
    stop_on_sigterm()

    workdir = Path(tempfile.mkdtemp(prefix="tinykube-bench-scheduler-"))
    etcd = start_etcd(workdir / "etcd")
    children = Children()
    try:
        api, kubeconfig, http = start_plain_apiserver(etcd.url, workdir, ("bench-raw", "bench"), 30)

        print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}; "
              f"{args.nodes} hollow nodes, {args.pods} pods, {args.clients} concurrent creators")
        children.spawn(["-m", "kubelet", f"--kubeconfig={kubeconfig}", "--hostname-override=hollow",
                                "--container-runtime-endpoint=fake", f"--hollow-nodes={args.nodes}",
                                "--node-capacity=cpu=4,memory=16Gi,pods=110", "--v=1"],
                               workdir / "kubelet.log")
        started = time.monotonic()
        wait_until(lambda: len(http.get("/api/v1/nodes").json()["items"]) >= args.nodes, 120,
                   f"{args.nodes} hollow nodes to register", POLL_SECONDS)
        print(f"hollow nodes registered in {time.monotonic() - started:.1f} s")

        start, end = asyncio.run(create_pods(api.http_url, "bench-raw", args.pods, args.clients,
                                             "bench-nobody"))
        raw_rate = args.pods / (end - start)
        print(f"raw API server pod creates:     {raw_rate:8.1f} pods/s ({args.pods} in {end - start:.2f} s)")

        profile = ["-m", "cProfile", "-o", str(Path(PROFILE_DIR) / "scheduler.prof")] if PROFILE_DIR else []
        children.spawn([*profile, "-m", "scheduler", f"--kubeconfig={kubeconfig}", "--v=1"],
                       workdir / "scheduler.log")
        wait_until(lambda: http.get("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler")
                   .status_code == 200, 60, "the scheduler to take its lease", POLL_SECONDS)
        wait_until(lambda: "caches synced" in (workdir / "scheduler.log").read_text(), 60,
                   "the scheduler's caches to sync", POLL_SECONDS)

        resource_version = http.get("/api/v1/namespaces/bench/pods").json()["metadata"]["resourceVersion"]

        async def end_to_end() -> tuple[float, float, float, float]:
            watcher = asyncio.create_task(watch_pods(api.http_url, "bench", args.pods, resource_version,
                                                     args.deadline_seconds))
            await asyncio.sleep(0.2)  # the watch request is on the wire before the first create
            first, created = await create_pods(api.http_url, "bench", args.pods, args.clients,
                                               "default-scheduler")
            last_bound, last_running = await watcher
            return first, created, last_bound, last_running

        pids = {"apiserver": api.proc.process.pid, "etcd": etcd.proc.process.pid,
                "kubelet (hollow nodes)": children.processes[0].pid, "scheduler": children.processes[1].pid}
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        first, created, last_bound, last_running = asyncio.run(end_to_end())
        cpu_used = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
        create_rate = args.pods / (created - first)
        bound_rate = args.pods / (last_bound - first)
        running_rate = args.pods / (last_running - first)
        print(f"creates while scheduling:       {create_rate:8.1f} pods/s")
        print(f"end to end, created -> bound:   {bound_rate:8.1f} pods/s "
              f"(last bound {last_bound - first:.2f} s after the first create; "
              f"target >= {TARGET_PODS_PER_SECOND:.0f}; ratio to raw creates {bound_rate / raw_rate:.2f})")
        print(f"end to end, created -> Running: {running_rate:8.1f} pods/s "
              f"(hollow kubelets' status writes included)")
        print("CPU seconds during the end-to-end run: " +
              ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu_used.items()))
        per_node = {}
        for item in http.get("/api/v1/namespaces/bench/pods").json()["items"]:
            node = item["spec"].get("nodeName")
            per_node[node] = per_node.get(node, 0) + 1
        counts = sorted(per_node.values())
        if counts:
            print(f"spread: {len(per_node)} nodes used, pods per node min {counts[0]} max {counts[-1]}")
        return 0
    finally:
        children.stop_all()
        with contextlib.suppress(Exception):
            api.stop()  # type: ignore[possibly-undefined]
        etcd.stop()
        print(f"logs: {workdir}")


if __name__ == "__main__":
    sys.exit(main())
