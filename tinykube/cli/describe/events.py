"""The `Events:` table at the bottom of a describe, and event timing shared with `events`.

An object's events are core/v1 Events whose involvedObject names it; describe asks
for them with the same field selector kubectl sends
(`involvedObject.name=..,involvedObject.namespace=..,involvedObject.uid=..`). A
failure to list them is not a failure of describe: it prints `Events: <none>`.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/describe/describe.go (DescribeEvents),
staging/src/k8s.io/kubectl/pkg/util/event/sorted_event_list.go
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from tinykube.api.meta import parse_rfc3339
from tinykube.api.resources import EVENTS
from tinykube.cli.describe.format import PrefixWriter, age_since
from tinykube.client import APIStatusError, RESTClient

Obj = dict[str, Any]
assert EVENTS is not None


def first_seen(event: Mapping[str, Any]) -> str | None:
    return event.get("firstTimestamp") or event.get("eventTime") or \
        (event.get("metadata") or {}).get("creationTimestamp")


def last_seen(event: Mapping[str, Any]) -> str | None:
    series = event.get("series") or {}
    return series.get("lastObservedTime") or event.get("lastTimestamp") or first_seen(event)


def sort_key(event: Mapping[str, Any]) -> datetime:
    stamp = last_seen(event)
    return parse_rfc3339(stamp) if stamp else datetime.min.replace(tzinfo=timezone.utc)


def interval(event: Mapping[str, Any], now: datetime | None = None) -> str:
    """`10s`, or `2m (x5 over 10m)` for an event seen more than once."""
    series = event.get("series") or {}
    first = age_since(first_seen(event), now)
    if series:
        return f"{age_since(last_seen(event), now)} (x{series.get('count', 1)} over {first})"
    if int(event.get("count") or 0) > 1:
        return f"{age_since(last_seen(event), now)} (x{event['count']} over {first})"
    return first


def source_of(event: Mapping[str, Any]) -> str:
    """The reporting component (kubectl 1.32 no longer appends the host)."""
    source = event.get("source") or {}
    return str(source.get("component") or event.get("reportingComponent") or "")


async def events_for(client: RESTClient, obj: Mapping[str, Any]) -> list[Obj] | None:
    """The object's events, oldest first; None when they could not be listed."""
    meta = obj.get("metadata") or {}
    fields = [f"involvedObject.name={meta.get('name', '')}"]
    if meta.get("namespace"):
        fields.append(f"involvedObject.namespace={meta['namespace']}")
    if meta.get("uid"):
        fields.append(f"involvedObject.uid={meta['uid']}")
    namespace = meta.get("namespace") or "default"
    try:
        items, _ = await client.list(EVENTS, namespace, field_selector=",".join(fields), limit=500)
    except APIStatusError:
        return None
    return sorted(items, key=sort_key)


def write_events(w: PrefixWriter, events: list[Obj] | None, now: datetime | None = None) -> None:
    if not events:
        w.write(0, "Events:\t<none>")
        return
    w.write(0, "Events:")
    w.write(1, "Type\tReason\tAge\tFrom\tMessage")
    w.write(1, "----\t------\t----\t----\t-------")
    for event in events:
        w.write(1, f"{event.get('type', '')}\t{event.get('reason', '')}\t{interval(event, now)}\t"
                   f"{source_of(event)}\t{str(event.get('message', '')).strip()}")
