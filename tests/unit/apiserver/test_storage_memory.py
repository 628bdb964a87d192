"""The guaranteed_update contract on MemoryStorage (the same cases run on etcd in
tests/integration/test_storage_etcd.py).

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/storage/testing/store_tests.go
"""

from __future__ import annotations

import pytest

from apiserver.storage.memory import MemoryStorage
from tests.unit.apiserver.storage_contract import CASES, Case


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
async def test_guaranteed_update_contract(case: Case) -> None:
    await case(MemoryStorage(), "/registry/configmaps/contract/")
