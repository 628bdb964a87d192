"""List and watch: selectors, paging, and the watch event stream.

Lists read etcd page by page (a consistent read at the store's current revision)
and filter by namespace, label selector and field selector. Chunking hands out an
opaque `continue` token holding the list's revision and the last key returned; the
next chunk is read at that revision (410 Expired once it is compacted).

Watches come from the resource's `WatchCache`. Selectors apply per event, with
old and new state, so an object that starts matching arrives as ADDED and one
that stops matching leaves as DELETED, exactly as a client's cache expects.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/storage/cacher/cache_watcher.go,
pkg/registry/core/pod/strategy.go (GetAttrs / field sets)
"""

from __future__ import annotations

import base64
import json
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from apiserver import errors
from apiserver.registry import Registry
from apiserver.storage.interface import CompactedError, EventType, StorageEvent
from apiserver.watchcache import Trigger
from apiserver.strategy import Obj
from tinykube.api.selectors import (
    FieldSelector,
    LabelSelector,
    SelectorError,
    parse_field_selector,
    parse_label_selector,
)

# The field a kind's watch cache indexes watchers by (upstream's pod
# NodeNameTriggerFunc): each kubelet's `spec.nodeName=<node>` watch is offered only
# its own node's pods.
TRIGGER_FIELDS: dict[str, str] = {"Pod": "spec.nodeName"}

# Field selectors each kind supports beyond metadata.name and metadata.namespace.
EXTRA_FIELDS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
            "spec.serviceAccountName", "status.phase", "status.podIP", "status.nominatedNodeName"),
    "Event": ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
              "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
              "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"),
    "Secret": ("type",),
    "Namespace": ("status.phase",),
    "Node": ("spec.unschedulable",),
    "ReplicaSet": ("status.replicas",),
    "ReplicationController": ("status.replicas",),
    "Service": ("spec.clusterIP", "spec.type"),
}


class _FieldSetCache:
    """field_set of recent objects. One watch event is matched against every
    watcher's selector (e.g. each kubelet's spec.nodeName), so the fields of the
    shared event object are computed once. Entries keep their object alive, so an
    id is never reused while cached."""

    def __init__(self, size: int = 1024) -> None:
        self._entries: OrderedDict[int, tuple[Obj, dict[str, str]]] = OrderedDict()
        self._size = size

    def get(self, obj: Obj) -> dict[str, str]:
        entry = self._entries.get(id(obj))
        if entry is not None and entry[0] is obj:
            return entry[1]
        fields = _compute_field_set(obj)
        self._entries[id(obj)] = (obj, fields)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return fields


_FIELD_SETS = _FieldSetCache()


def field_set(obj: Obj) -> dict[str, str]:
    """The selectable fields of an object, as strings (Kubernetes' GetAttrs).

    Stored objects are never mutated in place, so a cached result stays right."""
    return _FIELD_SETS.get(obj)


def _compute_field_set(obj: Obj) -> dict[str, str]:
    meta = obj.get("metadata", {})
    fields = {"metadata.name": meta.get("name", ""),
              "metadata.namespace": meta.get("namespace", "")}
    for path in EXTRA_FIELDS.get(obj.get("kind", ""), ()):
        value: Any = obj
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if path == "source" and isinstance(value, dict):
            value = value.get("component")
        if isinstance(value, bool):
            value = "true" if value else "false"
        fields[path] = "" if value is None else str(value)
    return fields


@dataclass(frozen=True)
class Selection:
    """Which objects a list or watch returns."""

    namespace: str | None
    labels: LabelSelector
    fields: FieldSelector

    def matches(self, obj: Obj) -> bool:
        meta = obj.get("metadata", {})
        if self.namespace and meta.get("namespace") != self.namespace:
            return False
        if not self.labels.matches(meta.get("labels") or {}):
            return False
        return self.fields.empty() or self.fields.matches(field_set(obj))

    def selects_all(self) -> bool:
        return not self.namespace and self.labels.empty() and self.fields.empty()

    def sees(self, event: StorageEvent) -> bool:
        """Whether a watch with this selection sends anything for `event`."""
        return (event.type is not EventType.DELETED and self.matches(event.obj)) or \
            (event.prev is not None and self.matches(event.prev))


def parse_selection(reg: Registry, namespace: str | None, label_selector: str | None,
                    field_selector: str | None) -> Selection:
    try:
        labels = parse_label_selector(label_selector or "")
    except SelectorError as err:
        raise errors.bad_request(f"unable to parse requirement: {err}") from None
    try:
        fields = parse_field_selector(field_selector or "")
    except SelectorError as err:
        raise errors.bad_request(f"invalid field selector: {err}") from None
    supported = {"metadata.name", "metadata.namespace", *EXTRA_FIELDS.get(reg.info.kind, ())}
    for used in sorted(fields.fields_used()):
        if used not in supported:
            raise errors.bad_request(
                f'field label not supported: {used}', [{"reason": "FieldValueNotSupported",
                                                        "message": f"field label not supported: {used}",
                                                        "field": "fieldSelector"}])
    return Selection(namespace, labels, fields)


CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter.")


def _encode_continue(revision: int, last_key: str) -> str:
    raw = json.dumps({"rv": revision, "start": last_key}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_continue(token: str) -> tuple[int, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError):
        raise errors.bad_request("continue key is not valid: incorrect encoded start "
                                 "resourceVersion (version meta.k8s.io/v1)") from None


async def list_objects(reg: Registry, selection: Selection, limit: int | None,
                       continue_token: str | None) -> tuple[list[Obj], str, str | None]:
    """Returns (items, list resourceVersion, continue token or None).

    Storage is read page by page and the reading stops once `limit` objects
    matched and one more is known to exist. A continued list reads at the first
    chunk's revision, so the chunks are one consistent list; once that revision
    is compacted the continuation is 410 Expired and the client starts again.
    """
    prefix = reg.prefix
    if reg.info.namespaced and selection.namespace:
        prefix = f"{reg.prefix}{selection.namespace}/"
    revision, start_key = 0, ""
    if continue_token:
        revision, last_key = _decode_continue(continue_token)
        start_key = last_key + "\x00"
    chosen: list[Obj] = []
    try:
        # limit + 1: one more than the chunk shows whether another chunk follows.
        pages = reg.storage.list_pages(prefix, revision, start_key, limit + 1 if limit else 0)
        async for page, revision in pages:
            for obj in page:
                if not selection.matches(obj):
                    continue
                if limit and len(chosen) == limit:
                    last = chosen[-1]["metadata"]
                    token = _encode_continue(revision, reg.key(last.get("namespace"), last["name"]))
                    return chosen, str(revision), token
                chosen.append(obj)
    except CompactedError:
        raise errors.gone(CONTINUE_EXPIRED) from None
    return chosen, str(revision), None


def list_body(reg: Registry, items: list[Obj], revision: str, token: str | None) -> Obj:
    metadata: dict[str, Any] = {"resourceVersion": revision}
    if token:
        metadata["continue"] = token
    return {"kind": f"{reg.info.kind}List", "apiVersion": reg.info.api_version,
            "metadata": metadata, "items": items}


def watch_trigger(kind: str) -> Trigger | None:
    """The trigger function for `kind`'s watch cache, None if it has no trigger field."""
    trigger_field = TRIGGER_FIELDS.get(kind)
    if trigger_field is None:
        return None
    return lambda obj: field_set(obj)[trigger_field]


def parse_resource_version(resource_version: str | None) -> int:
    """A list or watch resourceVersion as a revision (0 for "any"); bad ones are a 400."""
    if resource_version in (None, ""):
        return 0
    try:
        revision = int(resource_version or "")
    except ValueError:
        revision = -1
    if revision < 0:
        raise errors.bad_request(f"invalid resource version: {resource_version!r}")
    return revision


async def watch_events(reg: Registry, selection: Selection,
                       resource_version: str | None) -> AsyncIterator[tuple[str, Obj, int]]:
    """(type, object, revision) for every change the selection sees."""
    after = parse_resource_version(resource_version) or None
    event: StorageEvent
    trigger_field = TRIGGER_FIELDS.get(reg.info.kind)
    trigger_value = selection.fields.requires_exact_match(trigger_field) if trigger_field else None
    wants = None if selection.selects_all() else selection.sees
    async for event in reg.cache.watch(after, wants, trigger_value):
        now_matches = event.type is not EventType.DELETED and selection.matches(event.obj)
        was_matching = event.prev is not None and selection.matches(event.prev)
        if event.type is EventType.DELETED:
            if was_matching:
                yield "DELETED", event.obj, event.revision
        elif now_matches:
            yield ("MODIFIED" if was_matching else "ADDED"), event.obj, event.revision
        elif was_matching:
            yield "DELETED", event.obj, event.revision
