"""The generic registry: create, read, update and watch for one resource.

Every kind goes through the same steps; a `Strategy` supplies what differs.

    decode + field validation -> system fields -> strategy (defaults, validate)
      -> managedFields -> Storage write

Every change of a stored object (PUT, PATCH, status and other subresources,
delete marking and the final removal, pods/binding) is one
`Storage.guaranteed_update`: the storage owns the only compare-and-swap retry
loop; the registry supplies `try_update`, which recomputes the new object from
the current one on every attempt.

Guarantees:
- a failed request writes nothing (validation happens before the storage write,
  and reservations made by a strategy are undone when the write fails);
- a resourceVersion sent by the client must be the stored one (409 Conflict
  otherwise); without one the update applies to the latest object;
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
from apiserver.admission import CREATE, UPDATE, AdmissionChain, AdmissionRequest
from apiserver.auth import LOOPBACK, UserInfo
from apiserver.fieldmanager import update_managed_fields
from apiserver.fieldvalidation import (
    find_type_errors,
    find_unknown_fields,
    prune_unknown_fields,
)
from apiserver.jsoncopy import deep_copy_json
from apiserver.omitempty import drop_empty_optional
from apiserver.schema import FieldSchema, schema_for_resource
from apiserver.storage.interface import (
    KeyExistsError,
    KeyNotFoundError,
    PreconditionError,
    Preconditions,
    Storage,
    TryUpdate,
)
from apiserver.strategy import FieldRejected, Obj, Reservation, Strategy, spec_of
from apiserver.watchcache import WatchCache
from tinykube.api.resources import ResourceInfo
from tinykube.api.validation import finalizer_warnings

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
    # Who asks; the API server's own writes are the loopback user's.
    user: UserInfo = LOOPBACK


NamespaceCheck = Callable[[str], Awaitable[None]]


class Registry:
    # The PATCH content types the resource accepts (custom resources: no strategic merge).
    patch_types: tuple[str, ...] = (
        "application/json-patch+json", "application/merge-patch+json",
        "application/strategic-merge-patch+json", "application/apply-patch+yaml")
    # Admission plugins (the server sets its chain on every registry).
    admission = AdmissionChain()

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
    def check_type_meta(self, body: Any, what: str) -> None:
        """A JSON object of this resource's kind and apiVersion (when it says), 400 otherwise."""
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

    def decode_body(self, body: Any, ctx: RequestContext, *, what: str = "object") -> Obj:
        """Check a request body against the kind's schema (fieldValidation)."""
        self.check_type_meta(body, what)
        type_problems = find_type_errors(body, self.schema)
        overflow = next((p for p in type_problems if p.overflow), None)
        if overflow is not None:  # what Go's decoder says first (rest.go transformDecodeError)
            kind, version = self.info.kind, self.info.api_version.split("/")[-1]
            raise errors.bad_request(
                f'{kind} in version "{version}" cannot be handled as a {kind}: {overflow.message}')
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
        drop_empty_optional(obj, self.schema)
        meta = obj["metadata"]
        ctx.warnings.extend(finalizer_warnings(meta.get("finalizers")))
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
        review = AdmissionRequest(CREATE, self.info, namespace or "", meta.get("name", ""),
                                  ctx.user, obj=obj, dry_run=ctx.dry_run, warnings=ctx.warnings)
        await self.admission.admit(review)
        meta = obj["metadata"]
        self.strategy.prepare_for_create(obj)
        self.strategy.prepare_for_create_by(obj, ctx.user)
        problems = self.strategy.validate(obj)
        if problems:
            raise errors.invalid(self.info, meta.get("name") or meta.get("generateName", ""), problems)
        await self.admission.validate(review)
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
        """PUT: replace the object (or what `subresource` may change of it).

        A resourceVersion in the body must be the stored one: `try_update` compares
        it on every attempt, so a stale one is 409 even when it only went stale
        during a retry (Kubernetes' Store.Update does the same in its tryUpdate).
        """
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

        def try_update(current: Obj) -> Obj:
            self.check_resource_version(name, expected, current)
            return deep_copy_json(obj)

        return await self.guaranteed_update(namespace, name, try_update, ctx,
                                            subresource=subresource)

    def check_resource_version(self, name: str, expected: str | None, current: Obj) -> None:
        """409 when a client based its write on a resourceVersion that is not current."""
        if expected is not None and expected != current["metadata"]["resourceVersion"]:
            raise errors.conflict(self.info, name, errors.OPTIMISTIC_LOCK_MESSAGE)

    async def guaranteed_update(self, namespace: str | None, name: str,
                                try_update: Callable[[Obj], Obj], ctx: RequestContext, *,
                                subresource: str = "") -> Obj:
        """An update through `Storage.guaranteed_update`: on every attempt the new
        object is `try_update(copy of current)` with system fields, strategy and
        managedFields applied; what the strategy reserves for an attempt is
        released when that attempt is not the one written. A deleted object
        whose last finalizer this update removes is removed in the same write."""
        attempt = _Attempt()

        async def attempt_update(current: Obj) -> Obj | None:
            await attempt.release()
            review = AdmissionRequest(UPDATE, self.info, namespace or "", name, ctx.user,
                                      obj=try_update(deep_copy_json(current)), old=current,
                                      subresource=subresource, dry_run=ctx.dry_run,
                                      warnings=ctx.warnings)
            await self.admission.admit(review)
            new = self.prepare_update(review.obj or {}, current, ctx, subresource)
            review.obj = new
            await self.admission.validate(review)
            attempt.old, attempt.new = current, new
            if new == current or ctx.dry_run:
                return new
            try:
                attempt.reservation = await self.strategy.before_update(new, current)
            except FieldRejected as rejected:
                raise errors.invalid(self.info, name, [rejected.error]) from None
            return None if self.finalized(new) else new

        try:
            stored = await self.store_update(name, self.key(namespace, name), attempt_update,
                                             dry_run=ctx.dry_run)
        except BaseException:
            await attempt.release()
            raise
        if ctx.dry_run or attempt.new == attempt.old:
            return attempt.new
        await self.strategy.after_update(attempt.new, attempt.old)
        if self.finalized(attempt.new):
            await self.strategy.after_delete(stored)
        return stored

    async def store_update(self, name: str, key: str, try_update: TryUpdate,
                           preconditions: Preconditions | None = None, *,
                           dry_run: bool = False) -> Obj:
        """`Storage.guaranteed_update` (dry run: its first attempt, not written) with
        storage errors turned into API errors. In a dry run the result is what
        would be written (the current object for a removal)."""
        try:
            if dry_run:
                current = await self.storage.get(key)
                if preconditions is not None:
                    preconditions.check(key, current)
                new = await try_update(current)
                return current if new is None else new
            return await self.storage.guaranteed_update(key, try_update, preconditions,
                                                        cached=self.cache.cached(key))
        except KeyNotFoundError:
            raise errors.not_found(self.info, name) from None
        except PreconditionError as err:
            raise errors.conflict(self.info, name, str(err)) from None

    async def create_on_subresource(self, namespace: str | None, name: str, subresource: str,
                                    body: Any, ctx: RequestContext | None = None) -> Obj:
        """POST to a subresource that changes its object (pods/binding): the
        strategy says how (`subresource_create`); one guaranteed update does it."""
        ctx = ctx or RequestContext()
        review = AdmissionRequest(CREATE, self.info, namespace or "", name, ctx.user, obj=body,
                                  subresource=subresource, warnings=ctx.warnings)
        await self.admission.admit(review)
        await self.admission.validate(review)
        change = self.strategy.subresource_create(subresource, name, review.obj, self.now())

        async def try_update(current: Obj) -> Obj:
            return change.try_update(current)

        await self.store_update(name, self.key(namespace, name), try_update, change.preconditions)
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "code": 201}

    def finalized(self, obj: Obj) -> bool:
        """A deleted object that nothing holds any more is removed for real: not
        while a finalizer (`Strategy.has_pending_finalizers`) or a grace period
        (a pod waiting for its kubelet) holds it."""
        meta = obj.get("metadata", {})
        return bool(meta.get("deletionTimestamp")) and not self.holds(obj)

    def holds(self, obj: Obj) -> bool:
        """Whether a (deleted) object must stay stored: finalizers or a grace period."""
        return self.strategy.has_pending_finalizers(obj) or \
            bool(obj.get("metadata", {}).get("deletionGracePeriodSeconds"))

    def prepare_update(self, new: Obj, old: Obj, ctx: RequestContext, subresource: str) -> Obj:
        """System fields, strategy and managedFields for an update; raises 422."""
        new["kind"], new["apiVersion"] = self.info.kind, self.info.api_version
        drop_empty_optional(new, self.schema)
        new.setdefault("metadata", {})
        self.strategy.prepare_for_subresource_update(subresource, new, old)
        meta, old_meta = new["metadata"], old["metadata"]
        ctx.warnings.extend(finalizer_warnings(meta.get("finalizers"), old_meta.get("finalizers")))
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
        problems = self.strategy.validate_subresource_update(subresource, new, old)
        if problems:
            raise errors.invalid(self.info, meta["name"], problems)
        if new == old or not ctx.track_managed_fields:
            return new
        return update_managed_fields(old, new, manager=ctx.field_manager,
                                     api_version=self.info.api_version, schema=self.schema,
                                     now=self.now(), subresource=subresource)



class _Attempt:
    """The last attempt of one guaranteed update: the one written, if any was."""

    def __init__(self) -> None:
        self.old: Obj = {}
        self.new: Obj = {}
        self.reservation = Reservation()

    async def release(self) -> None:
        await self.reservation.release()
