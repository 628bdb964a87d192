"""The compactor's rounds over MemoryStorage: one interval of history is always kept,
and two API servers on one store compact once per interval between them.

Rounds are driven by calling `compact_once` (what the loop does after each interval).

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/storage/etcd3/compact_test.go
"""

from __future__ import annotations

import asyncio

import pytest

from apiserver.storage.compact import Compactor
from apiserver.storage.interface import CompactedError
from apiserver.storage.memory import MemoryStorage

PREFIX = "/registry/configmaps/ns/"


async def write(storage: MemoryStorage, name: str) -> int:
    created = await storage.create(f"{PREFIX}{name}", {"metadata": {"name": name}})
    return int(created["metadata"]["resourceVersion"])


async def watchable(storage: MemoryStorage, revision: int) -> bool:
    try:
        events = storage.watch(PREFIX, revision)
        await asyncio.wait_for(anext(events), 1.0)
        return True
    except CompactedError:
        return False


async def test_each_round_compacts_to_the_revision_seen_one_round_earlier() -> None:
    storage = MemoryStorage()
    compactor = Compactor(storage, interval_seconds=60)
    first = await write(storage, "a")
    noted = await write(storage, "a2")
    await compactor.compact_once()  # the first round only notes the revision
    assert compactor.compact_revision == 0 and await watchable(storage, first)
    after = await write(storage, "b")
    await compactor.compact_once()
    assert compactor.compact_revision == noted
    assert not await watchable(storage, first)
    assert await watchable(storage, after)  # the last interval is still there


async def test_two_api_servers_compact_once_per_round_between_them() -> None:
    storage = MemoryStorage()
    one, two = Compactor(storage, 60), Compactor(storage, 60)
    await one.compact_once()
    await two.compact_once()  # lost the compare: learns the version, compacts nothing
    await write(storage, "a")
    await one.compact_once()
    assert one.compact_revision > 0 and two.compact_revision == 0
    await two.compact_once()  # lost again: `one` already compacted this round
    assert two.compact_revision == 0
    await write(storage, "b")
    await two.compact_once()  # `one` stopped (crashed): `two` takes over
    assert two.compact_revision > one.compact_revision


async def test_a_failed_round_is_retried_the_next_round() -> None:
    class Unreachable(MemoryStorage):
        failing = True

        async def guarded_compact(self, expect_version: int, revision: int) -> tuple[int, int, int]:
            if self.failing:
                raise ConnectionError("etcd unreachable")
            return await super().guarded_compact(expect_version, revision)

    storage = Unreachable()
    compactor = Compactor(storage, 60)
    await compactor.compact_once()
    storage.failing = False
    await compactor.compact_once()
    await write(storage, "a")
    await compactor.compact_once()
    assert compactor.compact_revision > 0


async def test_the_loop_waits_one_interval_between_rounds() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 3:
            raise asyncio.CancelledError

    compactor = Compactor(MemoryStorage(), interval_seconds=300, sleep=sleep)
    with pytest.raises(asyncio.CancelledError):
        await compactor.run()
    assert slept == [300, 300, 300]


async def test_an_interval_of_zero_never_starts() -> None:
    compactor = Compactor(MemoryStorage(), interval_seconds=0)
    compactor.start()
    await compactor.stop()
    assert compactor.compact_revision == 0
