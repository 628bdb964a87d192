"""The storage seam between the API server's registry and a key-value store.

The registry speaks to storage only through `Storage`; `etcd.EtcdStorage` is the
real implementation and `memory.MemoryStorage` a faithful in-memory one for fast
tests. Both share the same revision semantics:

- every write bumps one global revision; an object's resourceVersion is the
  revision of its last write (etcd's mod_revision), a list's is the store's
  current revision;
- updates and deletes are compare-and-swap on that revision, never lost;
- `watch(prefix, start_revision)` yields every change with revision >=
  start_revision in order, including the object as it was before the change.

Objects are stored as JSON without metadata.resourceVersion; readers get it filled
in from the store's revision.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/storage/interfaces.go
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol


class StorageError(Exception):
    """Base class; `key` names the object the operation was about."""

    def __init__(self, key: str, message: str = "") -> None:
        super().__init__(message or key)
        self.key = key


class KeyExistsError(StorageError):
    pass


class KeyNotFoundError(StorageError):
    pass


class ConflictError(StorageError):
    """The object changed since the revision the caller based its write on."""


class CompactedError(StorageError):
    """The requested revision is older than what the store still remembers."""

    def __init__(self, key: str, revision: int, compacted_revision: int = 0) -> None:
        super().__init__(key, f"revision {revision} has been compacted")
        self.revision = revision
        self.compacted_revision = compacted_revision


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

    async def list(self, prefix: str) -> tuple[list[dict[str, Any]], int]:
        """Every object under prefix, in key order, and the store's revision."""
        ...

    async def update(self, key: str, obj: dict[str, Any], expected_revision: int) -> dict[str, Any]:
        """Replace the object if its revision is still expected_revision, else
        ConflictError (KeyNotFoundError if it is gone)."""
        ...

    async def delete(self, key: str, expected_revision: int | None = None) -> dict[str, Any]:
        """Remove the object (optionally only at expected_revision); returns the
        last state stamped with the deletion's revision."""
        ...

    def watch(self, prefix: str, start_revision: int) -> AsyncIterator[StorageEvent]:
        """Changes under prefix from start_revision on; CompactedError if too old."""
        ...

    async def current_revision(self) -> int:
        ...

    async def close(self) -> None:
        ...


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
