"""Watch semantics over the wire: exactly the events after a resourceVersion.

Every test reads the raw chunked stream of JSON lines with httpx, as a client
library would. Waits are bounded by the HTTP read timeout: a missing event fails
the test instead of hanging it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tinykube.testing.processes import APIServerProcess, Etcd, start_apiserver

READ_TIMEOUT_SECONDS = 10.0
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
MERGE = {"Content-Type": "application/merge-patch+json"}


class WatchStream:
    """The events of one open watch, read on demand."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = (line for line in response.iter_lines() if line.strip())

    def take(self, count: int) -> list[dict[str, Any]]:
        return [json.loads(next(self._lines)) for _ in range(count)]

    def rest(self) -> list[dict[str, Any]]:
        """Every remaining event; returns when the server ends the stream."""
        return [json.loads(line) for line in self._lines]


@contextmanager
def watching(client: httpx.Client, path: str, headers: dict[str, str] | None = None,
             **params: str) -> Iterator[WatchStream]:
    with client.stream("GET", path, params={"watch": "true", **params}, headers=headers,
                       timeout=READ_TIMEOUT_SECONDS) as response:
        assert response.status_code == 200, response.read()
        yield WatchStream(response)


def rv(obj: dict[str, Any]) -> int:
    return int(obj["metadata"]["resourceVersion"])


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [(e["type"], e["object"]["metadata"]["name"], rv(e["object"])) for e in events]


def create_config_map(client: httpx.Client, namespace: str, name: str,
                      labels: dict[str, str] | None = None) -> dict[str, Any]:
    response = client.post(f"/api/v1/namespaces/{namespace}/configmaps",
                           json={"metadata": {"name": name, "labels": labels or {}},
                                 "data": {"n": "0"}})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def patch(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.patch(path, content=json.dumps(body), headers=MERGE)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def delete(client: httpx.Client, path: str, **params: str) -> dict[str, Any]:
    response = client.delete(path, params=params)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def list_rv(client: httpx.Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return str(response.json()["metadata"]["resourceVersion"])


def test_watch_without_resource_version_starts_with_synthetic_added(
        http: httpx.Client, namespace: str) -> None:
    a = create_config_map(http, namespace, "a")
    b = create_config_map(http, namespace, "b")
    with watching(http, f"/api/v1/namespaces/{namespace}/configmaps") as events:
        assert summary(events.take(2)) == [("ADDED", "a", rv(a)), ("ADDED", "b", rv(b))]
        # The synthetic events came after registration, so a write now is live.
        c = create_config_map(http, namespace, "c")
        changed = patch(http, f"/api/v1/namespaces/{namespace}/configmaps/a", {"data": {"n": "1"}})
        assert summary(events.take(2)) == [("ADDED", "c", rv(c)), ("MODIFIED", "a", rv(changed))]


def test_watch_from_a_resource_version_misses_and_repeats_nothing(
        http: httpx.Client, namespace: str) -> None:
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    start = list_rv(http, base)
    written: list[tuple[str, str, int]] = []
    with watching(http, base, resourceVersion=start) as live:
        for i in range(10):
            written.append(("ADDED", f"cm{i}", rv(create_config_map(http, namespace, f"cm{i}"))))
        for round_ in range(3):
            for i in range(10):
                obj = patch(http, f"{base}/cm{i}", {"data": {"n": str(round_ + 1)}})
                written.append(("MODIFIED", f"cm{i}", rv(obj)))
        for i in range(10):
            written.append(("DELETED", f"cm{i}", rv(delete(http, f"{base}/cm{i}"))))
        assert len(written) == 50
        assert summary(live.take(50)) == written
    # The same watch opened after the fact is replayed from history, identically.
    with watching(http, base, resourceVersion=start) as replay:
        assert summary(replay.take(50)) == written
    # Resuming from the middle gives exactly the tail.
    middle = written[24][2]
    with watching(http, base, resourceVersion=str(middle)) as resumed:
        assert summary(resumed.take(25)) == written[25:]


def test_label_selector_watch_sees_objects_enter_and_leave(
        http: httpx.Client, namespace: str) -> None:
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    start = list_rv(http, base)
    create_config_map(http, namespace, "outside")
    joined = patch(http, f"{base}/outside", {"metadata": {"labels": {"app": "x"}}})
    touched = patch(http, f"{base}/outside", {"data": {"n": "1"}})
    left = patch(http, f"{base}/outside", {"metadata": {"labels": {"app": "y"}}})
    patch(http, f"{base}/outside", {"data": {"n": "2"}})  # not selected: no event
    born = create_config_map(http, namespace, "inside", {"app": "x"})
    gone = delete(http, f"{base}/inside")
    # A last selected write: everything unselected before it has had its chance.
    sentinel = create_config_map(http, namespace, "sentinel", {"app": "x"})
    with watching(http, base, resourceVersion=start, labelSelector="app=x") as events:
        assert summary(events.take(6)) == [
            ("ADDED", "outside", rv(joined)), ("MODIFIED", "outside", rv(touched)),
            ("DELETED", "outside", rv(left)), ("ADDED", "inside", rv(born)),
            ("DELETED", "inside", rv(gone)), ("ADDED", "sentinel", rv(sentinel))]


def pod(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def bind(client: httpx.Client, namespace: str, name: str, node: str) -> None:
    response = client.post(f"/api/v1/namespaces/{namespace}/pods/{name}/binding",
                           json={"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
                                 "target": {"kind": "Node", "name": node}})
    assert response.status_code == 201, response.text


def test_field_selector_on_node_name(http: httpx.Client, namespace: str) -> None:
    base = f"/api/v1/namespaces/{namespace}/pods"
    start = list_rv(http, base)
    for name in ("mine", "theirs"):
        assert http.post(base, json=pod(name)).status_code == 201
    bind(http, namespace, "mine", "node-1")
    bind(http, namespace, "theirs", "node-2")
    labelled = patch(http, f"{base}/mine", {"metadata": {"labels": {"seen": "yes"}}})
    patch(http, f"{base}/theirs", {"metadata": {"labels": {"seen": "yes"}}})
    gone = delete(http, f"{base}/mine", gracePeriodSeconds="0")
    delete(http, f"{base}/theirs", gracePeriodSeconds="0")
    assert http.post(base, json=pod("sentinel")).status_code == 201
    bind(http, namespace, "sentinel", "node-1")
    with watching(http, base, resourceVersion=start,
                  fieldSelector="spec.nodeName=node-1") as events:
        got = events.take(4)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in got] == \
        [("ADDED", "mine"), ("MODIFIED", "mine"), ("DELETED", "mine"), ("ADDED", "sentinel")]
    assert got[0]["object"]["spec"]["nodeName"] == "node-1"
    assert [rv(e["object"]) for e in got[1:3]] == [rv(labelled), rv(gone)]


def test_timeout_seconds_ends_the_stream(http: httpx.Client, namespace: str) -> None:
    create_config_map(http, namespace, "only")
    with watching(http, f"/api/v1/namespaces/{namespace}/configmaps", timeoutSeconds="1") as events:
        assert [e["type"] for e in events.rest()] == ["ADDED"]


def test_send_initial_events_is_rejected(http: httpx.Client, namespace: str) -> None:
    response = http.get(f"/api/v1/namespaces/{namespace}/configmaps",
                        params={"watch": "true", "sendInitialEvents": "true",
                                "resourceVersionMatch": "NotOlderThan"})
    assert response.status_code == 400
    assert response.json()["kind"] == "Status" and response.json()["reason"] == "BadRequest"


def test_table_watch_sends_one_row_per_event(http: httpx.Client, namespace: str) -> None:
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    start = list_rv(http, base)
    create_config_map(http, namespace, "tabled")
    with watching(http, base, headers={"Accept": TABLE}, resourceVersion=start) as events:
        (event,) = events.take(1)
    assert event["type"] == "ADDED"
    table = event["object"]
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert len(table["rows"]) == 1
    assert table["rows"][0]["object"]["metadata"]["name"] == "tabled"
    assert [c["name"] for c in table["columnDefinitions"]][0] == "Name"


@pytest.fixture
def quick_bookmarks_apiserver(etcd: Etcd, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> Iterator[APIServerProcess]:
    """An API server of the test's own that sends a bookmark after 0.2 s of silence."""
    monkeypatch.setenv("TINYKUBE_BOOKMARK_INTERVAL_SECONDS", "0.2")
    server = start_apiserver(etcd.url, tmp_path / "apiserver")
    yield server
    server.stop()


def test_bookmarks_only_when_allowed(quick_bookmarks_apiserver: APIServerProcess) -> None:
    base = "/api/v1/namespaces/default/configmaps"
    with httpx.Client(base_url=quick_bookmarks_apiserver.http_url) as client:
        start = list_rv(client, base)
        with watching(client, base, resourceVersion=start, allowWatchBookmarks="true") as events:
            (first,) = events.take(1)
            assert first["type"] == "BOOKMARK"
            assert first["object"]["kind"] == "ConfigMap"
            assert first["object"]["apiVersion"] == "v1"
            assert rv(first["object"]) >= int(start)  # never behind where the watch began
            written = create_config_map(client, "default", f"bm-{uuid.uuid4().hex[:8]}")
            (added,) = events.take(1)
            while added["type"] == "BOOKMARK":  # silence while the write was on its way
                assert rv(added["object"]) < rv(written)
                (added,) = events.take(1)
            assert (added["type"], rv(added["object"])) == ("ADDED", rv(written))
            (bookmark,) = events.take(1)
            assert bookmark["type"] == "BOOKMARK" and rv(bookmark["object"]) >= rv(written)
        with watching(client, base, resourceVersion=str(rv(written)), timeoutSeconds="1") as events:
            assert events.rest() == []


def compact_etcd(etcd: Etcd, revision: int) -> None:
    response = httpx.post(f"{etcd.url}/v3/kv/compaction", json={"revision": str(revision)})
    assert response.status_code == 200, response.text


def test_a_compacted_resource_version_is_410_gone_in_stream(
        fresh_apiserver: APIServerProcess, etcd: Etcd) -> None:
    namespace = f"t-{uuid.uuid4().hex[:10]}"
    with httpx.Client(base_url=fresh_apiserver.http_url, timeout=30) as client:
        assert client.post("/api/v1/namespaces", json={"metadata": {"name": namespace}}).status_code == 201
        old = rv(create_config_map(client, namespace, "old"))
        create_config_map(client, namespace, "middle")
        latest = rv(create_config_map(client, namespace, "new"))
        # etcd keeps the compaction revision itself: the events after `old` start
        # before `latest`, so some of them are gone.
        compact_etcd(etcd, latest)
        # A restarted server has no memory of `old`; only etcd could replay it, and
        # etcd has compacted it away.
        fresh_apiserver.restart()
        with watching(client, f"/api/v1/namespaces/{namespace}/configmaps",
                      resourceVersion=str(old)) as events:
            (error,) = events.rest()
    assert error["type"] == "ERROR"
    status = error["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")


def test_a_watch_resumed_after_an_api_server_restart_gets_exactly_the_later_events(
        fresh_apiserver: APIServerProcess) -> None:
    namespace = f"t-{uuid.uuid4().hex[:10]}"
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    with httpx.Client(base_url=fresh_apiserver.http_url, timeout=30) as client:
        assert client.post("/api/v1/namespaces", json={"metadata": {"name": namespace}}).status_code == 201
        create_config_map(client, namespace, "before")
        resume_from = list_rv(client, base)
        expected = [("ADDED", "after-1", rv(create_config_map(client, namespace, "after-1"))),
                    ("MODIFIED", "before", rv(patch(client, f"{base}/before", {"data": {"n": "1"}}))),
                    ("ADDED", "after-2", rv(create_config_map(client, namespace, "after-2"))),
                    ("DELETED", "after-1", rv(delete(client, f"{base}/after-1")))]
        fresh_apiserver.restart()
        after_restart = rv(create_config_map(client, namespace, "after-restart"))
        expected.append(("ADDED", "after-restart", after_restart))
        with watching(client, base, resourceVersion=resume_from) as events:
            assert summary(events.take(len(expected))) == expected
