"""read_pages over a fake store that refuses answers above a byte limit, as gRPC does.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/storage/etcd3/store_test.go
(TestListContinuation, paging with limit)
"""

from __future__ import annotations

import pytest

from apiserver.storage.paging import (
    FIRST_PAGE_KEYS,
    MAX_PAGE_KEYS,
    KeyValue,
    RangePage,
    ResponseTooLarge,
    next_page_keys,
    prefix_range_end,
    read_pages,
)


class FakeRange:
    """A sorted store at one revision; answers larger than `max_bytes` are refused."""

    def __init__(self, values: dict[bytes, bytes], max_bytes: int, revision: int = 42) -> None:
        self.values = values
        self.max_bytes = max_bytes
        self.revision = revision
        self.calls: list[tuple[bytes, int, int]] = []  # (start, limit, revision asked)

    async def __call__(self, start: bytes, end: bytes, limit: int, revision: int) -> RangePage:
        self.calls.append((start, limit, revision))
        keys = sorted(k for k in self.values if start <= k < end)
        chosen = keys[:limit]
        if sum(len(self.values[k]) for k in chosen) > self.max_bytes:
            raise ResponseTooLarge("message larger than max")
        kvs = [KeyValue(k, self.values[k], 7) for k in chosen]
        # The header names the store's current revision, whatever was asked.
        return RangePage(kvs, self.revision + len(self.calls), len(keys) > limit)


def store(count: int, size: int) -> dict[bytes, bytes]:
    return {f"/registry/cm/ns/{i:05d}".encode(): b"x" * size for i in range(count)}


async def read_all(fake: FakeRange, budget: int, revision: int = 0) -> list[RangePage]:
    return [page async for page in read_pages(fake, b"/registry/cm/", b"/registry/cm0",
                                              budget, revision)]


async def test_a_range_above_the_limit_is_read_whole_in_pages() -> None:
    fake = FakeRange(store(40, 1000), max_bytes=8000)
    pages = await read_all(fake, budget=4000)
    keys = [kv.key for page in pages for kv in page.kvs]
    assert keys == sorted(store(40, 1000))
    assert all(sum(len(kv.value) for kv in page.kvs) <= 8000 for page in pages)


async def test_every_page_after_the_first_is_read_at_the_first_pages_revision() -> None:
    fake = FakeRange(store(40, 1000), max_bytes=8000)
    pages = await read_all(fake, budget=4000)
    first_revision = pages[0].revision
    assert {page.revision for page in pages} == {first_revision}
    answered = [call for call in fake.calls if call[2] != 0]
    assert answered and all(call[2] == first_revision for call in answered)
    # Before the first page answered, there was no revision to ask for.
    assert all(call[2] == 0 for call in fake.calls[:len(fake.calls) - len(answered)])


async def test_a_page_continues_right_after_the_last_key_read() -> None:
    fake = FakeRange(store(10, 10), max_bytes=10_000)
    fake.values[b"/registry/cm/ns/00003\x00"] = b"y"  # the very next key there can be
    pages = await read_all(fake, budget=30)
    keys = [kv.key for page in pages for kv in page.kvs]
    assert keys == sorted(fake.values)
    starts = [start for start, _, _ in fake.calls[1:]]
    assert all(start.endswith(b"\x00") for start in starts)


async def test_a_refused_page_is_read_again_with_half_the_keys() -> None:
    fake = FakeRange(store(600, 100), max_bytes=10_000)
    pages = await read_all(fake, budget=5_000)
    limits = [limit for _, limit, _ in fake.calls]
    assert limits[:4] == [FIRST_PAGE_KEYS, 250, 125, 62]
    assert len([kv for page in pages for kv in page.kvs]) == 600


async def test_an_object_larger_than_the_limit_is_an_error() -> None:
    fake = FakeRange(store(3, 5000), max_bytes=4000)
    with pytest.raises(ResponseTooLarge):
        await read_all(fake, budget=1000)


async def test_a_given_revision_is_asked_for_every_page() -> None:
    fake = FakeRange(store(20, 1000), max_bytes=4000)
    pages = await read_all(fake, budget=2000, revision=17)
    assert {call[2] for call in fake.calls} == {17}
    assert {page.revision for page in pages} == {17}


async def test_an_empty_range_is_one_empty_page() -> None:
    pages = await read_all(FakeRange({}, max_bytes=100), budget=100)
    assert [(page.kvs, page.more) for page in pages] == [([], False)]


@pytest.mark.parametrize(("prefix", "end"), [
    (b"/registry/pods/", b"/registry/pods0"),
    (b"a\xff", b"b"),
    (b"\xff\xff", b"\x00"),
])
def test_prefix_range_end(prefix: bytes, end: bytes) -> None:
    assert prefix_range_end(prefix) == end


@pytest.mark.parametrize(("budget", "seen_bytes", "seen_keys", "keys"), [
    (4_000_000, 0, 0, FIRST_PAGE_KEYS),  # nothing seen yet
    (4_000_000, 2_000_000, 1000, 2000),  # 2 KB objects
    (4_000_000, 900_000 * 4, 4, 4),  # 900 KB objects
    (4_000_000, 3_000_000, 1, 1),  # one object near the budget: still one a page
    (4_000_000, 100, 100, MAX_PAGE_KEYS),  # tiny objects: capped
])
def test_next_page_keys(budget: int, seen_bytes: int, seen_keys: int, keys: int) -> None:
    assert next_page_keys(budget, seen_bytes, seen_keys) == keys


async def test_the_first_page_asks_for_what_the_caller_needs() -> None:
    fake = FakeRange(store(3000, 100), max_bytes=10_000_000)
    pages = read_pages(fake, b"/registry/cm/", b"/registry/cm0", 4_000_000, first_page_keys=501)
    first = await anext(pages)
    assert len(first.kvs) == 501 and [limit for _, limit, _ in fake.calls] == [501]
    await anext(pages)  # a caller that needs more gets budget-sized pages
    assert fake.calls[1][1] == MAX_PAGE_KEYS
