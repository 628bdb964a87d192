"""A resource served in a second version over the storage of its stored version.

Kubernetes stores each resource in one version and converts every request and
answer of the other served versions. tinykube does the same with one wrapper: a
`ConvertingStorage` sits between the registry of the extra version (autoscaling/v1
HorizontalPodAutoscaler) and the real storage, converting each object the registry
writes into the stored version (`to_stored`) and each object it reads, lists or
watches back (`from_stored`). The two registries share the keys (storage keys carry
no version), so an object written through either is the same stored object; the
registry above still decodes, defaults and validates in its own version.

A converter pair is registered per (group, version, plural) in `CONVERTERS`
(apiserver/conversions.py); the API server builds the registry of each such
resource on a `ConvertingStorage`.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/storage/cacher and
storagebackend (encoding to the storage version through the codec),
staging/src/k8s.io/apimachinery/pkg/runtime (conversion funcs)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from apiserver.storage.interface import Obj, Preconditions, Storage, StorageEvent, TryUpdate


@dataclass(frozen=True)
class Converter:
    """`to_stored` turns an object of the served version into the stored one;
    `from_stored` the other way. Both take and return fresh dicts."""

    to_stored: Callable[[Obj], Obj]
    from_stored: Callable[[Obj], Obj]


class ConvertingStorage:
    def __init__(self, storage: Storage, converter: Converter) -> None:
        self.storage, self.converter = storage, converter

    def _out(self, obj: Obj | None) -> Any:
        return None if obj is None else self.converter.from_stored(obj)

    async def create(self, key: str, obj: Obj) -> Obj:
        return self.converter.from_stored(await self.storage.create(key, self.converter.to_stored(obj)))

    async def get(self, key: str) -> Obj:
        return self.converter.from_stored(await self.storage.get(key))

    async def list(self, prefix: str, revision: int = 0) -> tuple[list[Obj], int]:
        items, at = await self.storage.list(prefix, revision)
        return [self.converter.from_stored(item) for item in items], at

    async def list_pages(self, prefix: str, revision: int = 0, start_key: str = "",
                         first_page_size: int = 0) -> AsyncIterator[tuple[list[Obj], int]]:
        async for page, at in self.storage.list_pages(prefix, revision, start_key, first_page_size):
            yield [self.converter.from_stored(item) for item in page], at

    async def guaranteed_update(self, key: str, try_update: TryUpdate, preconditions: Preconditions | None = None,
                                cached: Obj | None = None) -> Obj:
        """`try_update` sees the served version and returns it; the stored version is
        written. The watch cache's copy (served version) is not passed on: the store
        reads the current object itself."""
        async def converted(current: Obj) -> Obj | None:
            result = await try_update(self.converter.from_stored(current))
            return None if result is None else self.converter.to_stored(result)

        return self.converter.from_stored(await self.storage.guaranteed_update(key, converted, preconditions))

    async def delete(self, key: str) -> Obj:
        return self.converter.from_stored(await self.storage.delete(key))

    async def watch(self, prefix: str, start_revision: int) -> AsyncIterator[StorageEvent]:
        async for event in self.storage.watch(prefix, start_revision):
            yield StorageEvent(event.type, event.key, self.converter.from_stored(event.obj),
                               self._out(event.prev), event.revision)

    async def current_revision(self) -> int:
        return await self.storage.current_revision()

    async def ping(self) -> None:
        await self.storage.ping()

    async def alarms(self) -> list[str]:
        return await self.storage.alarms()

    async def close(self) -> None:
        """The real storage is closed by its owner."""
