"""The guaranteed_update and list contracts on EtcdStorage over a real etcd (the
same cases run on MemoryStorage in tests/unit/apiserver/test_storage_memory.py).
Every case gets a key prefix of its own in the session's etcd. The list cases run
with a receive limit of a few kilobytes: every list takes many pages, and the
first page (500 keys asked) is refused as too large and read again smaller.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/storage/etcd3/store_test.go
"""

from __future__ import annotations

import uuid

import pytest

from apiserver.storage.etcd import EtcdStorage
from tests.unit.apiserver.list_contract import LIST_CASES, ListCase
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


@pytest.mark.parametrize("case", LIST_CASES, ids=lambda case: case.__name__)
async def test_list_contract(case: ListCase, etcd: Etcd) -> None:
    storage = EtcdStorage(etcd.url, max_receive_bytes=8 * 1024)
    await storage.connect()
    try:
        await case(storage, f"/registry/contract-{uuid.uuid4().hex[:10]}/")
    finally:
        await storage.close()
