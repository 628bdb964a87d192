"""What this controller last wrote, so a sync never acts on a cache older than its writes.

Slices are created with generated names: if a sync ran before the informer showed the
slice just created, it would see "no slice" and create a second one. The tracker keeps,
per Service, the resourceVersion of every slice written and the names deleted; the
cache is stale while a written slice is missing or older, or a deleted one is still
there. The informer catching up clears the entries.

Kubernetes counterpart: staging/src/k8s.io/endpointslice/util/endpointslice_tracker.go
"""

from __future__ import annotations

from tinykube.api.discovery import EndpointSlice

_DELETED = -1


def _version(slice_: EndpointSlice) -> int:
    try:
        return int(slice_.metadata.resource_version or 0)
    except ValueError:
        return 0


class SliceTracker:
    def __init__(self) -> None:
        # service key -> slice name -> resourceVersion written (or _DELETED)
        self.generations: dict[str, dict[str, int]] = {}

    def written(self, key: str, slice_: EndpointSlice) -> None:
        self.generations.setdefault(key, {})[slice_.metadata.name or ""] = _version(slice_)

    def deleted(self, key: str, slice_: EndpointSlice) -> None:
        self.generations.setdefault(key, {})[slice_.metadata.name or ""] = _DELETED

    def forget(self, key: str) -> None:
        self.generations.pop(key, None)

    def observed_deletion(self, key: str, slice_: EndpointSlice) -> None:
        """The informer saw the slice go (whoever deleted it): nothing more to wait for."""
        tracked = self.generations.get(key)
        if tracked is not None:
            tracked.pop(slice_.metadata.name or "", None)

    def expected(self, key: str, slice_: EndpointSlice) -> bool:
        """Whether this informer event shows a write of ours (no need to resync for it)."""
        wanted = self.generations.get(key, {}).get(slice_.metadata.name or "")
        return wanted is not None and wanted != _DELETED and _version(slice_) <= wanted

    def stale(self, key: str, cached: list[EndpointSlice]) -> bool:
        """Whether `cached` (the informer's slices of the Service) lags our writes;
        entries the cache has caught up with are dropped."""
        tracked = self.generations.get(key)
        if not tracked:
            return False
        by_name = {s.metadata.name or "": s for s in cached}
        lagging = False
        for name, version in list(tracked.items()):
            current = by_name.get(name)
            caught_up = current is None if version == _DELETED else (
                current is not None and _version(current) >= version)
            if caught_up:
                del tracked[name]
            else:
                lagging = True
        if not tracked:
            del self.generations[key]
        return lagging
