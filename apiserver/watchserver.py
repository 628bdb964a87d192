"""Serving one client watch: the chunked stream of JSON event lines.

`serve_watch` registers the watch with the resource's watch cache (through
`reading.watch_events`) before it answers, then streams events, bookmarks and a
final ERROR (410 for a compacted revision) until the client's `timeoutSeconds`.

Between the watch cache and the socket sits one relay queue per watch, filled by
a pump task. It is **bounded** (`WATCH_BUFFER_EVENTS`): when a client reads too
slowly for the socket to take more, the relay fills; if it stays full for
`WATCH_STALL_SECONDS` the watch is terminated and its connection closed, so the
client re-lists or resumes from its last resourceVersion. A stuck client
therefore pins at most a bounded number of events, and the fan-out to other
watchers never waits for it (the watch cache only ever offers without blocking).

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/endpoints/handlers/watch.go,
staging/src/k8s.io/apiserver/pkg/storage/cacher/cache_watcher.go (terminate on a
full channel after the dispatch timeout budget)
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from apiserver import errors, reading
from apiserver.connections import ABORT_EXTENSION
from apiserver.flow.log import CALLER, FlowLog, WatchIdentity
from apiserver.registry import Registry
from apiserver.storage.interface import CompactedError
from apiserver.tables import to_table
from apiserver.watchcache import WatcherClosed

log = logging.getLogger(__name__)

# A watch that allows bookmarks gets one after this much silence. Tests shorten it
# through the environment so they need not wait 10 s.
BOOKMARK_INTERVAL_SECONDS = float(os.environ.get("TINYKUBE_BOOKMARK_INTERVAL_SECONDS", "10"))
MAX_EVENTS_PER_WRITE = 100
# Events waiting for one client's socket; a burst larger than this waits up to
# WATCH_STALL_SECONDS for room before the watch is given up.
WATCH_BUFFER_EVENTS = 1_000
WATCH_STALL_SECONDS = 5.0

Item = tuple[str, Any, int] | Exception | None


class _Stalled(Exception):
    """The client left the relay full for WATCH_STALL_SECONDS."""


class EncodedEvents:
    """Watch event lines, encoded once for all the watchers that send them.

    - the watch cache hands every watcher the very same object for an event, so
      the line is keyed by the object's identity (held, so the id is not reused);
    - objects from the cache are never mutated, so a cached line stays right;
    - bounded: the oldest lines are forgotten first.
    """

    def __init__(self, capacity: int = 1024) -> None:
        self._capacity = capacity
        self._lines: OrderedDict[tuple[str, int], tuple[Any, bytes]] = OrderedDict()

    def encode(self, event_type: str, obj: Any) -> bytes:
        key = (event_type, id(obj))
        hit = self._lines.get(key)
        if hit is not None and hit[0] is obj:
            return hit[1]
        line = json.dumps({"type": event_type, "object": obj}, separators=(",", ":")).encode() + b"\n"
        self._lines[key] = (obj, line)
        if len(self._lines) > self._capacity:
            self._lines.popitem(last=False)
        return line


_encoded_events = EncodedEvents()


class WatchResponse(StreamingResponse):
    """A streaming response that ends when the client disconnects or when
    `terminate` is set, even while a write to a stuck socket is pending: the
    connection is then aborted (`connections.ABORT_EXTENSION`) without the final
    chunk, so the client sees the stream break and re-establishes it."""

    def __init__(self, content: AsyncIterator[bytes], terminate: asyncio.Event) -> None:
        super().__init__(content, media_type="application/json",
                         headers={"Cache-Control": "no-cache, private"})
        self.terminate = terminate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        streaming = asyncio.create_task(self.stream_response(send))
        others = [asyncio.create_task(self.listen_for_disconnect(receive)),
                  asyncio.create_task(self.terminate.wait())]
        await asyncio.wait([streaming, *others], return_when=asyncio.FIRST_COMPLETED)
        abort = scope.get("extensions", {}).get(ABORT_EXTENSION)
        if self.terminate.is_set() and abort is not None:
            abort()  # unsent events are dropped with the connection
        for task in (streaming, *others):
            task.cancel()
        await asyncio.gather(streaming, *others, return_exceptions=True)


async def serve_watch(reg: Registry, request: Request, selection: reading.Selection, *,
                      timeout_seconds: int | None, table: bool, include: str,
                      flow_log: FlowLog | None = None) -> WatchResponse:
    query = request.query_params
    # The flow log learns, per chunk, which events reached this client's socket.
    flow = flow_log if flow_log is not None and flow_log.enabled else None
    watch_identity = WatchIdentity(CALLER.get(), reg.info.plural, selection.namespace or "",
                                   query.get("labelSelector") or "",
                                   query.get("fieldSelector") or "") if flow else None
    if query.get("sendInitialEvents") == "true":
        raise errors.bad_request("sendInitialEvents is not supported by this server; list, "
                                 "then watch from the list's resourceVersion")
    bookmarks = query.get("allowWatchBookmarks") == "true"
    events = reading.watch_events(reg, selection, query.get("resourceVersion"))
    # Start the watch before answering, so a too-old resourceVersion can still be
    # reported in-stream and registration happens before the client proceeds.
    queue: asyncio.Queue[Item] = asyncio.Queue(WATCH_BUFFER_EVENTS)
    terminate = asyncio.Event()

    async def relay(item: Item) -> None:
        try:
            queue.put_nowait(item)
        except asyncio.QueueFull:
            try:
                await asyncio.wait_for(queue.put(item), WATCH_STALL_SECONDS)
            except TimeoutError:
                raise _Stalled() from None

    async def pump() -> None:
        final: Item = None  # the stream's last item: its end, or an in-stream error
        stalled = False
        try:
            async for item in events:
                await relay(item)
        except WatcherClosed:
            pass
        except CompactedError as err:
            final = err
        except _Stalled:
            stalled = True
        except Exception as err:  # reported in-stream, the server keeps running
            log.exception("watch failed resource=%s", reg.info.plural)
            final = err
        try:
            if not stalled:
                await relay(final)
        except _Stalled:
            stalled = True
        if stalled:
            log.info("watcher too slow, terminating resource=%s buffered=%d",
                     reg.info.plural, queue.qsize())
            terminate.set()

    task = asyncio.create_task(pump())

    def encode(event_type: str, obj: Any) -> bytes:
        if table and event_type != "BOOKMARK" and event_type != "ERROR":
            obj = to_table(reg.info, [obj], include_object=include)
        elif event_type in ("ADDED", "MODIFIED", "DELETED"):
            return _encoded_events.encode(event_type, obj)
        return json.dumps({"type": event_type, "object": obj}, separators=(",", ":")).encode() + b"\n"

    async def stream() -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_seconds if timeout_seconds else None
        # A bookmark never goes back before where the client started; the cache's
        # revision moves only with this resource's own events.
        requested = query.get("resourceVersion") or ""
        last_revision = max(reg.cache.revision, int(requested) if requested.isdigit() else 0)
        try:
            while True:
                wait = BOOKMARK_INTERVAL_SECONDS
                if deadline is not None:
                    wait = min(wait, deadline - loop.time())
                    if wait <= 0:
                        return
                # Events the cache had applied when the silence began have all reached
                # `queue` by its end; one applied this very moment may still be in
                # pump(), and a bookmark past it would make a resuming client miss it.
                settled_revision = reg.cache.revision
                try:
                    # A busy stream finds its next event already queued; only a real
                    # wait pays for a timer (asyncio.timeout, unlike wait_for, adds no
                    # task per event).
                    if not queue.empty():
                        item = queue.get_nowait()
                    else:
                        async with asyncio.timeout(wait):
                            item = await queue.get()
                except TimeoutError:
                    if bookmarks and (deadline is None or loop.time() < deadline):
                        last_revision = max(last_revision, settled_revision)
                        yield encode("BOOKMARK", {
                            "kind": reg.info.kind, "apiVersion": reg.info.api_version,
                            "metadata": {"resourceVersion": str(last_revision)}})
                    continue
                # Events already queued behind this one (a burst, or a slow reader)
                # leave in the same write: one trip through the middleware and one
                # socket write instead of one per event. The bytes are the same.
                items = [item]
                while len(items) < MAX_EVENTS_PER_WRITE and isinstance(items[-1], tuple) \
                        and not queue.empty():
                    items.append(queue.get_nowait())
                chunk: list[bytes] = []
                for item in items:
                    if item is None:
                        if chunk:
                            yield b"".join(chunk)
                            if flow is not None and watch_identity is not None:
                                flow.record_deliveries(watch_identity, items)
                        return
                    if isinstance(item, Exception):
                        if isinstance(item, CompactedError):
                            status = errors.gone(f"too old resource version: {item.revision}").status()
                        else:
                            status = errors.internal(str(item)).status()
                        chunk.append(encode("ERROR", status))
                        yield b"".join(chunk)
                        return
                    event_type, obj, revision = item
                    last_revision = revision
                    chunk.append(encode(event_type, obj))
                yield b"".join(chunk)
                if flow is not None and watch_identity is not None:  # the send has returned
                    flow.record_deliveries(watch_identity, items)
        finally:
            task.cancel()

    return WatchResponse(stream(), terminate)
