"""The generic registry: create, read, update and watch for one resource.

Every kind goes through the same steps; a `Strategy` supplies what differs.

    decode + field validation -> system fields -> strategy (defaults, validate)
      -> managedFields -> Storage CAS write

Guarantees:
- a failed request writes nothing (validation happens before the storage write,
  and reservations made by a strategy are undone when the write fails);
- updates are compare-and-swap on resourceVersion; a stale one is 409 Conflict,
  a missing one means "the latest" and is retried on conflict;
- a write that changes nothing is not written (resourceVersion stays).

Deletion lives in `deletion.py`, patches in `patching.py`, lists and watches in
`reading.py`; this module holds the shared plumbing and create/update.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from apiserver import errors
from apiserver.fieldmanager import update_managed_fields
from apiserver.fieldvalidation import (
    find_type_errors,
    find_unknown_fields,
    prune_unknown_fields,
)
from apiserver.jsoncopy import deep_copy_json
from apiserver.schema import FieldSchema, schema_for_resource
from apiserver.storage.interface import (
    ConflictError,
    KeyExistsError,
    KeyNotFoundError,
    Storage,
)
from apiserver.strategy import FieldRejected, Obj, Strategy, spec_of
from apiserver.watchcache import WatchCache
from tinykube.api.resources import ResourceInfo

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# Characters Kubernetes uses for generateName suffixes (no vowels, no look-alikes).
_NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class RequestContext:
    """What a request says beyond its body."""

    field_manager: str = "unknown"
    dry_run: bool = False
    field_validation: str = "Strict"  # Strict | Warn | Ignore
    warnings: list[str] = field(default_factory=list)
    # Server-side apply computes managedFields itself; plain writes track them here.
    track_managed_fields: bool = True


NamespaceCheck = Callable[[str], Awaitable[None]]


class Registry:
    def __init__(self, info: ResourceInfo, storage: Storage, strategy: Strategy,
                 cache: WatchCache, namespace_check: NamespaceCheck,
                 clock: Clock = utc_now) -> None:
        self.info = info
        self.storage = storage
        self.strategy = strategy
        self.cache = cache
        self.clock = clock
        self._namespace_check = namespace_check
        self.prefix = f"/registry/{info.plural}/"

    @property
    def schema(self) -> FieldSchema:
        return schema_for_resource(self.info)

    def key(self, namespace: str | None, name: str) -> str:
        if self.info.namespaced:
            return f"{self.prefix}{namespace}/{name}"
        return f"{self.prefix}{name}"

    def now(self) -> str:
        return rfc3339(self.clock())

    # --- reading ----------------------------------------------------------
    async def get(self, namespace: str | None, name: str) -> Obj:
        try:
            return await self.storage.get(self.key(namespace, name))
        except KeyNotFoundError:
            raise errors.not_found(self.info, name) from None

    # --- decoding ---------------------------------------------------------
    def decode_body(self, body: Any, ctx: RequestContext, *, what: str = "object") -> Obj:
        """Check a request body against the kind's schema (fieldValidation)."""
        if not isinstance(body, dict):
            raise errors.bad_request(f"the {what} must be a JSON object")
        kind, api_version = body.get("kind"), body.get("apiVersion")
        if kind is not None and kind != self.info.kind:
            raise errors.bad_request(
                f"the kind of the provided object ({kind}) does not match the resource "
                f"({self.info.kind})")
        if api_version is not None and api_version != self.info.api_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected "
                f"API version ({self.info.api_version})")
        if not isinstance(body.get("metadata", {}), dict):
            raise errors.bad_request("metadata must be an object")
        type_problems = find_type_errors(body, self.schema)
        if type_problems:
            raise errors.bad_request(
                "; ".join(f"{p.path}: {p.message}" for p in type_problems),
                [{"reason": "FieldValueInvalid", "message": p.message, "field": p.path}
                 for p in type_problems])
        unknown = find_unknown_fields(body, self.schema)
        if unknown and ctx.field_validation == "Strict":
            raise errors.bad_request(
                "strict decoding error: " + ", ".join(p.message for p in unknown),
                [{"reason": "FieldValueInvalid", "message": p.message, "field": p.path}
                 for p in unknown])
        body = deep_copy_json(body)
        if unknown:
            body, _ = prune_unknown_fields(body, self.schema)
            if ctx.field_validation == "Warn":
                ctx.warnings.extend(p.message for p in unknown)
        body["kind"] = self.info.kind
        body["apiVersion"] = self.info.api_version
        body.setdefault("metadata", {})
        return body

    # --- create -----------------------------------------------------------
    async def create(self, namespace: str | None, body: Any, ctx: RequestContext) -> Obj:
        obj = self.decode_body(body, ctx)
        meta = obj["metadata"]
        if self.info.namespaced:
            if meta.get("namespace") not in (None, "", namespace):
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent "
                    "on the request")
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            suffix = "".join(secrets.choice(_NAME_SUFFIX_ALPHABET) for _ in range(5))
            meta["name"] = f"{meta['generateName']}{suffix}"
        self._set_create_system_fields(obj)
        self.strategy.prepare_for_create(obj)
        problems = self.strategy.validate(obj)
        if problems:
            raise errors.invalid(self.info, meta.get("name") or meta.get("generateName", ""), problems)
        if self.info.namespaced:
            await self._namespace_check(namespace or "")
        if ctx.track_managed_fields:
            obj = update_managed_fields(None, obj, manager=ctx.field_manager,
                                        api_version=self.info.api_version, schema=self.schema,
                                        now=self.now())
        try:
            reservation = await self.strategy.before_create(obj)
        except FieldRejected as rejected:
            raise errors.invalid(self.info, meta["name"], [rejected.error]) from None
        if ctx.dry_run:
            await reservation.release()
            return obj
        try:
            return await self.storage.create(self.key(namespace, meta["name"]), obj)
        except KeyExistsError:
            await reservation.release()
            raise errors.already_exists(self.info, meta["name"]) from None
        except BaseException:
            await reservation.release()
            raise

    def _set_create_system_fields(self, obj: Obj) -> None:
        meta = obj["metadata"]
        for system_field in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds",
                             "selfLink", "generation"):
            meta.pop(system_field, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = self.now()
        if self.strategy.tracks_generation(obj):
            meta["generation"] = 1

    # --- update -----------------------------------------------------------
    async def update(self, namespace: str | None, name: str, body: Any, ctx: RequestContext,
                     subresource: str = "") -> Obj:
        """PUT: replace the object (or only its status), CAS on the body's resourceVersion."""
        obj = self.decode_body(body, ctx)
        meta = obj["metadata"]
        if meta.get("name") not in (None, name):
            raise errors.bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the "
                f"URL ({name})")
        if self.info.namespaced and meta.get("namespace") not in (None, "", namespace):
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on "
                "the request")
        expected = meta.get("resourceVersion") or None
        return await self.guaranteed_update(
            namespace, name, lambda _old: deep_copy_json(obj), ctx,
            subresource=subresource, precondition_revision=expected)

    async def guaranteed_update(
        self, namespace: str | None, name: str, try_update: Callable[[Obj], Obj],
        ctx: RequestContext, *, subresource: str = "", precondition_revision: str | None = None,
    ) -> Obj:
        """Read, compute the new object with `try_update(old)`, write with CAS.

        With a precondition the first conflict is the client's (409); without
        one, a conflict only means somebody else wrote first: read again, retry.
        """
        key = self.key(namespace, name)
        while True:
            old = await self.get(namespace, name)
            old_revision = old["metadata"]["resourceVersion"]
            if precondition_revision is not None and precondition_revision != old_revision:
                raise errors.conflict(self.info, name, "the object has been modified; please "
                                      "apply your changes to the latest version and try again")
            new = try_update(deep_copy_json(old))
            new = self.prepare_update(new, old, ctx, subresource)
            if new == old:
                return old
            if ctx.dry_run:
                return new
            try:
                reservation = await self.strategy.before_update(new, old)
            except FieldRejected as rejected:
                raise errors.invalid(self.info, name, [rejected.error]) from None
            try:
                if _finalized(new):
                    stored = await self.storage.delete(key, int(old_revision))
                else:
                    stored = await self.storage.update(key, new, int(old_revision))
            except ConflictError:
                await reservation.release()
                if precondition_revision is not None:
                    raise errors.conflict(self.info, name, "the object has been modified; "
                                          "please apply your changes to the latest version and "
                                          "try again") from None
                continue
            except KeyNotFoundError:
                await reservation.release()
                raise errors.not_found(self.info, name) from None
            except BaseException:
                await reservation.release()
                raise
            await self.strategy.after_update(new, old)
            if _finalized(new):
                await self.strategy.after_delete(stored)
            return stored

    def prepare_update(self, new: Obj, old: Obj, ctx: RequestContext, subresource: str) -> Obj:
        """System fields, strategy and managedFields for an update; raises 422."""
        new["kind"], new["apiVersion"] = self.info.kind, self.info.api_version
        new.setdefault("metadata", {})
        if subresource == "status":
            self.strategy.prepare_for_status_update(new, old)
        elif subresource != "finalize":  # finalize: the caller already built `new`
            self.strategy.prepare_for_update(new, old)
        meta, old_meta = new["metadata"], old["metadata"]
        meta["name"] = old_meta["name"]
        if self.info.namespaced:
            meta["namespace"] = old_meta["namespace"]
        for system_field in ("uid", "creationTimestamp", "deletionTimestamp",
                             "deletionGracePeriodSeconds", "generation"):
            if system_field in old_meta:
                meta[system_field] = old_meta[system_field]
            else:
                meta.pop(system_field, None)
        meta["resourceVersion"] = old_meta["resourceVersion"]
        if "deletionTimestamp" in old_meta:
            # Once deletion started, finalizers may only be removed, never added.
            added = set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
            if added:
                raise errors.forbidden(self.info, meta["name"], "no new finalizers can be "
                                       "added if the object is being deleted, found new "
                                       f"finalizers {sorted(added)}")
        if self.strategy.tracks_generation(new) and spec_of(new) != spec_of(old):
            meta["generation"] = int(old_meta.get("generation", 0)) + 1
        problems = self.strategy.validate_update(new, old)
        if problems:
            raise errors.invalid(self.info, meta["name"], problems)
        if new == old or not ctx.track_managed_fields:
            return new
        return update_managed_fields(old, new, manager=ctx.field_manager,
                                     api_version=self.info.api_version, schema=self.schema,
                                     now=self.now(), subresource=subresource)


def _finalized(obj: Obj) -> bool:
    """A deleted object whose last finalizer is gone is removed for real.

    Not while a grace period runs (a pod waits for its kubelet), and not while a
    namespace still has spec.finalizers (the namespace controller's).
    """
    meta = obj.get("metadata", {})
    spec_finalizers = (obj.get("spec") or {}).get("finalizers") if obj.get("kind") == "Namespace" else None
    return bool(meta.get("deletionTimestamp")) and not meta.get("finalizers") \
        and not spec_finalizers and not meta.get("deletionGracePeriodSeconds")
