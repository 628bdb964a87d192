"""Density benchmark: 10,000 pods through Deployments on 500 hollow nodes, with the API
server's memory, list latency, read and watch latency under that load, scheduling
throughput next to the raw create rate of the same run, and a restart.

Starts its own etcd and API server (real processes, plain HTTP port), K kubelet
processes hosting N hollow nodes between them (`python -m kubelet
--container-runtime-endpoint=fake --hollow-nodes=N/K`), then:

1. raw: creates R pods nobody schedules (schedulerName "bench-nobody") from C
   concurrent clients (the API server's create rate for this pod shape, with the
   hollow nodes' watches open), then deletes them;
2. starts `python -m scheduler` and `python -m controller_manager` (every controller);
3. creates D Deployments of P/D replicas each (cpu 10m, memory 16Mi); the
   Deployment and ReplicaSet controllers create the pods, the scheduler binds them,
   the hollow kubelets report them Running. Meanwhile, every 100 ms: a GET of one
   Node (read latency) and a PATCH of one probe pod's annotation, whose latency from
   sending the PATCH to a watch on the probe's namespace receiving the event is the
   watch fan-out latency (the event goes through the same pod watch cache and is
   matched against every pod watcher: 500 kubelets, scheduler, controllers, bench);
4. with every pod Running: the API server's VmRSS, `GET /api/v1/pods` in one answer
   and in chunks of 500;
5. stops the API server by PID, starts a new one on the same etcd (kubelets,
   scheduler and controllers stay up and reconnect) and times /readyz 200 and the
   first full list of pods.

A measurement, not a test: the targets are printed next to the figures and the
script exits 0 either way. Everything it starts is stopped by PID, also on SIGTERM.

Kubernetes counterpart: perf-tests clusterloader2 density test with kubemark hollow
nodes (testing/density), its API responsiveness and pod startup SLOs
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import (  # noqa: E402
    Children, chunked_list_seconds, cpu_seconds, create_pods, pod, rss_mib, start_plain_apiserver, stop_on_sigterm,
    timed_get,
)
from _density_probes import PodTally, Probes, watch_pods  # noqa: E402
from tinykube.testing.processes import start_etcd, wait_until  # noqa: E402

TARGET_GET_P99_SECONDS = 1.0
POLL_SECONDS = 0.5  # while setting up: light on the API server


def deployment(name: str, replicas: int) -> dict[str, object]:
    labels = {"app": name}
    template_spec = pod(name)["spec"]
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": template_spec}}}


class Rows(list[tuple[str, str, str]]):
    """The figures, each printed as soon as it is measured (an interrupted run keeps them)."""

    def append(self, row: tuple[str, str, str]) -> None:
        super().append(row)
        name, value, target = row
        print(f"{name:<64}  {value:>22}  {target}".rstrip(), flush=True)

    def extend(self, rows: object) -> None:
        for row in rows:  # type: ignore[attr-defined]
            self.append(row)


def replica_counts(pods: int, deployments: int) -> list[int]:
    base, extra = divmod(pods, deployments)
    return [base + (1 if i < extra else 0) for i in range(deployments)]


async def run_density(base_url: str, args: argparse.Namespace, probe_node: str) -> tuple[PodTally, Probes, float]:
    """Create the Deployments and wait until every pod is Running (or the deadline)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        rv = (await http.get("/api/v1/namespaces/bench/pods")).json()["metadata"]["resourceVersion"]
        tally = PodTally(args.pods)
        probes = Probes(base_url, probe_node)
        await probes.start()
        watcher = asyncio.create_task(watch_pods(base_url, "bench", rv, tally))
        await asyncio.sleep(0.2)  # the watch request is on the wire before the first create
        started = time.monotonic()
        for i, replicas in enumerate(replica_counts(args.pods, args.deployments)):
            response = await http.post("/apis/apps/v1/namespaces/bench/deployments",
                                       json=deployment(f"dep-{i:03d}", replicas))
            response.raise_for_status()
        try:
            await asyncio.wait_for(tally.all_running.wait(), args.deadline_seconds)
        except TimeoutError:
            print(f"  deadline: {tally.summary()}")
        watcher.cancel()
        await probes.stop()
        return tally, probes, started


def start_kubelets(children: Children, kubeconfig: Path, workdir: Path, nodes: int, processes: int) -> None:
    share, extra = divmod(nodes, processes)
    for k in range(processes):
        count = share + (1 if k < extra else 0)
        children.spawn(["-m", "kubelet", f"--kubeconfig={kubeconfig}", f"--hostname-override=hollow-{k}",
                        "--container-runtime-endpoint=fake", f"--hollow-nodes={count}",
                        "--node-capacity=cpu=4,memory=16Gi,pods=110", "--v=1"], workdir / f"kubelet-{k}.log")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--deployments", type=int, default=50)
    parser.add_argument("--kubelet-processes", type=int, default=4, help="processes hosting the hollow nodes")
    parser.add_argument("--raw-pods", type=int, default=1000, help="pods created for the raw create rate")
    parser.add_argument("--clients", type=int, default=16, help="concurrent creators for the raw rate")
    parser.add_argument("--deadline-seconds", type=float, default=900.0)
    args = parser.parse_args()
    stop_on_sigterm()

    workdir = Path(tempfile.mkdtemp(prefix="tinykube-bench-density-"))
    children = Children()
    etcd = start_etcd(workdir / "etcd")
    rows = Rows()
    try:
        api, kubeconfig, http = start_plain_apiserver(etcd.url, workdir, ("bench-raw", "bench", "bench-probe"), 300)
        print(f"tinykube density benchmark: {os.cpu_count()} CPU cores, Python {sys.version.split()[0]}; "
              f"{args.nodes} hollow nodes in {args.kubelet_processes} kubelet processes, {args.pods:,} pods "
              f"in {args.deployments} Deployments; load average {os.getloadavg()[0]:.1f}", flush=True)

        started = time.monotonic()
        start_kubelets(children, kubeconfig, workdir, args.nodes, args.kubelet_processes)
        wait_until(lambda: len(http.get("/api/v1/nodes").json()["items"]) >= args.nodes, 300,
                   f"{args.nodes} hollow nodes to register", POLL_SECONDS)
        rows.append((f"{args.nodes} hollow nodes registered", f"{time.monotonic() - started:.1f} s", ""))

        start, end = asyncio.run(create_pods(api.http_url, "bench-raw", args.raw_pods, args.clients,
                                             "bench-nobody"))
        raw_rate = args.raw_pods / (end - start)
        rows.append((f"raw pod creates ({args.raw_pods}, {args.clients} clients, not scheduled)",
                     f"{raw_rate:,.0f} pods/s", ""))
        http.delete("/api/v1/namespaces/bench-raw/pods").raise_for_status()
        wait_until(lambda: not http.get("/api/v1/namespaces/bench-raw/pods").json()["items"], 120,
                   "the raw pods to be deleted", POLL_SECONDS)

        children.spawn(["-m", "scheduler", f"--kubeconfig={kubeconfig}", "--v=1"], workdir / "scheduler.log")
        children.spawn(["-m", "controller_manager", f"--kubeconfig={kubeconfig}", "--v=1"],
                       workdir / "controller-manager.log")
        for lease in ("kube-scheduler", "kube-controller-manager"):
            wait_until(lambda: http.get(f"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/{lease}")
                       .status_code == 200, 60, f"the {lease} lease", POLL_SECONDS)

        pids = {"apiserver": api.proc.process.pid, "etcd": etcd.proc.process.pid,
                "scheduler": children.processes[-2].pid, "controller-manager": children.processes[-1].pid,
                "kubelets": children.processes[0].pid}
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        kubelet_cpu_before = sum(cpu_seconds(p.pid) for p in children.processes[:args.kubelet_processes])
        tally, probes, first = asyncio.run(run_density(api.http_url, args, "hollow-0-0"))
        cpu_used = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
        cpu_used["kubelets"] = sum(cpu_seconds(p.pid) for p in children.processes[:args.kubelet_processes]) \
            - kubelet_cpu_before
        rows.extend(tally.rows(first, raw_rate))
        rows.extend(probes.rows(TARGET_GET_P99_SECONDS))
        rows.append(("CPU seconds during the run", ", ".join(f"{n} {s:.0f}" for n, s in cpu_used.items()), ""))
        rows.append(("load average (1 min) after the run", f"{os.getloadavg()[0]:.1f}", ""))

        rows.append(("API server RSS with every pod Running", f"{rss_mib(api.proc.process.pid):,.0f} MiB", ""))
        seconds, response = timed_get(http, "/api/v1/pods")
        rows.append((f"list all pods, one answer ({len(response.json()['items']):,} items, "
                     f"{len(response.content) / 1e6:.1f} MB)", f"{seconds * 1000:,.0f} ms", ""))
        seconds, count = chunked_list_seconds(http, "/api/v1/pods")
        rows.append((f"list all pods in chunks of 500 ({count:,} items)", f"{seconds * 1000:,.0f} ms", ""))

        started = time.monotonic()
        api.restart()
        rows.append(("API server restart: stop until /readyz 200", f"{time.monotonic() - started:.1f} s", ""))
        wait_until(lambda: http.get("/api/v1/pods").status_code == 200, 120, "a list of all pods", 0.1)
        rows.append(("API server restart: stop until a full pod list answers",
                     f"{time.monotonic() - started:.1f} s", ""))
        rows.append(("API server RSS after the restart", f"{rss_mib(api.proc.process.pid):,.0f} MiB", ""))
        return 0
    finally:
        children.stop_all()
        if "api" in locals():
            api.stop()
        etcd.stop()
        print(f"logs: {workdir}")


if __name__ == "__main__":
    sys.exit(main())
