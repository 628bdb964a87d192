"""Shared fixtures: a real etcd and a real API server, started per test session.

Tests that need their own server (restarts) use `fresh_apiserver`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tinykube.testing.processes import APIServerProcess, Etcd, start_apiserver, start_etcd


@pytest.fixture(scope="session")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Etcd]:
    server = start_etcd(tmp_path_factory.mktemp("etcd") / "data")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def apiserver(etcd: Etcd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[APIServerProcess]:
    server = start_apiserver(etcd.url, tmp_path_factory.mktemp("apiserver"))
    yield server
    server.stop()


@pytest.fixture
def fresh_apiserver(etcd: Etcd, tmp_path: Path) -> Iterator[APIServerProcess]:
    server = start_apiserver(etcd.url, tmp_path / "apiserver")
    yield server
    server.stop()


@pytest.fixture
def http(apiserver: APIServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=apiserver.http_url, timeout=30) as client:
        yield client


@pytest.fixture
def namespace(http: httpx.Client) -> Iterator[str]:
    """A namespace of the test's own."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    response = http.post("/api/v1/namespaces", json={"metadata": {"name": name}})
    assert response.status_code == 201, response.text
    yield name
