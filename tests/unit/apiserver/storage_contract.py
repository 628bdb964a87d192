"""The contract of `Storage.guaranteed_update`, run against every implementation.

Each case is an async function taking a fresh `Storage` and a key prefix of its
own; `tests/unit/apiserver/test_storage_memory.py` runs them on `MemoryStorage`,
`tests/integration/test_storage_etcd.py` on `EtcdStorage` over a real etcd. Races
are made, not hoped for: the first attempts of two writers both read the object
before either writes.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/storage/testing/store_tests.go
(RunTestGuaranteedUpdate, RunTestGuaranteedUpdateWithConflict)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from apiserver.storage.interface import (
    KeyNotFoundError,
    PreconditionError,
    Preconditions,
    Storage,
)

Obj = dict[str, Any]
Case = Callable[[Storage, str], Awaitable[None]]
DEADLINE_SECONDS = 10.0


def configmap(name: str, uid: str = "uid-1", count: int = 0) -> Obj:
    return {"kind": "ConfigMap", "metadata": {"name": name, "uid": uid}, "data": {"count": count}}


def rv(obj: Obj) -> int:
    return int(obj["metadata"]["resourceVersion"])


async def increment(current: Obj) -> Obj:
    current["data"]["count"] += 1
    return current


class Aborted(Exception):
    pass


async def concurrent_updates_are_retried_and_none_is_lost(storage: Storage, prefix: str) -> None:
    key = f"{prefix}cm"
    created = await storage.create(key, configmap("cm"))
    both_read = asyncio.Event()
    readers: list[int] = []

    async def slow_increment(current: Obj) -> Obj:
        readers.append(rv(current))
        if len(readers) == 2:
            both_read.set()
        await asyncio.wait_for(both_read.wait(), DEADLINE_SECONDS)
        return await increment(current)

    results = await asyncio.gather(storage.guaranteed_update(key, slow_increment),
                                   storage.guaranteed_update(key, slow_increment))
    stored = await storage.get(key)
    assert stored["data"]["count"] == 2
    # Both first attempts read the created object; the loser read again and retried.
    assert readers[:2] == [rv(created), rv(created)] and len(readers) == 3
    assert readers[2] == min(rv(r) for r in results)
    assert max(rv(r) for r in results) == rv(stored)


async def many_concurrent_writers_lose_nothing(storage: Storage, prefix: str) -> None:
    key = f"{prefix}cm"
    await storage.create(key, configmap("cm"))

    async def yielding_increment(current: Obj) -> Obj:
        await asyncio.sleep(0)
        return await increment(current)

    await asyncio.gather(*(storage.guaranteed_update(key, yielding_increment) for _ in range(10)))
    assert (await storage.get(key))["data"]["count"] == 10


async def uid_precondition_mismatch_is_refused_and_writes_nothing(storage: Storage,
                                                                  prefix: str) -> None:
    key = f"{prefix}cm"
    created = await storage.create(key, configmap("cm", uid="real-uid"))
    with pytest.raises(PreconditionError) as refused:
        await storage.guaranteed_update(key, increment, Preconditions(uid="other-uid"))
    assert "Precondition failed: UID in precondition: other-uid, UID in object meta: real-uid" \
        in str(refused.value)
    assert str(refused.value).startswith(f"StorageError: invalid object, Code: 4, Key: {key}")
    assert await storage.get(key) == created


async def resource_version_precondition_mismatch_is_refused(storage: Storage, prefix: str) -> None:
    key = f"{prefix}cm"
    created = await storage.create(key, configmap("cm"))
    stale = str(rv(created) - 1)
    with pytest.raises(PreconditionError) as refused:
        await storage.guaranteed_update(key, increment, Preconditions(resource_version=stale))
    assert (f"Precondition failed: ResourceVersion in precondition: {stale}, ResourceVersion in "
            f"object meta: {rv(created)}") in str(refused.value)
    assert await storage.get(key) == created


async def matching_preconditions_let_the_write_through(storage: Storage, prefix: str) -> None:
    key = f"{prefix}cm"
    created = await storage.create(key, configmap("cm", uid="real-uid"))
    preconditions = Preconditions(uid="real-uid", resource_version=str(rv(created)))
    updated = await storage.guaranteed_update(key, increment, preconditions)
    assert updated["data"]["count"] == 1 and rv(updated) > rv(created)


async def preconditions_are_checked_again_on_a_retry(storage: Storage, prefix: str) -> None:
    """A namesake replaces the object during the first attempt: the retry sees its
    uid and refuses; neither the old nor the new object gets the change."""
    key = f"{prefix}cm"
    await storage.create(key, configmap("cm", uid="first"))

    async def racing_increment(current: Obj) -> Obj:
        if current["metadata"]["uid"] == "first":
            await storage.delete(key)
            await storage.create(key, configmap("cm", uid="second"))
        return await increment(current)

    with pytest.raises(PreconditionError) as refused:
        await storage.guaranteed_update(key, racing_increment, Preconditions(uid="first"))
    assert "UID in object meta: second" in str(refused.value)
    stored = await storage.get(key)
    assert (stored["metadata"]["uid"], stored["data"]["count"]) == ("second", 0)


async def an_error_from_try_update_aborts_and_writes_nothing(storage: Storage,
                                                             prefix: str) -> None:
    key = f"{prefix}cm"
    created = await storage.create(key, configmap("cm"))

    async def refuse(current: Obj) -> Obj:
        current["data"]["count"] = 99
        raise Aborted("no")

    with pytest.raises(Aborted):
        await storage.guaranteed_update(key, refuse)
    assert await storage.get(key) == created


async def a_missing_object_is_not_found(storage: Storage, prefix: str) -> None:
    called: list[Obj] = []

    async def record(current: Obj) -> Obj:
        called.append(current)
        return current

    with pytest.raises(KeyNotFoundError):
        await storage.guaranteed_update(f"{prefix}absent", record)
    assert called == []


async def an_object_removed_during_try_update_is_not_found(storage: Storage, prefix: str) -> None:
    key = f"{prefix}cm"
    await storage.create(key, configmap("cm"))

    async def removed_meanwhile(current: Obj) -> Obj:
        await storage.delete(key)
        return await increment(current)

    with pytest.raises(KeyNotFoundError):
        await storage.guaranteed_update(key, removed_meanwhile)
    with pytest.raises(KeyNotFoundError):
        await storage.get(key)


async def an_unchanged_object_is_not_written(storage: Storage, prefix: str) -> None:
    key = f"{prefix}cm"
    created = await storage.create(key, configmap("cm"))

    async def same_in_another_order(current: Obj) -> Obj:
        return dict(reversed(list(current.items())))

    again = await storage.guaranteed_update(key, same_in_another_order)
    assert again == created and rv(await storage.get(key)) == rv(created)


async def none_from_try_update_removes_the_object(storage: Storage, prefix: str) -> None:
    key = f"{prefix}cm"
    created = await storage.create(key, configmap("cm", count=3))

    async def remove(current: Obj) -> None:
        return None

    removed = await storage.guaranteed_update(key, remove)
    assert removed["data"]["count"] == 3 and rv(removed) > rv(created)
    with pytest.raises(KeyNotFoundError):
        await storage.get(key)


async def a_stale_cached_copy_never_decides(storage: Storage, prefix: str) -> None:
    """The watch cache's copy may lag: the write still starts from the stored state,
    and what try_update or a precondition says about the old copy does not count."""
    key = f"{prefix}cm"
    created = await storage.create(key, configmap("cm"))
    stale = {**created, "data": dict(created["data"])}
    await storage.guaranteed_update(key, increment)
    updated = await storage.guaranteed_update(key, increment, cached=stale)
    assert updated["data"]["count"] == 2 and stale["data"]["count"] == 0  # the copy is not changed

    async def only_after_the_first(current: Obj) -> Obj:
        if current["data"]["count"] == 0:
            raise Aborted("judged on the stale copy")
        return await increment(current)

    updated = await storage.guaranteed_update(key, only_after_the_first, cached=stale)
    assert updated["data"]["count"] == 3

    async def back_to_zero(current: Obj) -> Obj:
        current["data"]["count"] = 0
        return current

    # No change from the stale copy is still a change from the stored object.
    reset = await storage.guaranteed_update(key, back_to_zero, cached=stale)
    assert (await storage.get(key))["data"]["count"] == 0 and rv(reset) > rv(updated)


async def a_stale_cached_copy_of_an_earlier_object_is_not_believed(storage: Storage,
                                                                   prefix: str) -> None:
    key = f"{prefix}cm"
    earlier = await storage.create(key, configmap("cm", uid="uid-old"))
    await storage.delete(key)
    await storage.create(key, configmap("cm", uid="uid-new"))
    updated = await storage.guaranteed_update(key, increment, Preconditions(uid="uid-new"),
                                              cached=earlier)
    assert updated["metadata"]["uid"] == "uid-new" and updated["data"]["count"] == 1
    with pytest.raises(PreconditionError):
        await storage.guaranteed_update(key, increment, Preconditions(uid="uid-old"), cached=earlier)
    await storage.delete(key)
    with pytest.raises(KeyNotFoundError):
        await storage.guaranteed_update(key, increment, cached=earlier)


CASES: list[Case] = [
    concurrent_updates_are_retried_and_none_is_lost,
    many_concurrent_writers_lose_nothing,
    uid_precondition_mismatch_is_refused_and_writes_nothing,
    resource_version_precondition_mismatch_is_refused,
    matching_preconditions_let_the_write_through,
    preconditions_are_checked_again_on_a_retry,
    an_error_from_try_update_aborts_and_writes_nothing,
    a_missing_object_is_not_found,
    an_object_removed_during_try_update_is_not_found,
    an_unchanged_object_is_not_written,
    none_from_try_update_removes_the_object,
    a_stale_cached_copy_never_decides,
    a_stale_cached_copy_of_an_earlier_object_is_not_believed,
]
