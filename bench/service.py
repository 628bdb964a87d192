"""Service benchmark: requests/s and latency through a ClusterIP and through the
Ingress, next to the same pod straight by its pod IP, measured in the same run from
a client pod.

On a compose cluster of its own (TINYKUBE_PROJECT=tinykube-bench, removed with its
volumes at the end unless --keep), it runs one `tinykube/echo:1` backend behind a
ClusterIP Service, on the other node than the client, and a client pod on the
tinykube image. The client (Python, asyncio, keep-alive off like the echo app's
HTTP/1.0) sends --requests GETs with --concurrency in flight, first to the pod IP,
then to the ClusterIP, then through the Ingress controller (its Service's ClusterIP,
Host: bench), repeated --rounds times interleaved, and prints the median requests/s,
p50 and p99 of each path.

A measurement, not a test: the target (the Service path keeps >= 90% of the direct
throughput) is printed beside the figures and the script exits 0 either way.

Kubernetes counterpart: perf-tests network/benchmarks/netperf (pod-to-pod and pod-to-service)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tinykube.testing.processes import REPO_ROOT, free_port  # noqa: E402

PROJECT = "tinykube-bench"
TINYKUBE = str(Path(sys.executable).with_name("tinykube"))
TARGET_RATIO = 0.90

# Runs inside the client pod: N requests, C at a time, to URL; prints one JSON line.
CLIENT = r"""
import asyncio, json, sys, time
url_host, port, total, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
latencies, failures = [], 0
async def one():
    global failures
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection(url_host, port)
        writer.write(b"GET / HTTP/1.0\r\nHost: bench\r\n\r\n")
        data = await reader.read()
        writer.close()
        if b" 200 " not in data.split(b"\r\n", 1)[0]:
            failures += 1
    except OSError:
        failures += 1
    latencies.append(time.perf_counter() - started)
async def worker(n):
    for _ in range(n):
        await one()
async def main():
    started = time.perf_counter()
    share = [total // concurrency + (1 if i < total % concurrency else 0) for i in range(concurrency)]
    await asyncio.gather(*(worker(n) for n in share))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    print(json.dumps({"rps": total / elapsed, "p50_ms": ordered[len(ordered) // 2] * 1000,
                      "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
                      "failures": failures}))
asyncio.run(main())
"""

MANIFEST = """
apiVersion: v1
kind: Namespace
metadata: {name: bench}
---
apiVersion: v1
kind: Pod
metadata: {name: backend, namespace: bench, labels: {app: backend}}
spec:
  nodeName: node-2
  containers:
  - {name: echo, image: tinykube/echo:1, ports: [{name: http, containerPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: backend, namespace: bench}
spec:
  selector: {app: backend}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: backend, namespace: bench}
spec:
  rules:
  - host: bench
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: backend, port: {number: 80}}}}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: bench}
spec:
  nodeName: node-1
  containers:
  - {name: client, image: "tinykube/tinykube:latest", imagePullPolicy: IfNotPresent, command: [sleep, infinity]}
"""


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the rounds (failures summed)."""
    merged = {key: statistics.median(run[key] for run in runs) for key in ("rps", "p50_ms", "p99_ms")}
    merged["failures"] = sum(run["failures"] for run in runs)
    return merged


def run(env: dict[str, str], *argv: str, stdin: str | None = None) -> str:
    result = subprocess.run(list(argv), cwd=REPO_ROOT, env=env, input=stdin, text=True, capture_output=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(argv[:4])} failed:\n{result.stdout[-1500:]}\n{result.stderr[-1500:]}")
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs per path; medians are printed")
    parser.add_argument("--keep", action="store_true", help="leave the bench cluster running")
    args = parser.parse_args()
    env = {**os.environ, "TINYKUBE_PROJECT": PROJECT, "TINYKUBE_API_PORT": str(free_port())}
    env.pop("KUBECONFIG", None)
    kubeconfig = str(REPO_ROOT / "var" / PROJECT / "kubeconfig")
    kube = [TINYKUBE, "--kubeconfig", kubeconfig]
    print("bringing up the bench cluster ...", flush=True)
    run(env, TINYKUBE, "up")
    try:
        run(env, *kube, "apply", "-f", "-", stdin=MANIFEST)
        deadline = time.monotonic() + 180
        while True:
            pods = json.loads(run(env, *kube, "get", "pods", "-n", "bench", "-o", "json"))["items"]
            ready = [p for p in pods if any(c["type"] == "Ready" and c["status"] == "True"
                                            for c in p["status"].get("conditions") or [])]
            endpoints = json.loads(run(env, *kube, "get", "endpoints", "backend", "-n", "bench", "-o", "json"))
            if len(ready) == 2 and (endpoints.get("subsets") or [{}])[0].get("addresses"):
                break
            if time.monotonic() > deadline:
                sys.exit("bench pods not ready after 180 s")
            time.sleep(1)
        pod_ip = next(p["status"]["podIP"] for p in pods if p["metadata"]["name"] == "backend")
        cluster_ip = json.loads(run(env, *kube, "get", "service", "backend", "-n", "bench", "-o", "json"))[
            "spec"]["clusterIP"]

        def measure(host: str, port: int) -> dict[str, float]:
            out = run(env, *kube, "exec", "-n", "bench", "client", "--", "python", "-c", CLIENT, host, str(port),
                      str(args.requests), str(args.concurrency))
            return json.loads(out.strip().splitlines()[-1])

        ingress_ip = json.loads(run(env, *kube, "get", "service", "ingress", "-n", "kube-system", "-o", "json"))[
            "spec"]["clusterIP"]
        measure(pod_ip, 8080)  # warm-up
        measure(ingress_ip, 80)
        paths = [("pod IP (direct)", pod_ip, 8080), ("ClusterIP (kube-proxy)", cluster_ip, 80),
                 ("Ingress (controller pod)", ingress_ip, 80)]
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in paths}
        for _ in range(args.rounds):  # interleaved, so drift on the machine hits every path alike
            for name, host, port in paths:
                rounds[name].append(measure(host, port))
        results = [(name, median_run(runs)) for name, runs in rounds.items()]
    finally:
        if not args.keep:
            subprocess.run([TINYKUBE, "down", "--volumes"], cwd=REPO_ROOT, env=env, capture_output=True)

    print(f"\n{args.requests} requests x {args.rounds} rounds per path, {args.concurrency} in flight, "
          "client on node-1, backend on node-2 (medians)")
    print(f"{'path':26}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'failed':>8}")
    for name, r in results:
        print(f"{name:26}{r['rps']:9.0f}{r['p50_ms']:9.1f}{r['p99_ms']:9.1f}{int(r['failures']):8d}")
    direct = results[0][1]["rps"]
    ratio = results[1][1]["rps"] / direct
    print(f"ClusterIP / direct throughput: {ratio:.2f} (target >= {TARGET_RATIO:.2f}: "
          f"{'met' if ratio >= TARGET_RATIO else 'MISSED'})")
    print(f"Ingress / direct throughput:   {results[2][1]['rps'] / direct:.2f}")


if __name__ == "__main__":
    main()
