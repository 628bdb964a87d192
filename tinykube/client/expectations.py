"""Controller expectations: do not act on a key until your own last writes are seen.

A ReplicaSet controller that creates 3 pods cannot see them in its informer cache
at once. Without a record of what it asked for, its next sync would count 0 pods
and create 3 more. So before issuing creates/deletes it calls
`expect_creations(key, n)`; the pod informer's handlers call `creation_observed`;
and `sync` only manages replicas when `satisfied_expectations(key)` is true.

- An expectation is met when every expected add and delete has been observed.
- It also counts as met once it is older than 5 minutes (a watch event may have
  been lost; the controller then re-counts from the cache instead of waiting forever).
- A failed create must be reported as observed too (the controller lowers its own
  expectation), or the key would stall until the TTL.

Kubernetes counterpart: pkg/controller/controller_utils.go (ControllerExpectations)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tinykube.client.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)

EXPECTATIONS_TIMEOUT_SECONDS = 5 * 60


@dataclass
class ControlleeExpectations:
    """Outstanding adds and deletes for one controller key, and when they were set."""

    add: int
    delete: int
    timestamp: float

    def fulfilled(self) -> bool:
        return self.add <= 0 and self.delete <= 0


class ControllerExpectations:
    """A TTL'd map of controller key → outstanding creations/deletions."""

    def __init__(self, clock: Clock = REAL_CLOCK,
                 timeout_seconds: float = EXPECTATIONS_TIMEOUT_SECONDS) -> None:
        self._clock = clock
        self._timeout_seconds = timeout_seconds
        self._store: dict[str, ControlleeExpectations] = {}

    def get_expectations(self, key: str) -> ControlleeExpectations | None:
        return self._store.get(key)

    def satisfied_expectations(self, key: str) -> bool:
        """True when the controller may sync `key`: nothing recorded, all observed, or expired."""
        exp = self._store.get(key)
        if exp is None:
            return True  # a new controller, or one whose expectations were deleted
        if exp.fulfilled():
            log.debug("expectations met key=%s", key)
            return True
        if self._clock.now() - exp.timestamp > self._timeout_seconds:
            log.info("expectations expired key=%s add=%d delete=%d", key, exp.add, exp.delete)
            return True
        return False

    def set_expectations(self, key: str, add: int, delete: int) -> None:
        self._store[key] = ControlleeExpectations(add, delete, self._clock.now())

    def expect_creations(self, key: str, adds: int) -> None:
        self.set_expectations(key, adds, 0)

    def expect_deletions(self, key: str, deletes: int) -> None:
        self.set_expectations(key, 0, deletes)

    def raise_expectations(self, key: str, add: int, delete: int) -> None:
        exp = self._store.get(key)
        if exp is not None:
            exp.add += add
            exp.delete += delete

    def lower_expectations(self, key: str, add: int, delete: int) -> None:
        exp = self._store.get(key)
        if exp is not None:
            exp.add -= add
            exp.delete -= delete

    def creation_observed(self, key: str) -> None:
        self.lower_expectations(key, 1, 0)

    def deletion_observed(self, key: str) -> None:
        self.lower_expectations(key, 0, 1)

    def delete_expectations(self, key: str) -> None:
        """Forget `key` entirely (its controller object was deleted)."""
        self._store.pop(key, None)
