"""Secrets encrypted at rest on a real etcd, through a real API server.

- with `--encryption-provider-config`, a Secret reads back in plaintext through
  the API while its etcd value starts with `k8s:enc:aesgcm:v1:key1:`;
- rotation by rewrite: add key2 first, replace every Secret, drop key1;
- the storage contract holds on an encrypting store (CAS, watch, lists).

The API server runs on an etcd of its own: the session's API server has no key.

Kubernetes counterpart: test/integration/controlplane/transformation/transformation_test.go
"""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import aetcd
import httpx
import pytest

from apiserver.storage.etcd import EtcdStorage, parse_etcd_servers
from apiserver.storage.value.aes import GCMTransformer
from apiserver.storage.value.resource_transformers import ResourceTransformers
from apiserver.storage.value.transformer import PrefixTransformer, PrefixTransformers
from tests.unit.apiserver.storage_contract import CASES, Case
from tinykube.testing.processes import APIServerProcess, Etcd, start_apiserver, start_etcd

KEY1 = base64.b64encode(b"1" * 32).decode()
KEY2 = base64.b64encode(b"2" * 32).decode()
PLAIN = base64.b64encode(b"hunter2").decode()


def encryption_config(*keys: tuple[str, str]) -> str:
    listed = ", ".join(f"{{name: {name}, secret: {secret}}}" for name, secret in keys)
    return f"""apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - aesgcm: {{keys: [{listed}]}}
  - identity: {{}}
"""


def raw_value(etcd: Etcd, key: str) -> bytes:
    async def read() -> bytes:
        host, port = parse_etcd_servers(etcd.url)
        async with aetcd.Client(host=host, port=port) as client:
            got = await client.get(key.encode())
            assert got is not None, key
            return bytes(got.value)
    return asyncio.run(read())


@pytest.fixture(scope="module")
def own_etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Etcd]:
    """An etcd of this module's own: API servers without the key (the session's)
    could not read the Secrets written here."""
    etcd = start_etcd(tmp_path_factory.mktemp("encrypted-etcd") / "data")
    yield etcd
    etcd.stop()


@pytest.fixture(scope="module")
def encrypting(own_etcd: Etcd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[APIServerProcess]:
    workdir = tmp_path_factory.mktemp("encrypting-apiserver")
    config = workdir / "encryption.yaml"
    config.write_text(encryption_config(("key1", KEY1)))
    server = start_apiserver(own_etcd.url, workdir, flags=("--encryption-provider-config", str(config)))
    yield server
    server.stop()


def create_secret(http: httpx.Client, namespace: str, name: str) -> None:
    response = http.post(f"/api/v1/namespaces/{namespace}/secrets", json={
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": {"password": PLAIN}})
    assert response.status_code == 201, response.text


def make_namespace(http: httpx.Client) -> str:
    namespace = f"enc-{uuid.uuid4().hex[:8]}"
    response = http.post("/api/v1/namespaces", json={"metadata": {"name": namespace}})
    assert response.status_code == 201, response.text
    return namespace


def test_secret_is_ciphertext_in_etcd_and_plaintext_through_the_api(
        encrypting: APIServerProcess, own_etcd: Etcd) -> None:
    etcd = own_etcd
    with httpx.Client(base_url=encrypting.http_url) as http:
        namespace = make_namespace(http)
        create_secret(http, namespace, "db")
        got = http.get(f"/api/v1/namespaces/{namespace}/secrets/db")
        assert got.status_code == 200 and got.json()["data"] == {"password": PLAIN}
        listed = http.get(f"/api/v1/namespaces/{namespace}/secrets").json()["items"]
        assert [s["data"] for s in listed] == [{"password": PLAIN}]
        stored = raw_value(etcd, f"/registry/secrets/{namespace}/db")
        assert stored.startswith(b"k8s:enc:aesgcm:v1:key1:")
        assert PLAIN.encode() not in stored and b"hunter2" not in stored
        # A resource not in the config stays plain JSON.
        http.post(f"/api/v1/namespaces/{namespace}/configmaps",
                  json={"metadata": {"name": "plain"}, "data": {"a": "b"}}).raise_for_status()
        assert raw_value(etcd, f"/registry/configmaps/{namespace}/plain").startswith(b"{")


def test_key_rotation_by_rewrite(encrypting: APIServerProcess, own_etcd: Etcd) -> None:
    etcd = own_etcd
    config = Path(encrypting.workdir) / "encryption.yaml"
    with httpx.Client(base_url=encrypting.http_url) as http:
        namespace = make_namespace(http)
        for name in ("a", "b"):
            create_secret(http, namespace, name)
    keys = [f"/registry/secrets/{namespace}/{name}" for name in ("a", "b")]
    assert all(raw_value(etcd, key).startswith(b"k8s:enc:aesgcm:v1:key1:") for key in keys)

    config.write_text(encryption_config(("key2", KEY2), ("key1", KEY1)))  # the new key first
    encrypting.restart()
    with httpx.Client(base_url=encrypting.http_url) as http:
        # `kubectl get secrets -A -o json | kubectl replace -f -`: every Secret of the
        # cluster, as a value left under key1 would be unreadable once key1 is gone.
        for item in http.get("/api/v1/secrets").json()["items"]:
            meta = item["metadata"]
            # An unchanged object is written again: its value was read with an older key.
            response = http.put(f"/api/v1/namespaces/{meta['namespace']}/secrets/{meta['name']}",
                                json=item)
            assert response.status_code == 200, response.text
    assert all(raw_value(etcd, key).startswith(b"k8s:enc:aesgcm:v1:key2:") for key in keys)

    config.write_text(encryption_config(("key2", KEY2)))  # the old key dropped
    encrypting.restart()
    with httpx.Client(base_url=encrypting.http_url) as http:
        items = http.get(f"/api/v1/namespaces/{namespace}/secrets").json()["items"]
        assert sorted((s["metadata"]["name"], s["data"]["password"]) for s in items) == \
            [("a", PLAIN), ("b", PLAIN)]


def test_a_bad_config_stops_the_api_server(etcd: Etcd, tmp_path: Path) -> None:
    config = tmp_path / "encryption.yaml"
    config.write_text(encryption_config(("key1", base64.b64encode(b"short").decode())))
    finished = subprocess.run(
        [sys.executable, "-m", "apiserver", "--etcd-servers", etcd.url, "--port", "0",
         "--secure-port", "0", "--encryption-provider-config", str(config)],
        capture_output=True, text=True, timeout=60)
    assert finished.returncode != 0
    assert "secret is not of the expected length, got 5, expected one of [16 24 32]" in finished.stderr


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
async def test_storage_contract_on_an_encrypting_store(case: Case, etcd: Etcd) -> None:
    segment = f"contract-{uuid.uuid4().hex[:10]}"
    keys = PrefixTransformers("no matching key", [PrefixTransformer(b"k:", GCMTransformer(b"k" * 32))])
    transformer = PrefixTransformers("no matching prefix found",
                                     [PrefixTransformer(b"k8s:enc:aesgcm:v1:", keys)])
    transformers = ResourceTransformers({("", segment): transformer}, groups={segment: ""})
    storage = EtcdStorage(etcd.url, transformers=transformers)
    await storage.connect()
    try:
        await case(storage, f"/registry/{segment}/")
    finally:
        await storage.close()
