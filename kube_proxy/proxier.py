"""The iptables proxier: watch Services and EndpointSlices, and after each batch of changes
recompute the node's whole rule set and apply it in one `iptables-restore`.

- Changes are batched: a sync starts at most every `min_sync_seconds` (the first
  change after a quiet period is applied at once), plus a full resync every
  `sync_seconds` in case something else touched the rules.
- A sync reads the chains that exist (`iptables-save`), so chains of deleted
  Services are removed in the same transaction that stops referencing them.
- The jumps from the built-in chains (PREROUTING, OUTPUT, POSTROUTING, FORWARD,
  INPUT) are checked and inserted on each sync: a restarted Docker engine puts its
  own rules first again.
- Each sync's duration and outcome are kept for /metrics and /healthz.

Kubernetes counterpart: pkg/proxy/iptables/proxier.go, pkg/proxy/healthcheck
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from kube_proxy.rules import JUMPS, build_rules, chains_in, service_ports
from tinykube.api.resources import ENDPOINT_SLICES, SERVICES
from tinykube.client import RESTClient, SharedInformer
from tinykube.system import Runner, run_command

log = logging.getLogger(__name__)


@dataclass
class SyncStats:
    """What /metrics and /healthz report."""

    syncs: int = 0
    failures: int = 0
    last_sync_seconds: float = 0.0
    last_success_at: float = 0.0  # time.time()
    durations: list[float] = field(default_factory=list)  # the last 1000, for quantiles
    rules: int = 0
    service_ports: int = 0

    def record(self, seconds: float, ok: bool, rules: int = 0, ports: int = 0) -> None:
        self.syncs += 1
        self.last_sync_seconds = seconds
        self.durations = (self.durations + [seconds])[-1000:]
        if ok:
            self.last_success_at, self.rules, self.service_ports = time.time(), rules, ports
        else:
            self.failures += 1


class Proxier:
    def __init__(self, client: RESTClient, node_name: str, cluster_cidr: str, *,
                 runner: Runner = run_command, min_sync_seconds: float = 1.0, sync_seconds: float = 30.0) -> None:
        self.node_name = node_name
        self.cluster_cidr = cluster_cidr
        self.runner = runner
        self.min_sync_seconds = min_sync_seconds
        self.sync_seconds = sync_seconds
        self.stats = SyncStats()
        self.services = SharedInformer(client, SERVICES, indexers={}, typed=True)
        self.endpoint_slices = SharedInformer(client, ENDPOINT_SLICES, indexers={}, typed=True)
        self._changed = asyncio.Event()
        for informer in (self.services, self.endpoint_slices):
            informer.add_event_handler(on_add=self._on_change, on_update=lambda old, new: self._on_change(new),
                                       on_delete=self._on_change)

    def _on_change(self, _: object) -> None:
        self._changed.set()

    def synced(self) -> bool:
        return self.services.has_synced() and self.endpoint_slices.has_synced()

    async def run(self) -> None:
        self.services.start()
        self.endpoint_slices.start()
        last = 0.0
        try:
            while True:
                try:
                    await asyncio.wait_for(self._changed.wait(), self.sync_seconds)
                except TimeoutError:
                    pass
                if not self.synced():
                    await asyncio.sleep(0.1)
                    continue
                wait = last + self.min_sync_seconds - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)  # batch what arrives meanwhile into this sync
                self._changed.clear()
                last = time.monotonic()
                await self.sync()
        finally:
            await self.services.stop()
            await self.endpoint_slices.stop()

    async def sync(self) -> bool:
        started = time.perf_counter()
        ports = service_ports(self.services.indexer.list(), self.endpoint_slices.indexer.list())
        try:
            _, saved = await self._run(["iptables-save", "-t", "nat"])
            text = build_rules(ports, self.node_name, self.cluster_cidr, chains_in(saved))
            await self._run(["iptables-restore", "-w", "--noflush"], text)
            for table, builtin, chain, match in JUMPS:
                rule = [*match, "-j", chain]
                present, _ = await self.runner(["iptables", "-w", "-t", table, "-C", builtin, *rule], None)
                if present != 0:
                    await self._run(["iptables", "-w", "-t", table, "-I", builtin, "1", *rule])
        except RuntimeError as err:
            self.stats.record(time.perf_counter() - started, False)
            log.error("sync failed err=%s", err)
            return False
        elapsed = time.perf_counter() - started
        self.stats.record(elapsed, True, text.count("\n-A "), len(ports))
        log.info("synced service_ports=%d rules=%d seconds=%.3f", len(ports), text.count("\n-A "), elapsed)
        return True

    async def _run(self, argv: list[str], stdin: str | None = None) -> tuple[int, str]:
        code, output = await self.runner(argv, stdin)
        if code != 0:
            raise RuntimeError(f"{argv[0]}: exit {code}: {output.strip()[-500:]}")
        return code, output
