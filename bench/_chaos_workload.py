"""The chaos benchmark's clients: a CAS writer and resuming watchers, and the checker.

`Writer` keeps `objects` ConfigMaps and updates them in turn with compare-and-swap
(PUT with the resourceVersion it last got; a 409 is answered by reading the object
again), plus one create in every ten writes. Only a 200/201 is an acknowledged write;
every success is timestamped, so the longest gap in a window is the write
unavailability. `Watcher` watches the namespace's ConfigMaps from the list's
resourceVersion and resumes from the last one it saw after any disconnect (a 410
forces a relist, which the checker reports). `check` compares: every acknowledged
write must be seen exactly once by every watcher, in resourceVersion order per
object, and be in the final state (or superseded by a later write).

Kubernetes counterpart: test/e2e/apimachinery/watch.go (resuming watches), etcd's functional tester checkers
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import httpx

from tinykube.cluster.compose import AdminAccess


@dataclass(frozen=True)
class Ack:
    name: str
    resource_version: int
    seq: int
    at: float  # time.monotonic() when acknowledged


@dataclass
class Writer:
    access: AdminAccess
    namespace: str
    objects: int = 20
    acks: list[Ack] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def path(self, name: str = "") -> str:
        return f"/api/v1/namespaces/{self.namespace}/configmaps" + (f"/{name}" if name else "")

    def run(self) -> None:
        client = self.access.client()
        versions: dict[str, str] = {}
        seq = 0
        while not self.stop.is_set():
            seq += 1
            try:
                if seq % 10 == 0 or len(versions) < self.objects:
                    name = f"obj-{seq}"
                    response = client.post(self.path(), json={"metadata": {"name": name},
                                                              "data": {"seq": str(seq)}}, timeout=5)
                    if response.status_code == 201:
                        self._acked(name, response.json(), seq)
                        if len(versions) < self.objects:
                            versions[name] = response.json()["metadata"]["resourceVersion"]
                    continue
                name = sorted(versions)[seq % len(versions)]
                response = client.put(self.path(name), timeout=5, json={
                    "metadata": {"name": name, "resourceVersion": versions[name]}, "data": {"seq": str(seq)}})
                if response.status_code == 200:
                    versions[name] = response.json()["metadata"]["resourceVersion"]
                    self._acked(name, response.json(), seq)
                elif response.status_code == 409:  # an unacknowledged earlier write landed
                    current = client.get(self.path(name), timeout=5)
                    if current.status_code == 200:
                        versions[name] = current.json()["metadata"]["resourceVersion"]
            except httpx.HTTPError:
                time.sleep(0.05)
        client.close()

    def _acked(self, name: str, obj: dict, seq: int) -> None:  # type: ignore[type-arg]
        self.acks.append(Ack(name, int(obj["metadata"]["resourceVersion"]), seq, time.monotonic()))


@dataclass
class Watcher:
    access: AdminAccess
    namespace: str
    seen: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    relists: int = 0
    reconnects: int = 0
    start_version: int = 0  # the first list's: writes at or before it are in the list, not events
    listed: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        path = f"/api/v1/namespaces/{self.namespace}/configmaps"
        client = self.access.client()
        version = ""
        while not self.stop.is_set():
            try:
                if not version:
                    listed = client.get(path, timeout=10)
                    listed.raise_for_status()
                    version = listed.json()["metadata"]["resourceVersion"]
                    if not self.listed.is_set():
                        self.start_version = int(version)
                        self.listed.set()
                params = {"watch": "true", "resourceVersion": version, "allowWatchBookmarks": "true",
                          "timeoutSeconds": "30"}
                with client.stream("GET", path, params=params, timeout=httpx.Timeout(10, read=45)) as stream:
                    for line in stream.iter_lines():
                        event = json.loads(line)
                        if event["type"] == "ERROR":
                            self.relists += 1  # 410 Gone: events in between cannot be resumed
                            version = ""
                            break
                        version = event["object"]["metadata"]["resourceVersion"]
                        if event["type"] in ("ADDED", "MODIFIED"):
                            self.seen[event["object"]["metadata"]["name"]].append(int(version))
                        if self.stop.is_set():
                            break
            except (httpx.HTTPError, json.JSONDecodeError):
                self.reconnects += 1
                time.sleep(0.1)
        client.close()


@dataclass
class Verdict:
    lost: list[Ack]
    missed: dict[int, list[Ack]]  # watcher index -> acknowledged writes it never saw
    duplicated: dict[int, list[Ack]]
    out_of_order: dict[int, int]


def check(acks: list[Ack], watchers: list[Watcher], final: dict[str, int]) -> Verdict:
    """`final`: name -> resourceVersion of every ConfigMap read at the end."""
    lost = [a for a in acks if final.get(a.name, -1) < a.resource_version]
    missed: dict[int, list[Ack]] = {}
    duplicated: dict[int, list[Ack]] = {}
    out_of_order: dict[int, int] = {}
    for index, watcher in enumerate(watchers):
        counts = {name: _count(versions) for name, versions in watcher.seen.items()}
        watched = [a for a in acks if a.resource_version > watcher.start_version]
        missed[index] = [a for a in watched if counts.get(a.name, {}).get(a.resource_version, 0) == 0]
        duplicated[index] = [a for a in watched if counts.get(a.name, {}).get(a.resource_version, 0) > 1]
        out_of_order[index] = sum(1 for versions in watcher.seen.values()
                                  for before, after in zip(versions, versions[1:]) if after <= before)
    return Verdict(lost, missed, duplicated, out_of_order)


def _count(versions: list[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for version in versions:
        counts[version] = counts.get(version, 0) + 1
    return counts


def longest_gap(acks: list[Ack], start: float, end: float) -> float:
    """The longest time in [start, end] with no acknowledged write."""
    moments = [start] + sorted(a.at for a in acks if start <= a.at <= end) + [end]
    return max(b - a for a, b in zip(moments, moments[1:]))
