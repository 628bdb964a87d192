"""The guaranteed_update and list contracts on MemoryStorage (the same cases run
on etcd in tests/integration/test_storage_etcd.py).

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/storage/testing/store_tests.go
"""

from __future__ import annotations

import pytest

from apiserver.storage.interface import CompactedError
from apiserver.storage.memory import MemoryStorage
from tests.unit.apiserver.list_contract import LIST_CASES, ListCase
from tests.unit.apiserver.storage_contract import CASES, Case


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
async def test_guaranteed_update_contract(case: Case) -> None:
    await case(MemoryStorage(), "/registry/configmaps/contract/")


@pytest.mark.parametrize("case", LIST_CASES, ids=lambda case: case.__name__)
async def test_list_contract(case: ListCase) -> None:
    await case(MemoryStorage(page_size=2), "/registry/configmaps/contract/")


async def test_a_list_at_a_compacted_revision_is_refused() -> None:
    storage = MemoryStorage()
    created = await storage.create("/registry/configmaps/ns/a", {"metadata": {"name": "a"}})
    old = int(created["metadata"]["resourceVersion"])
    await storage.delete("/registry/configmaps/ns/a")
    storage.compact(await storage.current_revision())
    with pytest.raises(CompactedError):
        await storage.list("/registry/configmaps/", old)
