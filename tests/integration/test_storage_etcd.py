"""The guaranteed_update contract on EtcdStorage over a real etcd (the same cases
run on MemoryStorage in tests/unit/apiserver/test_storage_memory.py). Every case
gets a key prefix of its own in the session's etcd.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/storage/etcd3/store_test.go
"""

from __future__ import annotations

import uuid

import pytest

from apiserver.storage.etcd import EtcdStorage
from tests.unit.apiserver.storage_contract import CASES, Case
from tinykube.testing.processes import Etcd


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
async def test_guaranteed_update_contract(case: Case, etcd: Etcd) -> None:
    storage = EtcdStorage(etcd.url)
    await storage.connect()
    try:
        await case(storage, f"/registry/contract-{uuid.uuid4().hex[:10]}/")
    finally:
        await storage.close()
