"""The API server load balancer: turns, skipping dead backends, and cutting the
connections of a backend that goes down. Backends are echo servers on loopback;
health is scripted per backend."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator

import pytest

from tinykube import pki
from tinykube.cluster.loadbalancer import Backend, LoadBalancer, parse_address, readyz_check


class Echo:
    """A backend that answers every line with its name and the line."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            writer.write(f"{self.name}:".encode() + line)
            await writer.drain()
        writer.close()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
async def cluster() -> AsyncIterator[tuple[LoadBalancer, dict[str, bool], int, list[Echo]]]:
    echoes = [Echo("a"), Echo("b")]
    backends = [Backend("127.0.0.1", await e.start()) for e in echoes]
    healthy = {str(b): True for b in backends}

    async def check(backend: Backend) -> bool:
        return healthy[str(backend)]

    balancer = LoadBalancer(backends, check, fall=2)
    server = await asyncio.start_server(balancer.handle, "127.0.0.1", 0)
    port = int(server.sockets[0].getsockname()[1])
    yield balancer, healthy, port, echoes
    server.close()
    await balancer.close()
    await server.wait_closed()
    for echo in echoes:
        if echo.server is not None and echo.server.is_serving():
            await echo.stop()


async def ask(port: int, line: str = "hi") -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"{line}\n".encode())
    answer = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return answer.decode().strip()


async def test_connections_take_turns(cluster) -> None:
    _, _, port, _ = cluster
    answers = [await ask(port) for _ in range(4)]
    assert sorted(answers) == ["a:hi", "a:hi", "b:hi", "b:hi"]


async def test_a_backend_that_refuses_is_skipped(cluster) -> None:
    _, _, port, echoes = cluster
    await echoes[0].stop()  # not yet known down: the connect fails and b answers
    assert {await ask(port) for _ in range(4)} == {"b:hi"}


async def test_a_backend_is_down_after_fall_failures_and_its_connections_close(cluster) -> None:
    balancer, healthy, port, _ = cluster
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"first\n")
    name = (await reader.readline()).decode().split(":")[0]
    healthy[f"127.0.0.1:{balancer.backends[0 if name == 'a' else 1].port}"] = False
    await balancer.check_once()
    assert all(b.up for b in balancer.backends)  # one failure is not enough
    await balancer.check_once()
    assert [b.up for b in balancer.backends].count(False) == 1
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the balancer
    writer.close()
    await writer.wait_closed()
    other = "b" if name == "a" else "a"
    assert {await ask(port) for _ in range(3)} == {f"{other}:hi"}


async def test_a_backend_comes_back_after_one_good_check(cluster) -> None:
    balancer, healthy, port, _ = cluster
    key = str(balancer.backends[0])
    healthy[key] = False
    await balancer.check_once()
    await balancer.check_once()
    assert not balancer.backends[0].up
    healthy[key] = True
    await balancer.check_once()
    assert balancer.backends[0].up
    assert {await ask(port) for _ in range(4)} == {"a:hi", "b:hi"}


@pytest.mark.parametrize("text,expected", [("cp-1:6443", ("cp-1", 6443)), (":80", ("0.0.0.0", 80))])
def test_parse_address(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


# --- the /readyz check -------------------------------------------------------------

async def tls_server(tmp_path, answer: bytes | None) -> asyncio.Server:  # type: ignore[no-untyped-def]
    """A TLS server answering every request with `answer` (None: never answers)."""
    cert, key = pki.self_signed("backend", ("127.0.0.1",))
    (tmp_path / "c.pem").write_bytes(cert)
    (tmp_path / "k.pem").write_bytes(key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    hold: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        if answer is None:
            hold.append(writer)
            return
        writer.write(answer)
        await writer.drain()
        writer.close()

    return await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)


@pytest.mark.parametrize("answer,verdict", [(b"HTTP/1.1 200 OK\r\n\r\nok", True),
                                            (b"HTTP/1.1 500 Internal Server Error\r\n\r\n", False),
                                            (None, None)])
async def test_readyz_verdicts(tmp_path, answer: bytes | None, verdict: bool | None) -> None:
    server = await tls_server(tmp_path, answer)
    port = int(server.sockets[0].getsockname()[1])
    check = readyz_check(answer_timeout_seconds=0.5)
    assert await check(Backend("127.0.0.1", port)) is verdict
    server.close()


async def test_readyz_of_an_unreachable_backend_is_a_failure() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nobody listens here once closed
    assert await readyz_check()(Backend("127.0.0.1", port)) is False


async def test_no_verdict_changes_nothing(cluster) -> None:
    balancer, _, _, _ = cluster

    async def slow(backend: Backend) -> None:
        return None

    balancer.check = slow
    for _ in range(5):
        await balancer.check_once()
    assert all(b.up for b in balancer.backends)
