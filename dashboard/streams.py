"""The dashboard's Server-Sent Event streams: page updates, the flow view, pod logs.

Each is an async iterator of SSE frames (`event: NAME` / `data: JSON`) that a
StreamingResponse sends; the browser's EventSource reads them.

- `page_updates`: the Hub's topics for one subscriber, first all of them, then
  each as it changes; a comment line every `KEEPALIVE_SECONDS` lets a dead
  connection be noticed.
- `flow_updates`: a watch of the API server's flow log (from now on) through
  `FlowLayout`; `ready` once the server's first BOOKMARK says the watch is on, a
  `reset` when the ring moved past us (410) and the watch starts again.
- `log_lines`: `pods/{name}/log?follow=true` through the API server, one `line`
  event per line; `end` when the container stops, `failure` for a refusal.

Kubernetes counterpart: none (tinykube's dashboard); the watch reading follows
staging/src/k8s.io/apimachinery/pkg/watch/streamwatcher.go
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from dashboard.flow_diagram import FlowLayout
from dashboard.hub import Hub
from tinykube.api.resources import PODS
from tinykube.client import RESTClient
from tinykube.client.errors import APIStatusError, ClientError
from tinykube.flow.chain import API_VERSION

log = logging.getLogger(__name__)

FLOW_RECORDS_PATH = f"/apis/{API_VERSION}/flowrecords"
KEEPALIVE_SECONDS = 15.0
LOG_TAIL_LINES = 200


def frame(event: str, data: Any) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data)
    return f"event: {event}\ndata: {text}\n\n".encode()


KEEPALIVE = b": keep-alive\n\n"


async def page_updates(hub: Hub) -> AsyncIterator[bytes]:
    subscriber = hub.subscribe()
    try:
        while True:
            try:
                async with asyncio.timeout(KEEPALIVE_SECONDS):
                    taken = await subscriber.take()
            except TimeoutError:
                yield KEEPALIVE
                continue
            yield b"".join(frame(topic, text) for topic, text in taken.items())
    finally:
        hub.unsubscribe(subscriber)


async def _lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    buffer = b""
    async for chunk in chunks:
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            yield line
    if buffer:
        yield buffer


async def flow_updates(client: RESTClient, layout: FlowLayout) -> AsyncIterator[bytes]:
    yield frame("lanes", {"type": "lanes", "lanes": list(layout.lanes)})
    announced = False
    while True:
        async for line in _lines(client.stream(FLOW_RECORDS_PATH, {"watch": "true"})):
            if not line.strip():
                continue
            event = json.loads(line)
            kind = event.get("type")
            if kind == "BOOKMARK":
                if not announced:
                    announced = True
                    yield frame("ready", {})
                else:
                    for item in layout.flush():  # deliveries whose write never came
                        yield frame(item["type"], item)
                    yield KEEPALIVE
                continue
            if kind == "ERROR":  # 410: the ring moved on; go on from now
                log.info("flow watch expired, watching from now on message=%s",
                         (event.get("object") or {}).get("message"))
                yield frame("reset", {})
                break
            for item in layout.add(event.get("object") or {}):
                yield frame(item["type"], item)


async def log_lines(client: RESTClient, namespace: str, pod: str,
                    container: str | None) -> AsyncIterator[bytes]:
    path = client.path(PODS, namespace, pod, "log")
    params = {"follow": "true", "tailLines": LOG_TAIL_LINES, "container": container or None}
    try:
        async for line in _lines(client.stream(path, params)):
            yield frame("line", {"text": line.decode(errors="replace")})
    except APIStatusError as err:
        yield frame("failure", {"message": err.message or str(err), "code": err.code})
        return
    except ClientError as err:
        yield frame("failure", {"message": str(err), "code": 503})
        return
    yield frame("end", {})
