"""The storage seam between the API server's registry and a key-value store.

The registry speaks to storage only through `Storage`; `etcd.EtcdStorage` is the
real implementation and `memory.MemoryStorage` a faithful in-memory one for fast
tests. Both share the same revision semantics:

- every write bumps one global revision; an object's resourceVersion is the
  revision of its last write (etcd's mod_revision), a list's is the store's
  current revision;
- every change of an existing object goes through `guaranteed_update`: read,
  compute the next state with the caller's `try_update`, write it only if the
  object's revision is still the one read (compare-and-swap), and on a conflict
  start again from the fresh state. This is the one retry loop of a storage;
  callers never write their own. `try_update` may also answer None: the object is
  removed in that same compare-and-swap (a deleted object's last finalizer gone);
- `Preconditions` (uid, resourceVersion) are checked against the current object on
  every attempt; a mismatch is `PreconditionError`, nothing is written;
- `watch(prefix, start_revision)` yields every change with revision >=
  start_revision in order, including the object as it was before the change.

Objects are stored as JSON without metadata.resourceVersion; readers get it filled
in from the store's revision.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/storage/interfaces.go
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

Obj = dict[str, Any]
# `try_update(current) -> next state`; None removes the object; raising aborts.
TryUpdate = Callable[[Obj], Awaitable[Obj | None]]


class StorageError(Exception):
    """Base class; `key` names the object the operation was about."""

    def __init__(self, key: str, message: str = "") -> None:
        super().__init__(message or key)
        self.key = key


class KeyExistsError(StorageError):
    pass


class KeyNotFoundError(StorageError):
    pass


class PreconditionError(StorageError):
    """A precondition did not hold (Kubernetes: an "invalid object" StorageError);
    the message is Kubernetes' word for word, the API answers it as 409 Conflict."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(key, f"StorageError: invalid object, Code: 4, Key: {key}, "
                              f"ResourceVersion: 0, AdditionalErrorMsg: {reason}")
        self.reason = reason


class CompactedError(StorageError):
    """The requested revision is older than what the store still remembers."""

    def __init__(self, key: str, revision: int, compacted_revision: int = 0) -> None:
        super().__init__(key, f"revision {revision} has been compacted")
        self.revision = revision
        self.compacted_revision = compacted_revision


@dataclass(frozen=True)
class Preconditions:
    """What must still be true of the stored object for a write to happen."""

    uid: str | None = None
    resource_version: str | None = None

    def check(self, key: str, obj: Obj) -> None:
        meta = obj.get("metadata") or {}
        if self.uid is not None and self.uid != meta.get("uid", ""):
            raise PreconditionError(key, f"Precondition failed: UID in precondition: {self.uid}, "
                                         f"UID in object meta: {meta.get('uid', '')}")
        if self.resource_version is not None and \
                self.resource_version != meta.get("resourceVersion", ""):
            raise PreconditionError(
                key, "Precondition failed: ResourceVersion in precondition: "
                     f"{self.resource_version}, ResourceVersion in object meta: "
                     f"{meta.get('resourceVersion', '')}")


class EventType(str, Enum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


@dataclass(frozen=True)
class StorageEvent:
    """One change. `obj` is the new state (for DELETED: the last state, stamped
    with the deletion's revision); `prev` the state before (None on ADDED)."""

    type: EventType
    key: str
    obj: dict[str, Any]
    prev: dict[str, Any] | None
    revision: int


class Storage(Protocol):
    async def create(self, key: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store a new object; KeyExistsError if the key is taken."""
        ...

    async def get(self, key: str) -> dict[str, Any]:
        """KeyNotFoundError if absent."""
        ...

    async def list(self, prefix: str, revision: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Every object under prefix, in key order, and the revision read at: the
        store's current one, or `revision` (CompactedError if compacted). Read in
        pages, so no single answer from the store grows with the kind."""
        ...

    def list_pages(self, prefix: str, revision: int = 0, start_key: str = "",
                   first_page_size: int = 0) -> AsyncIterator[tuple[list[Obj], int]]:
        """The objects under prefix with key >= start_key, in key order, a page at
        a time, as (objects, revision): every page is read at the same revision
        (the first page's, or `revision`), so the pages are one consistent list.
        `first_page_size` is how many objects the caller expects to need (0: all)."""
        ...

    async def guaranteed_update(self, key: str, try_update: TryUpdate,
                                preconditions: Preconditions | None = None,
                                cached: Obj | None = None) -> Obj:
        """Change the object with `try_update(current)` until the write is not raced.

        `cached` (the watch cache's copy, never changed here) may stand in for the
        first read. It may be stale: a failed compare-and-swap brings the fresh
        state, and a precondition or `try_update` failing on it is retried on
        the object read from the store before the error counts.

        - each attempt checks `preconditions` on the current object, then calls
          `try_update` with it (a fresh copy, the caller may change it);
        - the result is written only if the object's revision is still the one
          read; otherwise the attempt starts again from the fresh state;
        - `try_update` raising aborts: the error propagates, nothing is written;
        - a result equal to the current object (resourceVersion aside) is not
          written: the current object comes back, its revision unchanged;
        - a result of None removes the object in the same compare-and-swap;
        - KeyNotFoundError when the object is (or becomes) absent.

        Returns the object as stored (a removed one: its last state stamped with
        the removal's revision).
        """
        ...

    async def delete(self, key: str) -> Obj:
        """Remove the object whatever its state (KeyNotFoundError if absent);
        returns its last state stamped with the deletion's revision. Objects that
        need a precondition are removed through `guaranteed_update` instead."""
        ...

    def watch(self, prefix: str, start_revision: int) -> AsyncIterator[StorageEvent]:
        """Changes under prefix from start_revision on; CompactedError if too old."""
        ...

    async def current_revision(self) -> int:
        ...

    async def ping(self) -> None:
        """A read of the store, so a caller can bound its time; raises if it fails."""
        ...

    async def alarms(self) -> list[str]:
        """The store's active alarms (etcd: NOSPACE, CORRUPT); writes fail while one is."""
        ...

    async def close(self) -> None:
        ...


async def collect(pages: AsyncIterator[tuple[list[Obj], int]]) -> tuple[list[Obj], int]:
    """All pages of `list_pages` as one list and its revision."""
    items: list[Obj] = []
    revision = 0
    async for page, revision in pages:
        items.extend(page)
    return items, revision


def encode(obj: dict[str, Any]) -> bytes:
    """Serialize for storage, leaving out the resourceVersion the store owns."""
    meta = obj.get("metadata") or {}
    if "resourceVersion" in meta:
        obj = {**obj, "metadata": {k: v for k, v in meta.items() if k != "resourceVersion"}}
    return json.dumps(obj, separators=(",", ":")).encode()


def decode(data: bytes, revision: int) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(data)
    obj.setdefault("metadata", {})["resourceVersion"] = str(revision)
    return obj


def stored_copy(obj: dict[str, Any], revision: int) -> dict[str, Any]:
    """What `decode(encode(obj), revision)` returns, for an object that is already JSON
    data (str keys, no tuples): a copy, without a second parse. Only the top level
    and the metadata are copied; the caller must not change `obj`'s nested values."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "resourceVersion"}
    meta["resourceVersion"] = str(revision)
    return {**obj, "metadata": meta}


def same_encoding(new_data: bytes, old_data: bytes) -> bool:
    """Whether two encodings hold the same object, whatever the key order.

    Equal objects always encode to the same length, so the (rare) full
    comparison is only paid when the lengths agree and the bytes do not.
    """
    if new_data == old_data:
        return True
    return len(new_data) == len(old_data) and json.loads(new_data) == json.loads(old_data)
