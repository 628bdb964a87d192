"""CLI benchmark: `tinykube get pods` on a namespace with 500 pods, next to raw HTTP.

Starts its own etcd and API server (`tinykube.testing.processes`), creates N pods
in one namespace (nothing schedules them: they stay Pending, which is fine for a
list), then measures, best of R runs each:

1. `tinykube get pods` as a subprocess, wall time from spawn to exit (Python start,
   imports, kubeconfig, HTTPS + token, the server-side Table, printing);
2. a raw HTTPS list of the same pods with one httpx request (the floor the CLI pays
   on the wire), as plain JSON and as a Table.

The figures are a measurement, not a test: the target ("well under a second") is
printed next to them and the script exits 0 either way. Everything it starts is
stopped by PID.

Kubernetes counterpart: none (kubectl has no benchmark; compare `time kubectl get pods`)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tinykube.cli.printers import TABLE_ACCEPT  # noqa: E402
from tinykube.testing.processes import start_apiserver, start_etcd  # noqa: E402

NAMESPACE = "bench-cli"
TARGET_SECONDS = 1.0


async def create_pods(base_url: str, count: int, concurrency: int = 16) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        response = await client.post("/api/v1/namespaces", json={"metadata": {"name": NAMESPACE}})
        response.raise_for_status()
        queue: asyncio.Queue[int] = asyncio.Queue()
        for index in range(count):
            queue.put_nowait(index)

        async def worker() -> None:
            while not queue.empty():
                index = queue.get_nowait()
                created = await client.post(f"/api/v1/namespaces/{NAMESPACE}/pods", json={
                    "metadata": {"name": f"pod-{index:04d}", "labels": {"app": "bench"}},
                    "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
                created.raise_for_status()

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def best_of(runs: int, action: object) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="tinykube-bench-cli-"))
    etcd = start_etcd(workdir / "etcd")
    apiserver = None
    try:
        apiserver = start_apiserver(etcd.url, workdir / "apiserver")
        asyncio.run(create_pods(apiserver.http_url, options.pods))
        argv = [sys.executable, "-m", "tinykube.cli", "--kubeconfig", str(apiserver.kubeconfig),
                "-n", NAMESPACE, "get", "pods"]
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}

        def cli() -> None:
            result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
            assert result.returncode == 0, result.stderr
            rows = len(result.stdout.splitlines()) - 1
            assert rows == options.pods, f"expected {options.pods} rows, got {rows}"

        headers = {"Authorization": f"Bearer {apiserver.token}"}
        path = f"/api/v1/namespaces/{NAMESPACE}/pods"
        with httpx.Client(base_url=apiserver.https_url, verify=str(apiserver.ca_file),
                          headers=headers, timeout=60) as client:
            client.get("/version").raise_for_status()  # connection warm, like a pooled client

            def raw_json() -> None:
                assert len(client.get(path, params={"limit": 500}).json()["items"]) == options.pods

            def raw_table() -> None:
                table = client.get(path, params={"limit": 500}, headers={"Accept": TABLE_ACCEPT})
                assert len(table.json()["rows"]) == options.pods

            cli_seconds = best_of(options.runs, cli)
            json_seconds = best_of(options.runs, raw_json)
            table_seconds = best_of(options.runs, raw_table)
        startup = best_of(options.runs, lambda: subprocess.run(
            [sys.executable, "-m", "tinykube.cli", "--help"], capture_output=True, env=env, check=True))
        print(f"pods in namespace:                 {options.pods}")
        print(f"tinykube get pods (subprocess):    {cli_seconds * 1000:8.1f} ms   "
              f"(best of {options.runs}; target well under {TARGET_SECONDS:.0f} s)")
        print(f"  of which CLI start-up (--help):  {startup * 1000:8.1f} ms")
        print(f"raw HTTPS list, JSON:              {json_seconds * 1000:8.1f} ms")
        print(f"raw HTTPS list, Table:             {table_seconds * 1000:8.1f} ms")
        print(f"CLI / raw Table ratio:             {cli_seconds / table_seconds:8.1f}x")
        verdict = "OK" if cli_seconds < TARGET_SECONDS else "SLOWER THAN TARGET"
        print(f"verdict:                           {verdict}")
    finally:
        if apiserver is not None:
            apiserver.stop()
        etcd.stop()


if __name__ == "__main__":
    main()
