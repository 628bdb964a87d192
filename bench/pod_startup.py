"""Pod startup benchmark on one node: create-to-Running latency through a kubelet with
the Docker runtime, next to raw `docker create + start` of the same containers.

1. raw: N times, create and start a sandbox (tinykube/pause:1) and an app
   container (tinykube/busybox:1 `sleep`) joined to its network namespace,
   straight through the engine API; p50/p99 of the pair. This is the floor.
2. kubelet: starts its own etcd, API server and `python -m kubelet
   --container-runtime-endpoint unix:///var/run/docker.sock --hostname-override
   bench-node`, waits for the Node, then creates N pods bound to it (spec.nodeName)
   one after another and watches them; per pod, latency = first watch event with
   phase Running - the moment its create was sent. p50/p99, and the p50 overhead
   over raw.

A measurement, not a test: targets (overhead <= 150 ms at p50, p99 < 1 s) are
printed beside the figures and the script exits 0 either way. Everything it starts
(processes, a dockerd if none answered, containers) is stopped or removed again.

Kubernetes counterpart: test/e2e_node/density_test.go (pod startup latency),
perf-tests clusterloader2 pod-startup-latency SLO
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tinykube.cluster.engine import (  # noqa: E402
    engine_client,
    ensure_docker,
    remove_containers_with_label,
)
from tinykube.cluster.images import BUSYBOX_IMAGE, PAUSE_IMAGE, build_test_images  # noqa: E402
from tinykube.system import stop_child  # noqa: E402
from tinykube.testing.processes import (  # noqa: E402
    REPO_ROOT,
    free_port,
    plain_kubeconfig_text,
    start_apiserver,
    start_etcd,
)

NODE = "bench-node"
BENCH_LABEL = "io.tinykube.bench"
TARGET_OVERHEAD_P50_MS = 150.0
TARGET_P99_MS = 1000.0


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def summary(samples: list[float]) -> str:
    if not samples:
        return "no samples"
    return (f"p50 {percentile(samples, 0.5) * 1000:7.1f} ms  p99 {percentile(samples, 0.99) * 1000:7.1f} ms  "
            f"mean {statistics.mean(samples) * 1000:7.1f} ms  (n={len(samples)})")


def raw_docker_pairs(endpoint: str, count: int) -> list[float]:
    """Seconds per sandbox+app pair created and started through the engine API."""
    durations = []
    with engine_client(endpoint, timeout_seconds=60) as engine:
        def run(body: dict[str, object]) -> str:
            created = engine.post("/containers/create", json=body)
            created.raise_for_status()
            container_id = str(created.json()["Id"])
            engine.post(f"/containers/{container_id}/start").raise_for_status()
            return container_id

        for _ in range(count):
            labels = {BENCH_LABEL: "raw"}
            started = time.monotonic()
            sandbox = run({"Image": PAUSE_IMAGE, "Labels": labels, "HostConfig": {"IpcMode": "shareable"}})
            run({"Image": BUSYBOX_IMAGE, "Cmd": ["sleep", "3600"], "Labels": labels, "HostConfig": {
                "NetworkMode": f"container:{sandbox}", "IpcMode": f"container:{sandbox}", "Init": True}})
            durations.append(time.monotonic() - started)
    remove_containers_with_label(endpoint, f"{BENCH_LABEL}=raw")
    return durations


def pod(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "bench"}},
            "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 0, "containers": [{
                "name": "app", "image": BUSYBOX_IMAGE, "command": ["sleep", "3600"]}]}}


async def kubelet_pods(base_url: str, namespace: str, count: int, deadline_seconds: float) -> list[float]:
    """Create `count` pods one at a time; seconds from each create to its first Running."""
    sent: dict[str, float] = {}
    latencies: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(30, read=None)) as http:
        listed = (await http.get(f"/api/v1/namespaces/{namespace}/pods")).json()
        params = {"watch": "true", "resourceVersion": listed["metadata"]["resourceVersion"]}
        async with http.stream("GET", f"/api/v1/namespaces/{namespace}/pods", params=params) as response:
            async def watch() -> None:
                async for line in response.aiter_lines():
                    if not line.strip():
                        continue
                    obj = json.loads(line).get("object") or {}
                    name = (obj.get("metadata") or {}).get("name", "")
                    if (obj.get("status") or {}).get("phase") == "Running" and name in sent \
                            and name not in latencies:
                        latencies[name] = time.monotonic() - sent[name]
                        if len(latencies) == count:
                            return

            async def create() -> None:
                for i in range(count):
                    name = f"pod-{i:03d}"
                    sent[name] = time.monotonic()
                    created = await http.post(f"/api/v1/namespaces/{namespace}/pods", json=pod(name))
                    created.raise_for_status()
                    while name not in latencies and time.monotonic() - sent[name] < deadline_seconds:
                        await asyncio.sleep(0.005)  # one pod at a time: wait for this one first

            watcher = asyncio.create_task(watch())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(create(), deadline_seconds * 2)
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
    if len(latencies) < count:
        print(f"  only {len(latencies)}/{count} pods reached Running before the deadline")
    return list(latencies.values())


def wait_for_node(http: httpx.Client, kubelet: subprocess.Popen[bytes], timeout_seconds: float) -> bool:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline and kubelet.poll() is None:
        if http.get(f"/api/v1/nodes/{NODE}").status_code == 200:
            return True
        time.sleep(0.1)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument("--deadline-seconds", type=float, default=20.0, help="per pod")
    args = parser.parse_args()

    daemon = ensure_docker()
    workdir = Path(tempfile.mkdtemp(prefix="tinykube-bench-pod-startup-"))
    etcd = kubelet = api = None
    uids: list[str] = []
    try:
        build_test_images(daemon.endpoint)
        raw = raw_docker_pairs(daemon.endpoint, args.pods)
        print(f"raw docker create+start, sandbox+app: {summary(raw)}")

        etcd = start_etcd(workdir / "etcd")
        api = start_apiserver(etcd.url, workdir / "apiserver")
        kubeconfig = workdir / "kubeconfig-plain"
        kubeconfig.write_text(plain_kubeconfig_text(api.http_url, "bench"))
        with open(workdir / "kubelet.log", "wb") as log:
            kubelet = subprocess.Popen(
                [sys.executable, "-m", "kubelet", "--container-runtime-endpoint", daemon.endpoint,
                 "--hostname-override", NODE, "--kubeconfig", str(kubeconfig), "--port", str(free_port()),
                 "--root-dir", str(workdir / "kubelet"), "--v=2"],
                cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
        http = httpx.Client(base_url=api.http_url, timeout=30)
        if not wait_for_node(http, kubelet, 60):
            print(f"kubelet did not register {NODE}; see {workdir / 'kubelet.log'}")
            return 0
        namespace = f"bench-{uuid.uuid4().hex[:6]}"
        http.post("/api/v1/namespaces", json={"metadata": {"name": namespace}}).raise_for_status()
        latencies = asyncio.run(kubelet_pods(api.http_url, namespace, args.pods, args.deadline_seconds))
        print(f"kubelet create -> Running:            {summary(latencies)}")
        if latencies:
            overhead_ms = (percentile(latencies, 0.5) - percentile(raw, 0.5)) * 1000
            p99_ms = percentile(latencies, 0.99) * 1000
            print(f"overhead over raw at p50: {overhead_ms:.1f} ms (target <= {TARGET_OVERHEAD_P50_MS:.0f} ms); "
                  f"p99 {p99_ms:.1f} ms (target < {TARGET_P99_MS:.0f} ms)")
        uids = [item["metadata"]["uid"] for item in
                http.get(f"/api/v1/namespaces/{namespace}/pods").json().get("items", [])]
        http.delete(f"/api/v1/namespaces/{namespace}")
        return 0
    finally:
        if kubelet is not None:
            stop_child(kubelet, 20)
        for uid in uids:  # whatever the kubelet left behind
            remove_containers_with_label(daemon.endpoint, f"io.kubernetes.pod.uid={uid}")
        if api is not None:
            api.stop()
        if etcd is not None:
            etcd.stop()
        daemon.stop()
        print(f"logs: {workdir}")


if __name__ == "__main__":
    sys.exit(main())
