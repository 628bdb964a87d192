"""Serving one version of a custom resource: storage view, strategy, registry.

The CRD controller builds these for every served version of an Established CRD:

- `VersionedStorage` stores objects once under `/registry/<group>/<plural>/` in
  the storage version and shows them in the version served (`conversion: None`:
  only apiVersion changes), so each version has its own watch cache and the
  generic list/watch/update code needs no conversion step;
- `CustomResourceStrategy`: metadata validation, the version's structural schema
  (defaults, validation), `status` and `scale` subresources, generation;
- `CustomResourceRegistry`: the generic registry with the schema tree built from
  the CRD (unknown fields pruned, or refused under fieldValidation=Strict, and the
  list tags server-side apply merges by) instead of a client model.

Kubernetes counterpart: staging/src/k8s.io/apiextensions-apiserver/pkg/registry/customresource
(strategy.go, validator.go, etcd.go), pkg/apiserver/customresource_handler.go
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from apiserver import errors
from apiserver.apiextensions import schemas
from apiserver.apiextensions.ratcheting import ratchet
from apiserver.apiextensions.fieldschema import CustomFieldSchema, field_schema
from apiserver.fieldvalidation import find_unknown_fields, prune_unknown_fields
from apiserver.jsoncopy import deep_copy_json
from apiserver.registry import Registry, RequestContext
from apiserver.schema import FieldSchema
from apiserver.storage.interface import Obj, Preconditions, Storage, StorageEvent, TryUpdate
from apiserver.strategy import Reservation, ScalePaths, Strategy
from tinykube.api.resources import ResourceInfo
from tinykube.api.validation import FieldError


@dataclass(frozen=True)
class ServedVersion:
    """What serving one version of a CRD needs, read from the CRD once."""

    info: ResourceInfo
    storage_version: str  # the apiVersion objects are stored in
    schema: dict[str, Any] | None
    scale: ScalePaths | None
    printer_columns: tuple[dict[str, Any], ...]


class VersionedStorage:
    """A Storage that shows the objects of one prefix in another apiVersion."""

    def __init__(self, storage: Storage, served: str, stored: str) -> None:
        self._storage = storage
        self._served, self._stored = served, stored

    def _out(self, obj: Obj) -> Obj:
        return obj if obj.get("apiVersion") == self._served else {**obj, "apiVersion": self._served}

    def _in(self, obj: Obj) -> Obj:
        return obj if obj.get("apiVersion") == self._stored else {**obj, "apiVersion": self._stored}

    async def create(self, key: str, obj: Obj) -> Obj:
        return self._out(await self._storage.create(key, self._in(obj)))

    async def get(self, key: str) -> Obj:
        return self._out(await self._storage.get(key))

    async def list(self, prefix: str, revision: int = 0) -> tuple[list[Obj], int]:
        items, rev = await self._storage.list(prefix, revision)
        return [self._out(o) for o in items], rev

    async def list_pages(self, prefix: str, revision: int = 0, start_key: str = "",
                         first_page_size: int = 0) -> AsyncIterator[tuple[list[Obj], int]]:
        async for page, rev in self._storage.list_pages(prefix, revision, start_key,
                                                         first_page_size):
            yield [self._out(o) for o in page], rev

    async def guaranteed_update(self, key: str, try_update: TryUpdate,
                                preconditions: Preconditions | None = None,
                                cached: Obj | None = None) -> Obj:
        async def stored_update(current: Obj) -> Obj | None:
            new = await try_update(self._out(current))
            return None if new is None else self._in(new)

        return self._out(await self._storage.guaranteed_update(
            key, stored_update, preconditions, None if cached is None else self._in(cached)))

    async def delete(self, key: str) -> Obj:
        return self._out(await self._storage.delete(key))

    async def watch(self, prefix: str, start_revision: int) -> AsyncIterator[StorageEvent]:
        async for event in self._storage.watch(prefix, start_revision):
            yield replace(event, obj=self._out(event.obj),
                          prev=None if event.prev is None else self._out(event.prev))

    async def current_revision(self) -> int:
        return await self._storage.current_revision()

    async def ping(self) -> None:
        await self._storage.ping()

    async def alarms(self) -> list[str]:
        return await self._storage.alarms()

    async def close(self) -> None:
        """The wrapped storage belongs to the server: not closed here."""


class CustomResourceStrategy(Strategy):
    """- with the status subresource, the main resource ignores status and /status
      changes only status; without it, status is an ordinary field;
    - generation counts changes outside metadata (and status, with the subresource);
    - creates are refused while the CRD is terminating."""

    def __init__(self, served: ServedVersion) -> None:
        super().__init__(served.info)
        self.served = served
        self.scale_paths = served.scale or ScalePaths()
        self.terminating = False

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        if self.served.schema is not None:
            schemas.prune(obj, self.served.schema)
            schemas.apply_defaults(obj, self.served.schema)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        if self.served.schema is not None:
            schemas.prune(new, self.served.schema)
            schemas.apply_defaults(new, self.served.schema)

    def validate(self, obj: Obj) -> list[FieldError]:
        return super().validate(obj) + self._validate_schema(obj, None)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        # Ratcheting: what the update left as it was may stay invalid.
        return super().validate_update(new, old) + ratchet(self._validate_schema(new, old),
                                                           new, old)

    def _validate_schema(self, obj: Obj, old: Obj | None) -> list[FieldError]:
        if self.served.schema is None:
            return []
        return schemas.validate(obj, self.served.schema, old)

    def tracks_generation(self, obj: Obj) -> bool:
        return True

    async def before_create(self, obj: Obj) -> Reservation:
        if self.terminating:
            raise errors.method_not_supported(self.info, "create")
        return Reservation()


class CustomResourceRegistry(Registry):
    """The generic registry over a custom resource's storage and schema."""

    patch_types = ("application/json-patch+json", "application/merge-patch+json",
                   "application/apply-patch+yaml")

    def __init__(self, served: ServedVersion, *args: Any, **kwargs: Any) -> None:
        super().__init__(served.info, *args, **kwargs)
        self.served = served
        self.prefix = custom_resource_prefix(served.info)
        self._schema = field_schema(served.schema)

    @property
    def schema(self) -> FieldSchema:
        return self._schema  # type: ignore[return-value]  # the same shape (fieldschema.py)

    def decode_body(self, body: Any, ctx: RequestContext, *, what: str = "object") -> Obj:
        """Kind and apiVersion must match; unknown fields are pruned (upstream's
        pruning), or refused under fieldValidation=Strict. Types are the schema's
        business: wrong ones are 422 from validation, not decoding errors."""
        self.check_type_meta(body, what)
        unknown = find_unknown_fields(body, self._schema)  # type: ignore[arg-type]
        if unknown and ctx.field_validation == "Strict":
            raise errors.bad_request(
                "strict decoding error: " + ", ".join(p.message for p in unknown),
                [{"reason": "FieldValueInvalid", "message": p.message, "field": p.path}
                 for p in unknown])
        if unknown:
            body, _ = prune_unknown_fields(body, self._schema)  # type: ignore[arg-type]
            if ctx.field_validation == "Warn":
                ctx.warnings.extend(p.message for p in unknown)
        else:
            body = deep_copy_json(body)
        body["kind"] = self.info.kind
        body["apiVersion"] = self.info.api_version
        body.setdefault("metadata", {})
        return body


def custom_resource_prefix(info: ResourceInfo) -> str:
    """Where a custom resource's objects live in etcd, as upstream: /registry/<group>/<plural>/."""
    return f"/registry/{info.group}/{info.plural}/"


__all__ = ["CustomFieldSchema", "CustomResourceRegistry", "CustomResourceStrategy",
           "ServedVersion", "VersionedStorage", "custom_resource_prefix"]
