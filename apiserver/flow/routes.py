"""`/apis/flow.tinykube.io/v1alpha1/flowrecords`: the flow log as a list and a watch.

- `GET flowrecords` lists what the ring holds (`FlowRecordList`, whose
  resourceVersion is the last record's sequence number);
- `?watch=true` streams `{"type": "ADDED", "object": <FlowRecord>}` lines: from
  `resourceVersion=N` every record after N (an in-stream ERROR 410 Expired when
  the ring no longer holds them: start again from a list); without a
  resourceVersion only records made from now on; `timeoutSeconds` ends it;
- `?uids=a,b` keeps the records of those objects and of their descendants by
  owner reference (`tinykube.flow.chain.ChainFilter`), server-side.

Reads are authenticated like every other request (the request chain) and need
nothing more. Records are encoded only here, when someone reads them.

Kubernetes counterpart: none (tinykube's own API group); the watch framing is
staging/src/k8s.io/apiserver/pkg/endpoints/handlers/watch.go
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from apiserver import errors
from apiserver.flow.log import Expired, FlowLog, Record, WriteRecord, seq_of
from apiserver.flow.summary import summarize
from tinykube.flow.chain import API_VERSION, DELIVERY, GROUP, VERSION, WRITE, ChainFilter

PATH = f"/apis/{API_VERSION}/flowrecords"
KIND = "FlowRecord"
VERBS = ("list", "watch")
IDLE_BOOKMARK_SECONDS = 10.0
WRITE_PENDING_NS = 500_000_000
_METHOD_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
_EVENT_VERBS = {"ADDED": "create", "MODIFIED": "update", "DELETED": "delete"}  # no request


def aggregated_group() -> dict[str, Any]:
    """The group's entry in aggregated discovery (apidiscovery.k8s.io/v2)."""
    return {"metadata": {"name": GROUP, "creationTimestamp": None}, "versions": [{
        "version": VERSION, "freshness": "Current", "resources": [{
            "resource": "flowrecords", "singularResource": "flowrecord", "scope": "Cluster",
            "responseKind": {"group": GROUP, "version": VERSION, "kind": KIND},
            "verbs": list(VERBS)}]}]}


def legacy_group() -> dict[str, Any]:
    version = {"groupVersion": API_VERSION, "version": VERSION}
    return {"name": GROUP, "versions": [version], "preferredVersion": version}


def resource_list() -> dict[str, Any]:
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": API_VERSION,
            "resources": [{"name": "flowrecords", "singularName": "flowrecord",
                           "namespaced": False, "kind": KIND, "verbs": list(VERBS)}]}


def subresource_of(record: WriteRecord) -> str:
    """The subresource in the path of the request that made the write."""
    parts = [p for p in record.caller.path.split("/") if p]
    rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
    if rest[:1] == ["namespaces"] and record.info.plural != "namespaces":
        rest = rest[2:]
    return rest[2] if len(rest) == 3 else ""


def _time(monotonic_ns: int, flow_log: FlowLog) -> str:
    wall_ns = monotonic_ns + flow_log.wall_offset_ns
    moment = datetime.fromtimestamp(wall_ns // 1_000_000_000, timezone.utc)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{wall_ns % 1_000_000_000:09d}Z"


def _object(record: WriteRecord) -> dict[str, Any]:
    return {"group": record.info.group, "resource": record.info.plural, "kind": record.info.kind,
            "namespace": record.namespace, "name": record.name, "uid": record.uid,
            "resourceVersion": str(record.revision)}


def encode(record: Record, flow_log: FlowLog) -> dict[str, Any]:
    """One record as the FlowRecord the endpoint serves (docs/architecture.md)."""
    if type(record) is WriteRecord:
        seq, when = record.seq, record.monotonic_ns
        body: dict[str, Any] = {
            "type": WRITE, "user": record.caller.user, "userAgent": record.caller.user_agent,
            "verb": _METHOD_VERBS.get(record.caller.method) or _EVENT_VERBS[record.event],
            "subresource": subresource_of(record), "event": record.event, "object": _object(record),
            "ownerReferences": [{"uid": u, "kind": k, "name": n} for u, k, n in record.owners],
            "change": summarize(record.event, record.before, record.after)}
    else:
        seq, when, watch, event_type, revision = record  # type: ignore[misc]
        write = flow_log.write_at(revision)
        body = {"type": DELIVERY, "user": watch.caller.user, "userAgent": watch.caller.user_agent,
                "watch": {"resource": watch.resource, "namespace": watch.namespace,
                          "labelSelector": watch.label_selector,
                          "fieldSelector": watch.field_selector},
                "event": event_type,
                "object": _object(write) if write else {"resourceVersion": str(revision)}}
        if write is not None:
            body["latencySeconds"] = round((when - write.monotonic_ns) / 1e9, 6)
    return {"kind": KIND, "apiVersion": API_VERSION,
            "metadata": {"name": str(seq), "resourceVersion": str(seq)},
            "time": _time(when, flow_log), "monotonicNanos": when, **body}


def _chain(request: Request) -> ChainFilter | None:
    uids = request.query_params.get("uids")
    return ChainFilter({u for u in uids.split(",") if u}) if uids else None


def _seq(value: str | None, what: str = "resourceVersion") -> int | None:
    """A non-negative integer parameter; None when absent."""
    if value is None or value == "":
        return None
    if not value.isdigit():
        raise errors.bad_request(f'invalid {what} "{value}"')
    return int(value)


def install_routes(app: FastAPI, flow_log: FlowLog) -> None:
    @app.get(PATH)
    async def flow_records(request: Request) -> Response:
        query = request.query_params
        start = _seq(query.get("resourceVersion"))
        chain = _chain(request)
        if query.get("watch") in ("true", "1"):
            timeout = _seq(query.get("timeoutSeconds"), "timeoutSeconds") or None
            # The start is fixed now, before the answer's headers go out: a client
            # that has them misses nothing it does afterwards.
            cursor = flow_log.last_seq if start is None else start
            return StreamingResponse(watch_records(flow_log, cursor, chain, timeout),
                                     media_type="application/json",
                                     headers={"Cache-Control": "no-cache, private"})
        try:
            records = flow_log.since(flow_log.oldest_seq() - 1)
        except Expired:  # an empty ring
            records = []
        items = [encode(r, flow_log) for r in records]
        items = [i for i in items if chain is None or chain.matches(i)]
        return Response(json.dumps({"kind": f"{KIND}List", "apiVersion": API_VERSION,
                                    "metadata": {"resourceVersion": str(flow_log.last_seq)},
                                    "items": items}), media_type="application/json")


def _write_pending(record: Record, flow_log: FlowLog) -> bool:
    """A delivery whose write is not recorded yet, but may be any moment: the
    store's watch can beat the writing request (see storage.py). Sent once its
    write is known (so it names its object), or once it is WRITE_PENDING_NS old."""
    if type(record) is WriteRecord:
        return False
    _, when, _, _, revision = record  # type: ignore[misc]
    return flow_log.write_at(revision) is None and \
        time.monotonic_ns() - when < WRITE_PENDING_NS


def _bookmark(seq: int) -> bytes:
    return json.dumps({"type": "BOOKMARK", "object": {
        "kind": KIND, "apiVersion": API_VERSION,
        "metadata": {"resourceVersion": str(seq)}}}).encode() + b"\n"


async def watch_records(flow_log: FlowLog, cursor: int, chain: ChainFilter | None,
                        timeout_seconds: float | None) -> AsyncIterator[bytes]:
    """Records after `cursor`; a BOOKMARK first (the client knows the watch is on)
    and after each idle period (keeps proxies from closing a quiet stream)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_seconds if timeout_seconds else None
    yield _bookmark(cursor)
    while deadline is None or loop.time() < deadline:
        try:
            records = flow_log.since(cursor)
        except Expired as err:
            status = errors.gone(f"too old resource version: {err.requested} ({err.oldest})")
            yield json.dumps({"type": "ERROR", "object": status.status()}).encode() + b"\n"
            return
        if records:
            lines = []
            pending = False
            for record in records:
                if _write_pending(record, flow_log):
                    pending = True
                    break
                item = encode(record, flow_log)
                cursor = seq_of(record)
                if chain is None or chain.matches(item):
                    lines.append(json.dumps({"type": "ADDED", "object": item},
                                            separators=(",", ":")).encode() + b"\n")
            if lines:
                yield b"".join(lines)
            if pending:  # a delivery came before its write's record: wait for more
                await flow_log.wait(flow_log.last_seq, WRITE_PENDING_NS / 1e9)
            continue
        wait = IDLE_BOOKMARK_SECONDS if deadline is None else \
            min(IDLE_BOOKMARK_SECONDS, deadline - loop.time())
        await flow_log.wait(cursor, max(wait, 0.0))
        if flow_log.last_seq == cursor:
            yield _bookmark(cursor)
