"""Leader election on a coordination.k8s.io/v1 Lease: one active replica at a time.

Candidates race to write their identity into one Lease. The holder renews it every
`retry_period`; the others keep polling and take it over only when it has not been
renewed for `lease_duration`. Every write carries the resourceVersion that was read,
so two candidates can never both succeed (the loser gets 409 Conflict).

- Expiry is judged by *our* clock: the time we last saw the lease record change,
  plus its leaseDurationSeconds. Clocks of different machines are never compared.
- A leader that cannot renew for `renew_deadline` gives up: `on_stopped_leading`
  runs and its work is cancelled, before another candidate can take over
  (renew_deadline < lease_duration).
- On a clean stop the leader releases the lease (empty holderIdentity,
  leaseDurationSeconds 1), so a successor need not wait for expiry (ReleaseOnCancel).

Kubernetes counterpart: staging/src/k8s.io/client-go/tools/leaderelection/leaderelection.go,
.../leaderelection/resourcelock/leaselock.go
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any, Protocol

from tinykube.api.meta import ObjectMeta, format_rfc3339
from tinykube.api.other import Lease, LeaseSpec
from tinykube.api.resources import LEASES, ResourceInfo
from tinykube.client.clock import REAL_CLOCK, Clock
from tinykube.client.errors import APIStatusError, ClientError, NotFound

log = logging.getLogger(__name__)

JITTER_FACTOR = 1.2


class LeaseClient(Protocol):
    """The three calls leader election makes; `RESTClient` provides them."""

    async def get(self, info: ResourceInfo, name: str, namespace: str | None = None) -> dict[str, Any]: ...

    async def create(self, info: ResourceInfo, body: Any, namespace: str | None = None) -> dict[str, Any]: ...

    async def update(self, info: ResourceInfo, body: Any, namespace: str | None = None) -> dict[str, Any]: ...


class LeaderElector:
    """Runs `on_started_leading` only while this process holds the lease.

    - `run()` returns after leadership ends (lost, the work returned, or cancelled).
    - `on_stopped_leading` is called exactly once per `run()` that acquired the lease.
    """

    def __init__(self, client: LeaseClient, namespace: str, name: str, identity: str, *,
                 lease_duration_seconds: float = 15.0, renew_deadline_seconds: float = 10.0,
                 retry_period_seconds: float = 2.0, release_on_cancel: bool = True,
                 on_stopped_leading: Callable[[], Any] | None = None,
                 on_new_leader: Callable[[str], Any] | None = None,
                 clock: Clock = REAL_CLOCK, rng: Callable[[], float] = random.random) -> None:
        if not lease_duration_seconds > renew_deadline_seconds > retry_period_seconds * JITTER_FACTOR:
            raise ValueError("need lease_duration > renew_deadline > retry_period * 1.2")
        if not identity:
            raise ValueError("identity must not be empty")
        self.client, self.namespace, self.name, self.identity = client, namespace, name, identity
        self.lease_duration_seconds = lease_duration_seconds
        self.renew_deadline_seconds = renew_deadline_seconds
        self.retry_period_seconds = retry_period_seconds
        self.release_on_cancel = release_on_cancel
        self.on_stopped_leading, self.on_new_leader = on_stopped_leading, on_new_leader
        self._clock, self._rng = clock, rng
        self._observed_lease: Lease | None = None
        self._observed_spec: LeaseSpec | None = None
        self._observed_time = 0.0
        self._reported_leader: str | None = None

    def get_leader(self) -> str:
        """The holder we last observed ("" if none)."""
        return (self._observed_spec.holder_identity or "") if self._observed_spec else ""

    def is_leader(self) -> bool:
        return self._observed_spec is not None and self.get_leader() == self.identity

    async def run(self, on_started_leading: Callable[[], Awaitable[Any]]) -> None:
        await self.acquire()
        log.info("became leader lease=%s/%s identity=%s", self.namespace, self.name, self.identity)
        work = asyncio.create_task(on_started_leading(), name=f"leading {self.name}")
        renewing = asyncio.create_task(self.renew(), name=f"renew {self.name}")
        try:
            await asyncio.wait({work, renewing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost = renewing.done() and not renewing.cancelled()
            for task in (work, renewing):
                task.cancel()
            results = await asyncio.gather(work, renewing, return_exceptions=True)
            if isinstance(results[0], Exception):
                log.error("leading work failed lease=%s/%s err=%r", self.namespace, self.name,
                          results[0])
            if lost:
                log.warning("leader election lost lease=%s/%s identity=%s",
                            self.namespace, self.name, self.identity)
            elif self.release_on_cancel:
                await asyncio.shield(self.release())
            if self.on_stopped_leading is not None:
                self.on_stopped_leading()

    async def acquire(self) -> None:
        """Poll (jittered retry period) until the lease is ours."""
        while not await self._try_safely():
            await self._clock.sleep(self.retry_period_seconds * (1 + JITTER_FACTOR * self._rng()))

    async def renew(self) -> None:
        """Renew every retry period; return when renewing failed for renew_deadline."""
        while True:
            deadline = self._clock.now() + self.renew_deadline_seconds
            while not await self._try_safely():
                if self._clock.now() >= deadline:
                    return
                await self._clock.sleep(self.retry_period_seconds)
            await self._clock.sleep(self.retry_period_seconds)

    async def release(self) -> bool:
        """Give the lease up so a successor need not wait for it to expire."""
        if not self.is_leader() or self._observed_lease is None:
            return False
        now = self._now_micro()
        lease = self._observed_lease.model_copy(update={"spec": LeaseSpec(
            holder_identity="", lease_duration_seconds=1, acquire_time=now, renew_time=now,
            lease_transitions=(self._observed_spec.lease_transitions if self._observed_spec else None) or 0)})
        try:
            self._observe(Lease.from_dict(await self.client.update(LEASES, lease, self.namespace)))
        except ClientError as err:
            log.warning("releasing the lease failed lease=%s/%s err=%s", self.namespace, self.name, err)
            return False
        log.info("released lease=%s/%s identity=%s", self.namespace, self.name, self.identity)
        return True

    async def _try_safely(self) -> bool:
        try:
            return await self.try_acquire_or_renew()
        except asyncio.CancelledError:
            raise
        except Exception as err:  # network errors count as a failed attempt
            log.warning("lease attempt failed lease=%s/%s err=%r", self.namespace, self.name, err)
            return False

    async def try_acquire_or_renew(self) -> bool:
        now = self._now_micro()
        mine = LeaseSpec(holder_identity=self.identity,
                         lease_duration_seconds=int(round(self.lease_duration_seconds)),
                         acquire_time=now, renew_time=now, lease_transitions=0)
        try:
            lease = Lease.from_dict(await self.client.get(LEASES, self.name, self.namespace))
        except NotFound:
            body = Lease(metadata=ObjectMeta(name=self.name, namespace=self.namespace), spec=mine)
            try:
                self._observe(Lease.from_dict(await self.client.create(LEASES, body, self.namespace)))
            except APIStatusError as err:  # another candidate created it first
                log.debug("lease create lost err=%s", err.reason)
                return False
            return True
        self._observe(lease)
        spec = self._observed_spec or LeaseSpec()
        holder = spec.holder_identity or ""
        duration = float(spec.lease_duration_seconds or 0)
        if holder and holder != self.identity and \
                self._observed_time + duration > self._clock.now():
            return False  # someone else holds an unexpired lease
        if holder == self.identity:
            mine.acquire_time = spec.acquire_time or now
            mine.lease_transitions = spec.lease_transitions or 0
        else:
            mine.lease_transitions = (spec.lease_transitions or 0) + 1
        try:
            # metadata.resourceVersion from the read: a racing writer makes this 409.
            updated = lease.model_copy(update={"spec": mine})
            self._observe(Lease.from_dict(await self.client.update(LEASES, updated, self.namespace)))
        except APIStatusError as err:
            log.debug("lease update failed err=%s", err.reason)
            return False
        return True

    def _observe(self, lease: Lease) -> None:
        spec = lease.spec or LeaseSpec()
        self._observed_lease = lease
        if spec != self._observed_spec:
            self._observed_spec = spec
            self._observed_time = self._clock.now()
        leader = spec.holder_identity or ""
        if leader != self._reported_leader:
            self._reported_leader = leader
            if leader and self.on_new_leader is not None:
                self.on_new_leader(leader)

    def _now_micro(self) -> str:
        return format_rfc3339(datetime.fromtimestamp(self._clock.wall(), tz=timezone.utc), micro=True)
