"""Allocation of Service cluster IPs and NodePorts, safe across API servers.

Each allocated value is one key in storage (`/registry/ranges/serviceips/<ip>`,
`/registry/ranges/servicenodeports/<port>`), created with the store's
create-if-absent. Two concurrent creates can therefore never get the same value,
whether they run in one API server or in two: the second create of a key fails
and that allocator tries another value.

Kubernetes counterpart: pkg/registry/core/service/ipallocator/, portallocator/
(Kubernetes keeps a bitmap in one etcd key; one key per value is simpler to read)
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterator

from apiserver.storage.interface import KeyExistsError, KeyNotFoundError, Storage


class RangeFullError(Exception):
    pass


class AlreadyAllocatedError(Exception):
    pass


class OutOfRangeError(Exception):
    pass


class Allocator:
    """Hands out values of a finite range; `owner` is recorded for the reader.
    `reserved` values are given only to whoever asks for them by value."""

    def __init__(self, storage: Storage, name: str, values: range | list[str],
                 rng: random.Random | None = None, reserved: frozenset[str | int] = frozenset()) -> None:
        self._storage = storage
        self._prefix = f"/registry/ranges/{name}/"
        self._values = values
        self._reserved = reserved
        self._members = values if isinstance(values, range) else frozenset(values)
        self._rng = rng or random.Random()

    def describe(self) -> str:
        values = self._values
        if isinstance(values, range):
            return f"{values.start}-{values.stop - 1}"
        return f"{values[0]}-{values[-1]}" if values else "(empty)"

    def contains(self, value: str | int) -> bool:
        return value in self._members

    async def allocate(self, value: str | int, owner: str) -> None:
        if not self.contains(value):
            raise OutOfRangeError(str(value))
        try:
            await self._storage.create(f"{self._prefix}{value}",
                                       {"metadata": {"name": str(value)}, "owner": owner})
        except KeyExistsError:
            raise AlreadyAllocatedError(str(value)) from None

    async def allocate_next(self, owner: str) -> str | int:
        taken, _ = await self._storage.list(self._prefix)
        used = {str(item["metadata"]["name"]) for item in taken}
        for value in self._candidates():
            if str(value) in used or value in self._reserved:
                continue
            try:
                await self.allocate(value, owner)
                return value
            except AlreadyAllocatedError:
                continue  # a concurrent create took it first
        raise RangeFullError(self._prefix)

    def _candidates(self) -> Iterator[str | int]:
        start = self._rng.randrange(len(self._values))
        for offset in range(len(self._values)):
            yield self._values[(start + offset) % len(self._values)]

    async def release(self, value: str | int) -> None:
        try:
            await self._storage.delete(f"{self._prefix}{value}")
        except KeyNotFoundError:
            pass


def service_ip_values(cidr: str) -> list[str]:
    """Every usable address of the range (not the network or broadcast address)."""
    return [str(ip) for ip in ipaddress.ip_network(cidr).hosts()]


def first_service_ip(cidr: str) -> str:
    """The `kubernetes` Service's cluster IP."""
    return str(next(ipaddress.ip_network(cidr).hosts()))


def reserved_service_ips(cidr: str) -> frozenset[str | int]:
    """The first host: only the `kubernetes` Service gets it, by asking for it."""
    return frozenset({first_service_ip(cidr)})


def parse_port_range(text: str) -> range:
    low, _, high = text.partition("-")
    return range(int(low), int(high or low) + 1)
