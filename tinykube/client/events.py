"""The event recorder: controllers tell people what they did, as core/v1 Events.

`recorder.event(pod, "Normal", "Scheduled", "assigned web-1 to node-2")` returns at
once; a background writer turns it into an Event named `<object>.<hex nanoseconds>`
in the object's namespace (cluster-scoped objects: "default"), with involvedObject,
source.component/host, count and first/last timestamps. This is what
`kubectl describe` shows under "Events:".

- Repeats are aggregated: the same involvedObject + type + reason + message seen
  again within 10 minutes PATCHes the existing Event (count+1, lastTimestamp)
  instead of creating another one.
- Recording never raises into the caller and never blocks it: errors are logged
  and the event dropped, as is an event arriving while the queue is full.

Kubernetes counterpart: staging/src/k8s.io/client-go/tools/record/event.go,
.../tools/record/events_cache.go (EventCorrelator, eventLogger)
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

from tinykube.api.meta import KubeModel, WireEnum, format_rfc3339
from tinykube.api.resources import EVENTS, ResourceInfo
from tinykube.client.clock import REAL_CLOCK, Clock
from tinykube.client.errors import NotFound

log = logging.getLogger(__name__)

AGGREGATION_WINDOW_SECONDS = 10 * 60
MAX_CACHED_EVENTS = 4096


class EventType(WireEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


class EventSink(Protocol):
    """The writes the recorder makes; `RESTClient` provides them."""

    async def create(self, info: ResourceInfo, body: Any, namespace: str | None = None) -> dict[str, Any]: ...

    async def patch(self, info: ResourceInfo, name: str, body: Any, *, patch_type: Any = ...,
                    namespace: str | None = None) -> dict[str, Any]: ...


@dataclass
class _Pending:
    reference: dict[str, str]
    type: str
    reason: str
    message: str
    wall: float
    seen_at: float


@dataclass
class _Recorded:
    name: str
    namespace: str
    count: int
    last_seen: float


def object_reference(obj: dict[str, Any] | KubeModel) -> dict[str, str]:
    """involvedObject for `obj`: apiVersion, kind, namespace, name, uid, resourceVersion."""
    data = obj.to_dict() if isinstance(obj, KubeModel) else obj
    meta = data.get("metadata") or {}
    fields = {"apiVersion": data.get("apiVersion"), "kind": data.get("kind"),
              "namespace": meta.get("namespace"), "name": meta.get("name"), "uid": meta.get("uid"),
              "resourceVersion": meta.get("resourceVersion")}
    if not fields["name"] or not fields["kind"]:
        raise ValueError("an event needs an object with kind and metadata.name")
    return {k: str(v) for k, v in fields.items() if v}


class EventRecorder:
    """Records Events for one component (e.g. "replicaset-controller")."""

    def __init__(self, client: EventSink, component: str, host: str | None = None, *,
                 clock: Clock = REAL_CLOCK, max_queued: int = 1000) -> None:
        self._client, self.component, self.host = client, component, host
        self._clock = clock
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue(max_queued)
        self._writer: asyncio.Task[None] | None = None
        self._recorded: OrderedDict[tuple[str, ...], _Recorded] = OrderedDict()
        self._last_nanos = 0

    def event(self, obj: dict[str, Any] | KubeModel, type: str, reason: str, message: str) -> None:
        """Queue one event about `obj`; returns at once and never raises."""
        try:
            if type not in (EventType.NORMAL, EventType.WARNING):
                raise ValueError(f"event type must be Normal or Warning, not {type!r}")
            pending = _Pending(object_reference(obj), str(type), reason, message,
                               self._clock.wall(), self._clock.now())
            if self._writer is None or self._writer.done():
                self._writer = asyncio.get_running_loop().create_task(self._write_loop())
            self._queue.put_nowait(pending)
        except asyncio.QueueFull:
            log.warning("event queue full, dropping event reason=%s", reason)
        except Exception as err:
            log.warning("dropping event reason=%s err=%s", reason, err)

    async def flush(self) -> None:
        """Wait until every queued event has been written (or dropped)."""
        await self._queue.join()

    async def shut_down(self) -> None:
        await self.flush()
        if self._writer is not None:
            self._writer.cancel()
            try:
                await self._writer
            except asyncio.CancelledError:
                pass

    async def _write_loop(self) -> None:
        while True:
            pending = await self._queue.get()
            try:
                await self._write(pending)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.warning("writing event failed reason=%s object=%s err=%s", pending.reason,
                            pending.reference.get("name"), err)
            finally:
                self._queue.task_done()

    async def _write(self, pending: _Pending) -> None:
        ref = pending.reference
        key = (ref.get("apiVersion", ""), ref["kind"], ref.get("namespace", ""), ref["name"],
               ref.get("uid", ""), pending.type, pending.reason, pending.message)
        timestamp = format_rfc3339(datetime.fromtimestamp(pending.wall, tz=timezone.utc))
        recorded = self._recorded.get(key)
        if recorded is not None and pending.seen_at - recorded.last_seen <= AGGREGATION_WINDOW_SECONDS:
            try:
                await self._client.patch(EVENTS, recorded.name,
                                         {"count": recorded.count + 1, "lastTimestamp": timestamp},
                                         patch_type="merge", namespace=recorded.namespace)
                recorded.count += 1
                recorded.last_seen = pending.seen_at
                self._recorded.move_to_end(key)
                return
            except NotFound:
                pass  # the Event expired on the server: start a new one
        namespace = ref.get("namespace") or "default"
        name = f"{ref['name']}.{self._unique_nanos(pending.wall):x}"
        source = {"component": self.component, **({"host": self.host} if self.host else {})}
        body = {"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": name, "namespace": namespace},
                "involvedObject": ref, "reason": pending.reason, "message": pending.message,
                "type": pending.type, "source": source, "count": 1,
                "firstTimestamp": timestamp, "lastTimestamp": timestamp,
                "reportingComponent": self.component, "reportingInstance": self.host or ""}
        await self._client.create(EVENTS, body, namespace)
        self._recorded[key] = _Recorded(name, namespace, 1, pending.seen_at)
        self._recorded.move_to_end(key)
        while len(self._recorded) > MAX_CACHED_EVENTS:
            self._recorded.popitem(last=False)

    def _unique_nanos(self, wall: float) -> int:
        # Two events in the same nanosecond (or under a fake clock) still get two names.
        seconds = int(wall)  # split first: a float has too few digits for epoch nanoseconds
        nanos = max(seconds * 1_000_000_000 + round((wall - seconds) * 1e9), self._last_nanos + 1)
        self._last_nanos = nanos
        return nanos
