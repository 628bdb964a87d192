"""The API server over an etcd whose data outgrows one gRPC message, that compacts,
that fills up and that stops.

Each test has an etcd and an API server of its own (compaction, alarms and a
stopped etcd must not reach the session's etcd), both stopped by PID at the end.
The receive limit is set to gRPC's default of 4 MiB, so six ~900 KB ConfigMaps
(5.4 MB), or 3,000 pods of 1.5 KB, are more than one etcd answer may hold.

Kubernetes counterpart: test/integration/apiserver/apiserver_test.go (large lists),
staging/src/k8s.io/apiserver/pkg/storage/etcd3/compact_test.go,
test/integration/apiserver/health_handler_test.go
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from apiserver.storage.etcd import EtcdStorage
from tests.integration.test_watch import create_config_map, list_rv, rv, watching
from tinykube.testing.processes import APIServerProcess, Etcd, start_apiserver, start_etcd

FOUR_MIB = 4 * 1024 * 1024
BIG_VALUE_BYTES = 900_000
SMALL_PODS = 3000
DEADLINE_SECONDS = 30.0


@pytest.fixture
def own_etcd(tmp_path: Path) -> Iterator[Etcd]:
    server = start_etcd(tmp_path / "etcd")
    yield server
    server.stop()


def own_apiserver(etcd: Etcd, tmp_path: Path, *flags: str) -> APIServerProcess:
    return start_apiserver(etcd.url, tmp_path / "apiserver", flags=flags)


@pytest.fixture
def limited_apiserver(own_etcd: Etcd, tmp_path: Path) -> Iterator[APIServerProcess]:
    server = own_apiserver(own_etcd, tmp_path, f"--etcd-max-recv-bytes={FOUR_MIB}")
    yield server
    server.stop()


def big_config_map(name: str, fill: str) -> dict[str, object]:
    return {"metadata": {"name": name}, "data": {"blob": fill * BIG_VALUE_BYTES}}


async def write_small_pods(server: APIServerProcess, count: int) -> None:
    """Pods of about 1.5 KB each, written to etcd directly, as a busy cluster's would be."""
    etcd_url = server.args[server.args.index("--etcd-servers") + 1]
    storage = EtcdStorage(etcd_url)
    await storage.connect()
    try:
        for start in range(0, count, 100):
            await asyncio.gather(*(storage.create(f"/registry/pods/default/small-{i:05d}", {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": f"small-{i:05d}", "namespace": "default",
                             "uid": str(uuid.uuid4()), "annotations": {"note": "n" * 1200}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            }) for i in range(start, min(count, start + 100))))
    finally:
        await storage.close()


def test_a_kind_larger_than_one_etcd_answer_lists_watches_and_survives_a_restart(
        limited_apiserver: APIServerProcess) -> None:
    base = "/api/v1/namespaces/default/configmaps"
    names = [f"big-{i}" for i in range(6)]
    with httpx.Client(base_url=limited_apiserver.http_url, timeout=60) as client:
        before = list_rv(client, base)
        for name in names:
            assert client.post(base, json=big_config_map(name, "x")).status_code == 201
        for name in names:  # every update's event carries the old object too: ~1.8 MB each
            assert client.put(f"{base}/{name}", json=big_config_map(name, "y")).status_code == 200

        listed = client.get(base)
        assert listed.status_code == 200, listed.text[:300]
        assert [o["metadata"]["name"] for o in listed.json()["items"]] == names
        assert sum(len(o["data"]["blob"]) for o in listed.json()["items"]) > FOUR_MIB

        asyncio.run(write_small_pods(limited_apiserver, SMALL_PODS))

        limited_apiserver.restart()  # the watch caches list 5.4 MB and 4.5 MB to start
        assert client.get("/readyz").text == "ok"
        relisted = client.get(base).json()
        assert [o["metadata"]["name"] for o in relisted["items"]] == names
        assert {o["data"]["blob"][:1] for o in relisted["items"]} == {"y"}
        chunk = client.get(base, params={"limit": "4"}).json()
        rest = client.get(base, params={"limit": "4", "continue": chunk["metadata"]["continue"]})
        assert [o["metadata"]["name"] for o in chunk["items"] + rest.json()["items"]] == names

        pods = client.get("/api/v1/pods")
        assert pods.status_code == 200 and len(pods.json()["items"]) == SMALL_PODS
        assert len(pods.content) > FOUR_MIB

        # Older than the restarted cache: etcd replays the 16 MB backlog itself.
        with watching(client, base, resourceVersion=before) as events:
            replayed = [(e["type"], e["object"]["metadata"]["name"]) for e in events.take(12)]
    assert replayed == [("ADDED", n) for n in names] + [("MODIFIED", n) for n in names]


def watch_outcome(client: httpx.Client, path: str, resource_version: int) -> dict[str, object]:
    """The first event of a watch from `resource_version` (an ERROR once compacted)."""
    with watching(client, path, resourceVersion=str(resource_version),
                  timeoutSeconds="5") as events:
        (first,) = events.take(1)
    return first


def test_compaction_makes_old_revisions_410_and_current_watches_resume(
        own_etcd: Etcd, tmp_path: Path) -> None:
    server = own_apiserver(own_etcd, tmp_path, "--etcd-compaction-interval=2s")
    base = "/api/v1/namespaces/default/configmaps"
    try:
        with httpx.Client(base_url=server.http_url, timeout=30) as client:
            old = rv(create_config_map(client, "default", "old"))
            create_config_map(client, "default", "middle")
            first_chunk = client.get(base, params={"limit": "1"}).json()
            server.restart()  # the new watch cache has no memory of `old`
            deadline = time.monotonic() + DEADLINE_SECONDS
            while (outcome := watch_outcome(client, base, old))["type"] != "ERROR":
                assert outcome["type"] == "ADDED"  # not compacted yet: etcd replays it
                assert time.monotonic() < deadline, "etcd was never compacted"
                time.sleep(0.5)
            status = outcome["object"]
            assert isinstance(status, dict)
            assert (status["code"], status["reason"]) == (410, "Expired")

            expired = client.get(base, params={"limit": "1",
                                               "continue": first_chunk["metadata"]["continue"]})
            assert expired.status_code == 410 and expired.json()["reason"] == "Expired"

            current = list_rv(client, base)
            with watching(client, base, resourceVersion=current) as events:
                created = create_config_map(client, "default", f"new-{uuid.uuid4().hex[:6]}")
                (added,) = events.take(1)
            assert (added["type"], rv(added["object"])) == ("ADDED", rv(created))
    finally:
        server.stop()


def alarm(etcd: Etcd, action: str) -> None:
    response = httpx.post(f"{etcd.url}/v3/maintenance/alarm",
                          json={"action": action, "memberID": "0", "alarm": "NOSPACE"})
    assert response.status_code == 200, response.text


def test_readyz_reports_etcd_alarms_and_a_stopped_etcd(own_etcd: Etcd, tmp_path: Path) -> None:
    server = own_apiserver(own_etcd, tmp_path)
    try:
        with httpx.Client(base_url=server.http_url, timeout=30) as client:
            ready = client.get("/readyz", params={"verbose": ""})
            assert (ready.status_code, ready.text) == (200, (
                "[+]ping ok\n[+]etcd ok\n[+]etcd-readiness ok\n[+]shutdown ok\n"
                "readyz check passed\n"))

            alarm(own_etcd, "ACTIVATE")
            full = client.get("/readyz")
            assert (full.status_code, full.text) == (500, (
                "[+]ping ok\n[+]etcd ok\n[-]etcd-readiness failed: reason withheld\n"
                "[+]shutdown ok\nreadyz check failed\n"))
            reason = client.get("/readyz/etcd-readiness")
            assert reason.status_code == 500 and "NOSPACE" in reason.text
            assert client.get("/livez").status_code == 200  # a full etcd is no reason to restart
            alarm(own_etcd, "DEACTIVATE")
            assert client.get("/readyz").status_code == 200

            own_etcd.stop()
            for path in ("/readyz", "/livez"):
                down = client.get(path, params={"verbose": ""}, timeout=10)
                assert down.status_code == 500
                assert "[-]etcd failed: reason withheld\n" in down.text
                assert down.text.endswith(f"{path[1:]} check failed\n")
            assert json.loads(client.get("/version").text)["major"] == "1"  # still serving
    finally:
        server.stop()
