"""LeaderElector against an in-memory Lease store with optimistic concurrency and a fake clock."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from tinykube.api.resources import ResourceInfo
from tinykube.client.clock import FakeClock
from tinykube.client.errors import AlreadyExists, Conflict, NotFound, ServerError
from tinykube.client.leaderelection import LeaderElector
from tinykube.client.rest import to_wire

Obj = dict[str, Any]


class FakeLeases:
    """One Lease with resourceVersion compare-and-swap, like the API server."""

    def __init__(self) -> None:
        self.lease: Obj | None = None
        self.revision = 0
        self.broken = False
        self.updates = 0

    async def get(self, info: ResourceInfo, name: str, namespace: str | None = None) -> Obj:
        await asyncio.sleep(0)
        if self.broken:
            raise ServerError(503, "ServiceUnavailable", "unreachable")
        if self.lease is None:
            raise NotFound(404, "NotFound", f'leases "{name}" not found')
        return copy.deepcopy(self.lease)

    async def create(self, info: ResourceInfo, body: Any, namespace: str | None = None) -> Obj:
        body = to_wire(body)
        await asyncio.sleep(0)
        if self.lease is not None:
            raise AlreadyExists(409, "AlreadyExists", "exists")
        return self._store(body)

    async def update(self, info: ResourceInfo, body: Any, namespace: str | None = None) -> Obj:
        body = to_wire(body)
        await asyncio.sleep(0)
        if self.broken:
            raise ServerError(503, "ServiceUnavailable", "unreachable")
        assert self.lease is not None
        if body["metadata"].get("resourceVersion") != self.lease["metadata"]["resourceVersion"]:
            raise Conflict(409, "Conflict", "the object has been modified")
        self.updates += 1
        return self._store(body)

    def _store(self, body: Obj) -> Obj:
        self.revision += 1
        self.lease = copy.deepcopy(body)
        self.lease["metadata"]["resourceVersion"] = str(self.revision)
        return copy.deepcopy(self.lease)

    @property
    def spec(self) -> Obj:
        assert self.lease is not None
        return dict(self.lease["spec"])


async def settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


async def advance(clock: FakeClock, seconds: float, step: float = 0.5) -> None:
    """Let the electors run, moving fake time forward in small steps."""
    for _ in range(int(seconds / step)):
        await settle()
        clock.advance(step)
    await settle()


def elector(leases: FakeLeases, clock: FakeClock, identity: str, **kwargs: Any) -> LeaderElector:
    return LeaderElector(leases, "kube-system", "kube-scheduler", identity, clock=clock,
                         rng=lambda: 0.0, **kwargs)


class Work:
    """on_started_leading: runs until told to finish, or until cancelled."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.finish = asyncio.Event()
        self.cancelled = False

    async def __call__(self) -> None:
        self.started.set()
        try:
            await self.finish.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise


async def test_first_candidate_creates_the_lease_renews_it_and_releases_on_finish() -> None:
    clock, leases, work, stopped = FakeClock(), FakeLeases(), Work(), []
    a = elector(leases, clock, "a", on_stopped_leading=lambda: stopped.append("a"))
    run = asyncio.create_task(a.run(work))
    await settle()
    assert work.started.is_set() and a.is_leader()
    assert leases.spec["holderIdentity"] == "a"
    assert leases.spec["leaseDurationSeconds"] == 15 and leases.spec["leaseTransitions"] == 0
    first_renew = leases.spec["renewTime"]
    await advance(clock, 4.5)
    # renewed at once (as client-go's PollImmediateUntil does), then at 2 s and 4 s
    assert leases.updates == 3 and leases.spec["renewTime"] != first_renew
    assert leases.spec["acquireTime"] == first_renew  # renewing keeps the acquire time
    work.finish.set()
    await asyncio.wait_for(run, 5)
    assert leases.spec["holderIdentity"] == "" and leases.spec["leaseDurationSeconds"] == 1
    assert stopped == ["a"]


async def test_a_candidate_takes_over_only_after_the_lease_expires() -> None:
    clock, leases, work = FakeClock(), FakeLeases(), Work()
    leases._store({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                   "metadata": {"name": "kube-scheduler", "namespace": "kube-system"},
                   "spec": {"holderIdentity": "old", "leaseDurationSeconds": 15,
                            "leaseTransitions": 3}})
    seen_leaders: list[str] = []
    b = elector(leases, clock, "b", on_new_leader=seen_leaders.append)
    run = asyncio.create_task(b.run(work))
    await advance(clock, 14)
    assert not work.started.is_set() and b.get_leader() == "old"
    await advance(clock, 2)
    assert work.started.is_set()
    assert leases.spec["holderIdentity"] == "b" and leases.spec["leaseTransitions"] == 4
    assert seen_leaders == ["old", "b"]
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run


async def test_two_candidates_racing_for_one_lease_cannot_both_win() -> None:
    clock, leases = FakeClock(), FakeLeases()
    a, b = elector(leases, clock, "a"), elector(leases, clock, "b")
    results = await asyncio.gather(a.try_acquire_or_renew(), b.try_acquire_or_renew())
    assert sorted(results) == [False, True]  # create: one gets AlreadyExists
    winner = "a" if results[0] else "b"
    assert leases.spec["holderIdentity"] == winner

    leases.lease["spec"]["holderIdentity"] = ""  # type: ignore[index]  # released
    results = await asyncio.gather(a.try_acquire_or_renew(), b.try_acquire_or_renew())
    assert sorted(results) == [False, True]  # update: one gets Conflict


async def test_failing_to_renew_for_renew_deadline_stops_leading_without_release() -> None:
    clock, leases, work, stopped = FakeClock(), FakeLeases(), Work(), []
    a = elector(leases, clock, "a", on_stopped_leading=lambda: stopped.append("a"))
    run = asyncio.create_task(a.run(work))
    await settle()
    assert work.started.is_set()
    leases.broken = True
    await advance(clock, 9)
    assert not run.done()  # still inside renew_deadline (10 s)
    await advance(clock, 4)
    await asyncio.wait_for(run, 5)
    assert work.cancelled and stopped == ["a"]
    leases.broken = False
    assert leases.spec["holderIdentity"] == "a"  # not released: the API was unreachable


async def test_cancelling_run_cancels_the_work_and_releases() -> None:
    clock, leases, work, stopped = FakeClock(), FakeLeases(), Work(), []
    a = elector(leases, clock, "a", on_stopped_leading=lambda: stopped.append("a"))
    run = asyncio.create_task(a.run(work))
    await settle()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert work.cancelled and stopped == ["a"]
    assert leases.spec["holderIdentity"] == ""


def test_durations_must_nest() -> None:
    with pytest.raises(ValueError, match="lease_duration > renew_deadline"):
        LeaderElector(FakeLeases(), "ns", "l", "a", lease_duration_seconds=5, renew_deadline_seconds=10)
