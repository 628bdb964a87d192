"""tinykube.client.websocket against a small wsproto server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import (AcceptConnection, BytesMessage, CloseConnection, Message, Ping, Pong,
                            RejectConnection, RejectData, Request)

from tinykube.client import ClientConfig, TransportError
from tinykube.client.websocket import HandshakeError, connect, connect_to_server, stop_task
from tinykube.testing.processes import free_port


@dataclass
class Peer:
    """The server side of one connection, driven by the test's script."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    ws: WSConnection
    request: Request
    received: list[object] = field(default_factory=list)

    async def send(self, event: object) -> None:
        self.writer.write(self.ws.send(event))  # type: ignore[arg-type]
        await self.writer.drain()

    async def next_event(self) -> object:
        while True:
            for event in self.ws.events():
                self.received.append(event)
                return event
            chunk = await self.reader.read(65536)
            self.ws.receive_data(chunk or None)


Script = Callable[[Peer], Awaitable[None]]


@dataclass
class Server:
    url: str
    script: Script | None = None


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server("")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ws = WSConnection(ConnectionType.SERVER)
        request = None
        while request is None:
            ws.receive_data(await reader.read(65536))
            request = next((e for e in ws.events() if isinstance(e, Request)), None)
        try:
            assert state.script is not None
            await state.script(Peer(reader, writer, ws, request))
        finally:
            writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    state.url = f"ws://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    yield state
    listener.close()
    await listener.wait_closed()


async def test_messages_both_ways_fragments_pings_and_a_close(server: Server) -> None:
    seen: list[Request] = []

    async def script(peer: Peer) -> None:
        seen.append(peer.request)
        await peer.send(AcceptConnection(subprotocol="v5.channel.k8s.io"))
        assert await peer.next_event() == BytesMessage(data=b"\x00hello", frame_finished=True,
                                                       message_finished=True)
        await peer.send(Ping(payload=b"p"))
        await peer.send(Message(data=b"\x01wor", message_finished=False))
        await peer.send(Message(data=b"ld"))
        assert isinstance(await peer.next_event(), Pong)
        await peer.send(CloseConnection(code=1000, reason="done"))
        assert isinstance(await peer.next_event(), CloseConnection)

    server.script = script
    ws = await connect(f"{server.url}/exec/ns/pod/c?command=ls",
                       subprotocols=["v5.channel.k8s.io", "v4.channel.k8s.io"],
                       headers={"Authorization": "Bearer t"})
    assert ws.subprotocol == "v5.channel.k8s.io"
    await ws.send(b"\x00hello")
    assert await asyncio.wait_for(ws.receive(), 5) == b"\x01world"
    assert await asyncio.wait_for(ws.receive(), 5) is None
    assert (ws.close_code, ws.close_reason, ws.closed) == (1000, "done", True)
    with pytest.raises(ConnectionError):
        await ws.send(b"late")
    (request,) = seen
    assert request.target == "/exec/ns/pod/c?command=ls"
    assert (b"authorization", b"Bearer t") in request.extra_headers


async def test_a_peer_that_vanishes_is_1006(server: Server) -> None:
    async def script(peer: Peer) -> None:
        await peer.send(AcceptConnection())

    server.script = script
    ws = await connect(server.url, subprotocols=["x"])
    assert await asyncio.wait_for(ws.receive(), 5) is None
    assert ws.close_code == 1006


async def test_a_refused_upgrade_is_a_handshake_error_with_status_and_body(server: Server) -> None:
    async def script(peer: Peer) -> None:
        await peer.send(RejectConnection(status_code=403, headers=[(b"content-length", b"9")],
                                         has_body=True))
        await peer.send(RejectData(data=b"forbidden"))

    server.script = script
    with pytest.raises(HandshakeError) as refused:
        await connect(server.url, subprotocols=["x"])
    assert (refused.value.status_code, refused.value.body) == (403, b"forbidden")


async def test_no_answer_is_a_transport_error() -> None:
    with pytest.raises(TransportError):
        await connect(f"ws://127.0.0.1:{free_port()}/", subprotocols=["x"])


async def test_connect_to_server_sends_the_kubeconfig_credentials(server: Server) -> None:
    seen: list[Request] = []

    async def script(peer: Peer) -> None:
        seen.append(peer.request)
        await peer.send(AcceptConnection(subprotocol="v4.channel.k8s.io"))
        await peer.send(CloseConnection(code=1000))

    server.script = script
    config = ClientConfig(server=server.url.replace("ws://", "http://") + "/", token="secret",
                          user_agent="tinykube-test")
    ws = await connect_to_server(config, "/api/v1/namespaces/default/pods/p/portforward",
                                 [("ports", "8080")], ["v4.channel.k8s.io"])
    assert await asyncio.wait_for(ws.receive(), 5) is None
    await ws.close()
    (request,) = seen
    assert request.target == "/api/v1/namespaces/default/pods/p/portforward?ports=8080"
    headers = dict(request.extra_headers)
    assert headers[b"authorization"] == b"Bearer secret"
    assert headers[b"user-agent"] == b"tinykube-test"
    assert request.subprotocols == ["v4.channel.k8s.io"]


async def test_stop_task_swallows_what_the_task_ended_with() -> None:
    async def fails() -> None:
        raise ConnectionError("gone")

    failed = asyncio.create_task(fails())
    await asyncio.sleep(0)
    await stop_task(failed)
    forever = asyncio.create_task(asyncio.Event().wait())
    await stop_task(forever)
    assert forever.cancelled()

