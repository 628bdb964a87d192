"""Reading a key range in pages, all at one revision, each page within a byte budget.

One etcd range response is one gRPC message, and the client refuses a message
larger than its receive limit: a prefix read in one call stops working once the
kind outgrows it (a few large ConfigMaps, a few thousand pods). `read_pages`
reads the range in pages instead:

- the first page is read at the store's current revision (or the one asked
  for) and every later page at the first page's header revision, so the pages
  together are one consistent snapshot, as one range read would be;
- a page continues from the last key read + "\\x00" (the next possible key);
- pages are counted in keys (etcd's `limit`), sized from the average object seen
  so far to fill about `budget_bytes`; a page the client still refuses as too
  large is read again with half the keys, down to one (one object always fits a
  limit above etcd's own maximum request size).

The store is reached through one `RangeFn`, so the logic is tested without etcd.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/storage/etcd3/store.go (GetList's
paging loop with `limit` and `withRev`)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

FIRST_PAGE_KEYS = 500
MAX_PAGE_KEYS = 10_000


class ResponseTooLarge(Exception):
    """The store's answer was larger than the client accepts (gRPC RESOURCE_EXHAUSTED)."""


@dataclass(frozen=True)
class KeyValue:
    key: bytes
    value: bytes
    mod_revision: int


@dataclass(frozen=True)
class RangePage:
    kvs: list[KeyValue]
    revision: int  # from range_fn: the header (current) revision; from read_pages: read at
    more: bool  # keys remain in the range after this page


# range_fn(start_key, range_end, limit, revision) reads at most `limit` keys of
# [start_key, range_end) at `revision` (0: the current one).
RangeFn = Callable[[bytes, bytes, int, int], Awaitable[RangePage]]


def prefix_range_end(prefix: bytes) -> bytes:
    """The first key after every key that starts with prefix (etcd's prefix range end)."""
    end = bytearray(prefix)
    while end:
        if end[-1] < 0xFF:
            end[-1] += 1
            return bytes(end)
        end.pop()
    return b"\x00"  # every key


def next_page_keys(budget_bytes: int, seen_bytes: int, seen_keys: int) -> int:
    """How many keys the next page asks for: the budget over the average object size."""
    if seen_keys == 0 or seen_bytes == 0:
        return FIRST_PAGE_KEYS
    average = max(1, seen_bytes // seen_keys)
    return max(1, min(MAX_PAGE_KEYS, budget_bytes // average))


async def read_pages(range_fn: RangeFn, start: bytes, end: bytes, budget_bytes: int,
                     revision: int = 0, first_page_keys: int = 0) -> AsyncIterator[RangePage]:
    """The pages of [start, end) in key order, all at one revision (see module doc).
    `first_page_keys`: what the caller expects to need (a chunk's limit + 1), if known."""
    limit = min(first_page_keys, MAX_PAGE_KEYS) or FIRST_PAGE_KEYS
    seen_bytes = seen_keys = 0
    while True:
        try:
            page = await range_fn(start, end, limit, revision)
        except ResponseTooLarge:
            if limit == 1:
                raise
            limit = max(1, limit // 2)
            continue
        # etcd's header always names its current revision, even for a read at an
        # older one: the page is reported at the revision it was read at.
        revision = revision or page.revision
        yield RangePage(page.kvs, revision, page.more)
        if not page.more or not page.kvs:
            return
        seen_keys += len(page.kvs)
        seen_bytes += sum(len(kv.value) for kv in page.kvs)
        limit = next_page_keys(budget_bytes, seen_bytes, seen_keys)
        start = page.kvs[-1].key + b"\x00"
