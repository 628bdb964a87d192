"""Large-kind benchmark: listing 10,000 pods and 50 MB of ConfigMaps, and restarting
an API server over them, next to etcd's own paged read of the same data.

Starts its own etcd and API server (real processes, plain HTTP port), then:

1. writes P pods (about 1.5 KB each) and C ConfigMaps of S bytes straight into
   etcd through `EtcdStorage` (the API server's watch caches receive them as
   events, as from another API server);
2. raw: reads each prefix with `EtcdStorage.list` (paged, one revision) in this
   process: the floor for an API list;
3. API: `GET /api/v1/pods` (one response), the same list in kubectl's chunks of
   500 (`limit` + `continue`), and `GET /api/v1/configmaps`; time to the last byte;
4. the API server's resident memory (VmRSS) with all of it in its watch caches;
5. restarts the API server and times it until `/readyz` answers 200 (its watch
   caches list everything again).

A measurement, not a test: it exits 0 either way. Everything it starts is stopped
by PID and its temporary directories are removed.

Kubernetes counterpart: perf-tests clusterloader2 (list latency SLO), the
apiserver's etcd3 store GetList paging
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import chunked_list_seconds, rss_mib, stop_on_sigterm, timed_get  # noqa: E402
from apiserver.storage.etcd import EtcdStorage  # noqa: E402
from tinykube.testing.processes import start_apiserver, start_etcd  # noqa: E402


def small_pod(i: int) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"pod-{i:05d}", "namespace": "default", "uid": str(uuid.uuid4()),
                         "labels": {"app": "bench"}, "annotations": {"note": "n" * 1000}},
            "spec": {"nodeName": f"node-{i % 500}", "containers": [
                {"name": "app", "image": "registry.k8s.io/pause:3.10",
                 "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]},
            "status": {"phase": "Running"}}


def config_map(i: int, size: int) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": f"big-{i:03d}", "namespace": "default", "uid": str(uuid.uuid4())},
            "data": {"blob": "x" * size}}


async def write_all(etcd_url: str, pods: int, config_maps: int, size: int) -> float:
    storage = EtcdStorage(etcd_url)
    await storage.connect()
    started = time.perf_counter()
    try:
        for start in range(0, pods, 200):
            await asyncio.gather(*(storage.create(f"/registry/pods/default/pod-{i:05d}", small_pod(i))
                                   for i in range(start, min(pods, start + 200))))
        for i in range(config_maps):
            await storage.create(f"/registry/configmaps/default/big-{i:03d}", config_map(i, size))
    finally:
        await storage.close()
    return time.perf_counter() - started


async def raw_list_seconds(etcd_url: str, prefix: str) -> tuple[float, int]:
    storage = EtcdStorage(etcd_url)
    await storage.connect()
    try:
        started = time.perf_counter()
        items, _ = await storage.list(prefix)
        return time.perf_counter() - started, len(items)
    finally:
        await storage.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--config-maps", type=int, default=50)
    parser.add_argument("--config-map-bytes", type=int, default=1_000_000)
    args = parser.parse_args()
    stop_on_sigterm()
    workdir = Path(tempfile.mkdtemp(prefix="tinykube-bench-lists-"))
    etcd = start_etcd(workdir / "etcd")
    server = start_apiserver(etcd.url, workdir / "apiserver")
    try:
        write_seconds = asyncio.run(write_all(etcd.url, args.pods, args.config_maps,
                                              args.config_map_bytes))
        mb = args.config_maps * args.config_map_bytes / 1e6
        print(f"tinykube large-list benchmark: {os.cpu_count()} CPU cores, Python "
              f"{sys.version.split()[0]}; {args.pods:,} pods + {args.config_maps} ConfigMaps "
              f"({mb:.0f} MB) written straight to etcd in {write_seconds:.1f} s; load average "
              f"{os.getloadavg()[0]:.1f}\n")
        rows: list[tuple[str, str]] = []
        with httpx.Client(base_url=server.http_url, timeout=300) as client:
            for path, prefix, what in (("/api/v1/pods", "/registry/pods/", "pods"),
                                       ("/api/v1/configmaps", "/registry/configmaps/",
                                        "ConfigMaps")):
                raw, raw_count = asyncio.run(raw_list_seconds(etcd.url, prefix))
                seconds, response = timed_get(client, path)
                count = len(response.json()["items"])
                rows.append((f"raw etcd paged read, {what} ({raw_count:,})", f"{raw * 1000:,.0f} ms"))
                rows.append((f"API list {path} ({count:,} items, {len(response.content) / 1e6:.1f} MB)",
                             f"{seconds * 1000:,.0f} ms"))
            chunked, chunked_count = chunked_list_seconds(client, "/api/v1/pods")
            rows.append((f"API list pods in chunks of 500 ({chunked_count:,} items)",
                         f"{chunked * 1000:,.0f} ms"))
            rows.append(("API server RSS with everything cached",
                         f"{rss_mib(server.proc.process.pid):,.0f} MiB"))
            started = time.perf_counter()
            server.restart()
            rows.append(("API server restart until /readyz 200", f"{time.perf_counter() - started:.1f} s"))
            rows.append(("API server RSS after the restart",
                         f"{rss_mib(server.proc.process.pid):,.0f} MiB"))
        width = max(len(name) for name, _ in rows)
        for name, value in rows:
            print(f"{name:<{width}}  {value:>12}")
    finally:
        server.stop()
        etcd.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
