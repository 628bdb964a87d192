"""What bench/density.py measures while the pods come up: the pods' progress from one
watch, and the latency probes sent every 100 ms.

- `PodTally` counts pods seen created, bound (spec.nodeName) and Running on a watch
  of the Deployments' namespace, with the monotonic time of each last one.
- `Probes`, open loop (a probe goes out every 100 ms whether or not the last one
  was answered, up to `MAX_OUTSTANDING` unanswered probes of a kind; beyond that
  a probe is skipped and counted, so that a slow server is not flooded by the
  bench's own probes): GET of one Node (read latency), and a merge PATCH of an annotation
  `bench/seq` on one probe pod; fan-out latency = the moment a watch on the probe's
  namespace read the event carrying that seq minus the moment just before the PATCH
  was sent.

Kubernetes counterpart: perf-tests clusterloader2 APIResponsivenessPrometheus and
PodStartupLatency measurements
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable

import httpx

from _common import percentile, pod

PROBE_INTERVAL_SECONDS = 0.1
PROBE_POD = "probe"
MAX_OUTSTANDING = 10


class PodTally:
    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.created: set[str] = set()
        self.bound: set[str] = set()
        self.running: set[str] = set()
        self.last_created = self.last_bound = self.last_running = float("nan")
        self.all_running = asyncio.Event()

    def observe(self, obj: dict) -> None:
        name = obj["metadata"]["name"]
        now = time.monotonic()
        if name not in self.created:
            self.created.add(name)
            self.last_created = now
        if obj.get("spec", {}).get("nodeName") and name not in self.bound:
            self.bound.add(name)
            self.last_bound = now
        if obj.get("status", {}).get("phase") == "Running" and name not in self.running:
            self.running.add(name)
            self.last_running = now
            if len(self.running) >= self.expected:
                self.all_running.set()

    def summary(self) -> str:
        return (f"{len(self.created):,} created, {len(self.bound):,} bound, {len(self.running):,} Running "
                f"of {self.expected:,}")

    def rows(self, first: float, raw_rate: float) -> list[tuple[str, str, str]]:
        created, bound = len(self.created), len(self.bound)
        create_rate = created / (self.last_created - first)
        bound_rate = bound / (self.last_bound - first)
        running = len(self.running)
        verdict = "PASS" if running >= self.expected else "BELOW TARGET"
        return [
            (f"pods created by the controllers ({created:,})", f"{create_rate:,.0f} pods/s",
             f"ratio to raw creates {create_rate / raw_rate:.2f}"),
            (f"scheduling throughput, pods bound ({bound:,})", f"{bound_rate:,.0f} pods/s",
             f"ratio to raw creates {bound_rate / raw_rate:.2f}"),
            ("last pod bound after the first Deployment", f"{self.last_bound - first:,.1f} s", ""),
            (f"pods Running ({running:,})", f"{self.last_running - first:,.1f} s",
             f"{self.expected:,} Running  {verdict}"),
        ]


async def watch_events(base_url: str, path: str, resource_version: str) -> AsyncIterator[dict]:
    """Watch `path` from `resource_version` forever, resuming after a closed stream from the
    last resourceVersion seen; after a 410, relists and yields the items as ADDED events."""
    timeout = httpx.Timeout(30, read=None)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout) as http:
        while True:
            params = {"watch": "true", "resourceVersion": resource_version, "allowWatchBookmarks": "true"}
            async with http.stream("GET", path, params=params) as response:
                async for line in response.aiter_lines():
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    obj = event.get("object") or {}
                    if event.get("type") == "ERROR":
                        listed = (await http.get(path)).json()
                        resource_version = listed["metadata"]["resourceVersion"]
                        for item in listed["items"]:
                            yield {"type": "ADDED", "object": item}
                        break
                    resource_version = obj.get("metadata", {}).get("resourceVersion", resource_version)
                    if event.get("type") != "BOOKMARK":
                        yield event


async def watch_pods(base_url: str, namespace: str, resource_version: str, tally: PodTally) -> None:
    async for event in watch_events(base_url, f"/api/v1/namespaces/{namespace}/pods", resource_version):
        if event["type"] != "DELETED":
            tally.observe(event["object"])


class Probes:
    """GET and PATCH probes every 100 ms while the pods come up (see the module docstring)."""

    def __init__(self, base_url: str, node_name: str, namespace: str = "bench-probe") -> None:
        self.base_url, self.node_name, self.namespace = base_url, node_name, namespace
        self.get_seconds: list[float] = []
        self.patch_seconds: list[float] = []
        self.fanout_seconds: list[float] = []
        self.sent: dict[str, float] = {}
        self.errors = 0
        self.skipped = 0
        self.outstanding = {"get": 0, "patch": 0}
        self.tasks: list[asyncio.Task[None]] = []
        self.pending: set[asyncio.Task[None]] = set()
        self.http = httpx.AsyncClient(base_url=base_url, timeout=60,
                                      limits=httpx.Limits(max_connections=200))

    async def start(self) -> None:
        response = await self.http.post(f"/api/v1/namespaces/{self.namespace}/pods",
                                        json=pod(PROBE_POD, "bench-nobody"))
        response.raise_for_status()
        rv = response.json()["metadata"]["resourceVersion"]
        self.tasks = [asyncio.create_task(self.watch(rv)), asyncio.create_task(self.tick())]

    async def stop(self) -> None:
        for task in [*self.tasks, *self.pending]:
            task.cancel()
        await asyncio.gather(*self.tasks, *self.pending, return_exceptions=True)
        await self.http.aclose()

    async def tick(self) -> None:
        seq = 0
        next_at = time.monotonic()
        while True:
            seq += 1
            for kind, probe in (("get", self.get_node), ("patch", lambda s=str(seq): self.patch_probe(s))):
                if self.outstanding[kind] >= MAX_OUTSTANDING:
                    self.skipped += 1
                    continue
                task = asyncio.create_task(self.timed(kind, probe))
                self.pending.add(task)
                task.add_done_callback(self.pending.discard)
            next_at += PROBE_INTERVAL_SECONDS
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def timed(self, kind: str, probe: Callable[[], object]) -> None:
        self.outstanding[kind] += 1
        try:
            await probe()  # type: ignore[misc]
        except httpx.HTTPError:
            self.errors += 1
        finally:
            self.outstanding[kind] -= 1

    async def get_node(self) -> None:
        started = time.monotonic()
        response = await self.http.get(f"/api/v1/nodes/{self.node_name}")
        if response.status_code != 200:
            self.errors += 1
        else:
            self.get_seconds.append(time.monotonic() - started)

    async def patch_probe(self, seq: str) -> None:
        body = {"metadata": {"annotations": {"bench/seq": seq}}}
        self.sent[seq] = started = time.monotonic()
        response = await self.http.patch(f"/api/v1/namespaces/{self.namespace}/pods/{PROBE_POD}", json=body,
                                         headers={"Content-Type": "application/merge-patch+json"})
        if response.status_code != 200:
            self.errors += 1
            self.sent.pop(seq, None)
        else:
            self.patch_seconds.append(time.monotonic() - started)

    async def watch(self, resource_version: str) -> None:
        path = f"/api/v1/namespaces/{self.namespace}/pods"
        seen: set[str] = set()
        async for event in watch_events(self.base_url, path, resource_version):
            seq = (event["object"]["metadata"].get("annotations") or {}).get("bench/seq")
            if seq in self.sent and seq not in seen:
                seen.add(seq)
                self.fanout_seconds.append(time.monotonic() - self.sent[seq])

    def rows(self, target_get_p99: float) -> list[tuple[str, str, str]]:
        def ms(values: list[float]) -> str:
            return " / ".join(f"{percentile(values, q) * 1000:,.0f}" for q in (0.5, 0.99, 1.0)) + " ms"

        get_p99 = percentile(self.get_seconds, 0.99)
        verdict = "PASS" if get_p99 < target_get_p99 else "BELOW TARGET"
        return [
            (f"GET one Node every 100 ms, p50/p99/max ({len(self.get_seconds):,})", ms(self.get_seconds),
             f"p99 < {target_get_p99 * 1000:,.0f} ms  {verdict}"),
            (f"PATCH one pod every 100 ms, p50/p99/max ({len(self.patch_seconds):,})", ms(self.patch_seconds), ""),
            (f"watch fan-out PATCH->event, p50/p99/max ({len(self.fanout_seconds):,} of {len(self.sent):,})",
             ms(self.fanout_seconds), ""),
            (f"probe errors (not 200) / probes skipped ({MAX_OUTSTANDING} unanswered)", f"{self.errors} / {self.skipped}",
             ""),
        ]
