"""Load shedding and slow clients against a real API server and etcd.

- max in flight: a request over `--max-mutating-requests-inflight` is 429 with
  Retry-After and Kubernetes' Status, nothing is written, watches are not
  counted, and `tinykube.client` retries until it gets through;
- a request whose headers or body never finish is dropped after the deadline
  while `/readyz` answers; a listener over `--max-connections` answers 503;
- a watcher that never reads is closed and the server's memory stays bounded.

A request is held "in flight" by sending its headers and only part of its body
over a raw socket: the handler is then waiting for the rest.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.slow_clients import write_events
from tinykube.api.resources import INDEX
from tinykube.client.config import ClientConfig
from tinykube.client.rest import RESTClient
from tinykube.testing.processes import APIServerProcess, Etcd, start_apiserver, wait_until

CONFIGMAPS = INDEX.by_name("configmaps")
assert CONFIGMAPS
DEADLINE_SECONDS = 20.0


def port_of(server: APIServerProcess) -> int:
    return int(server.http_url.rsplit(":", 1)[1])


def configmap(name: str, payload: str = "") -> bytes:
    return (b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"' + name.encode()
            + b'"},"data":{"payload":"' + payload.encode() + b'"}}')


class HeldRequest:
    """A POST whose body is sent up to its last byte, then held."""

    def __init__(self, server: APIServerProcess, path: str, body: bytes) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port_of(server)))
        self.sock.settimeout(DEADLINE_SECONDS)
        self.sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                          f"application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                          + body[:-1])
        self._rest = body[-1:]

    def finish(self) -> bytes:
        """Send the last byte; the response's first bytes."""
        self.sock.sendall(self._rest)
        return self.sock.recv(65536)

    def close(self) -> None:
        self.sock.close()


def refused_count(http: httpx.Client) -> int:
    for line in http.get("/metrics").text.splitlines():
        if line.startswith('apiserver_request_total{verb="POST",resource="configmaps",code="429"}'):
            return int(float(line.rsplit(" ", 1)[1]))
    return 0


@pytest.fixture(scope="module")
def limited(etcd: Etcd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[APIServerProcess]:
    server = start_apiserver(etcd.url, tmp_path_factory.mktemp("limited"), flags=(
        "--max-requests-inflight=1", "--max-mutating-requests-inflight=1"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def strict(etcd: Etcd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[APIServerProcess]:
    server = start_apiserver(etcd.url, tmp_path_factory.mktemp("strict"), flags=(
        "--read-header-timeout=1s", "--read-body-timeout=1s", "--max-connections=20"))
    yield server
    server.stop()


@pytest.fixture
def held(limited: APIServerProcess) -> Iterator[tuple[HeldRequest, httpx.Client, str]]:
    """One mutating request in flight on `limited`, and a client seeing 429s."""
    http = httpx.Client(base_url=limited.http_url, timeout=DEADLINE_SECONDS)
    name = f"held-{uuid.uuid4().hex[:8]}"
    request = HeldRequest(limited, "/api/v1/namespaces/default/configmaps", configmap(name))
    probe = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe"}}
    wait_until(lambda: http.post("/api/v1/namespaces/default/configmaps", json=probe,
                                 params={"dryRun": "All"}).status_code == 429,
               DEADLINE_SECONDS, "the held request to be in flight", 0.02)
    yield request, http, name
    request.close()
    http.close()


def test_a_request_over_the_mutating_limit_is_429_and_writes_nothing(
        held: tuple[HeldRequest, httpx.Client, str]) -> None:
    request, http, held_name = held
    refused = http.post("/api/v1/namespaces/default/configmaps",
                        content=configmap("refused"), headers={"Content-Type": "application/json"})
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert refused.json() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "Too many requests, please try again later.", "reason": "TooManyRequests",
        "details": {"retryAfterSeconds": 1}, "code": 429}
    assert http.get("/api/v1/namespaces/default/configmaps/refused").status_code == 404
    # Reads are a separate bound; health checks are never limited.
    assert http.get("/api/v1/namespaces/default/configmaps").status_code == 200
    assert http.get("/readyz").status_code == 200
    assert request.finish().startswith(b"HTTP/1.1 201")
    assert http.get(f"/api/v1/namespaces/default/configmaps/{held_name}").status_code == 200


def test_watches_do_not_count_against_the_read_only_limit(limited: APIServerProcess) -> None:
    with httpx.Client(base_url=limited.http_url, timeout=DEADLINE_SECONDS) as http:
        streams = [http.stream("GET", "/api/v1/namespaces/default/configmaps",
                               params={"watch": "true"}) for _ in range(3)]
        responses = [s.__enter__() for s in streams]
        try:
            assert [r.status_code for r in responses] == [200, 200, 200]
            assert http.get("/api/v1/namespaces/default/configmaps").status_code == 200
        finally:
            for s in streams:
                s.__exit__(None, None, None)


def test_the_client_retries_a_429_until_it_gets_through(
        limited: APIServerProcess, held: tuple[HeldRequest, httpx.Client, str]) -> None:
    request, http, _ = held
    name = f"retried-{uuid.uuid4().hex[:8]}"
    before = refused_count(http)

    async def scenario() -> dict[str, object]:
        async with RESTClient(ClientConfig(server=limited.http_url)) as client:
            create = asyncio.create_task(client.create(
                CONFIGMAPS, {"metadata": {"name": name}}, "default"))
            await asyncio.to_thread(wait_until, lambda: refused_count(http) != before,
                                    DEADLINE_SECONDS, "the first try to be refused", 0.02)
            assert not create.done()
            await asyncio.to_thread(request.finish)
            return await asyncio.wait_for(create, DEADLINE_SECONDS)

    created = asyncio.run(scenario())
    assert created["metadata"]["name"] == name  # type: ignore[index]


def test_half_sent_headers_are_dropped_while_readyz_answers(strict: APIServerProcess) -> None:
    sock = socket.create_connection(("127.0.0.1", port_of(strict)))
    sock.settimeout(DEADLINE_SECONDS)
    sock.sendall(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: 127.")
    assert httpx.get(f"{strict.http_url}/readyz").text == "ok"
    assert sock.recv(1024) == b""  # closed without an answer after --read-header-timeout
    sock.close()


def test_a_body_that_never_finishes_is_dropped_and_nothing_written(
        strict: APIServerProcess) -> None:
    request = HeldRequest(strict, "/api/v1/namespaces/default/configmaps", configmap("trickle"))
    try:
        assert request.sock.recv(1024) == b""  # closed after --read-body-timeout
    finally:
        request.close()
    answer = httpx.get(f"{strict.http_url}/api/v1/namespaces/default/configmaps/trickle")
    assert answer.status_code == 404


def test_connections_over_the_cap_get_503(strict: APIServerProcess) -> None:
    idle = [socket.create_connection(("127.0.0.1", port_of(strict))) for _ in range(20)]
    try:
        over = socket.create_connection(("127.0.0.1", port_of(strict)))
        over.settimeout(DEADLINE_SECONDS)
        answer = over.recv(4096)
        assert answer.startswith(b"HTTP/1.1 503 Service Unavailable")
        assert b'"reason": "ServiceUnavailable"' in answer
        over.close()
    finally:
        for sock in idle:
            sock.close()
    wait_until(lambda: httpx.get(f"{strict.http_url}/readyz").status_code == 200,
               DEADLINE_SECONDS, "the listener to accept again", 0.02)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_a_watcher_that_never_reads_is_closed_and_memory_stays_bounded(
        etcd: Etcd, tmp_path: Path) -> None:
    server = start_apiserver(etcd.url, tmp_path / "apiserver")
    try:
        namespace = f"stuck-{uuid.uuid4().hex[:6]}"
        httpx.post(f"{server.http_url}/api/v1/namespaces",
                   json={"metadata": {"name": namespace}}).raise_for_status()
        stuck = socket.create_connection(("127.0.0.1", port_of(server)))
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.sendall(f"GET /api/v1/namespaces/{namespace}/configmaps?watch=true HTTP/1.1\r\n"
                      f"Host: 127.0.0.1\r\n\r\n".encode())
        before = rss_mib(server.proc.process.pid)
        asyncio.run(write_events(etcd.url, namespace, count=15_000, object_kib=5))
        growth = rss_mib(server.proc.process.pid) - before
        stuck.settimeout(DEADLINE_SECONDS)
        received = 0
        try:  # what was sent before the server cut the stream off, then EOF or a reset
            while chunk := stuck.recv(1 << 20):
                received += len(chunk)
        except ConnectionResetError:
            pass
        stuck.close()
        assert received < 15_000 * 5 * 1024  # it was cut off, not served everything
        assert growth < 200, f"API server RSS grew {growth:.0f} MiB"
    finally:
        server.stop()
