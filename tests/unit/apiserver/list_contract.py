"""The contract of `Storage.list` and `Storage.list_pages`, run against every implementation.

`tests/unit/apiserver/test_storage_memory.py` runs these cases on `MemoryStorage`
with pages of two objects, `tests/integration/test_storage_etcd.py` on
`EtcdStorage` with a receive limit of a few kilobytes, so every list there takes
many pages and some pages are refused as too large and read again smaller.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/storage/testing/store_tests.go
(RunTestList, RunTestListContinuation)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from apiserver.storage.interface import Storage

Obj = dict[str, Any]
ListCase = Callable[[Storage, str], Awaitable[None]]


def configmap(name: str, value: str = "v") -> Obj:
    return {"kind": "ConfigMap", "metadata": {"name": name}, "data": {"value": value * 400}}


def names(items: list[Obj]) -> list[str]:
    return [o["metadata"]["name"] for o in items]


async def create_many(storage: Storage, prefix: str, count: int) -> list[Obj]:
    return [await storage.create(f"{prefix}cm-{i:03d}", configmap(f"cm-{i:03d}"))
            for i in range(count)]


async def a_list_holds_every_object_in_key_order(storage: Storage, prefix: str) -> None:
    created = await create_many(storage, prefix, 25)
    await storage.create(f"{prefix[:-1]}-sibling/cm", configmap("outside the prefix"))
    items, revision = await storage.list(prefix)
    assert names(items) == [f"cm-{i:03d}" for i in range(25)]
    assert [o["metadata"]["resourceVersion"] for o in items] == \
        [o["metadata"]["resourceVersion"] for o in created]
    assert revision == await storage.current_revision()


async def an_empty_prefix_lists_nothing_at_the_current_revision(storage: Storage,
                                                                prefix: str) -> None:
    items, revision = await storage.list(prefix)
    assert items == [] and revision == await storage.current_revision()


async def every_page_is_read_at_the_first_pages_revision(storage: Storage, prefix: str) -> None:
    await create_many(storage, prefix, 25)
    pages = storage.list_pages(prefix)
    first, revision = await anext(pages)
    assert 0 < len(first) < 25
    # Written after the first page: a later page must not show any of it.
    await storage.guaranteed_update(f"{prefix}cm-024", _set_value("changed"))
    await storage.delete(f"{prefix}cm-023")
    await storage.create(f"{prefix}cm-999", configmap("cm-999"))
    rest: list[Obj] = []
    async for page, page_revision in pages:
        assert page_revision == revision
        rest.extend(page)
    listed = first + rest
    assert names(listed) == [f"cm-{i:03d}" for i in range(25)]
    assert listed[-1]["data"]["value"] == "v" * 400


async def an_older_revision_lists_the_objects_as_they_were(storage: Storage, prefix: str) -> None:
    created = await create_many(storage, prefix, 5)
    before, revision = await storage.list(prefix)
    await storage.guaranteed_update(f"{prefix}cm-001", _set_value("changed"))
    await storage.delete(f"{prefix}cm-002")
    await storage.create(f"{prefix}cm-005", configmap("cm-005"))
    then, then_revision = await storage.list(prefix, revision)
    assert then_revision == revision
    assert then == before == created


async def a_list_can_start_at_a_key(storage: Storage, prefix: str) -> None:
    await create_many(storage, prefix, 12)
    items: list[Obj] = []
    async for page, _ in storage.list_pages(prefix, start_key=f"{prefix}cm-007"):
        items.extend(page)
    assert names(items) == [f"cm-{i:03d}" for i in range(7, 12)]


def _set_value(value: str) -> Callable[[Obj], Awaitable[Obj]]:
    async def try_update(current: Obj) -> Obj:
        current["data"]["value"] = value
        return current

    return try_update


LIST_CASES: list[ListCase] = [
    a_list_holds_every_object_in_key_order,
    an_empty_prefix_lists_nothing_at_the_current_revision,
    every_page_is_read_at_the_first_pages_revision,
    an_older_revision_lists_the_objects_as_they_were,
    a_list_can_start_at_a_key,
]
