"""Per-kind behaviour plugged into the generic registry.

The registry does what is the same for every kind (system fields, CAS, watch);
a `Strategy` says what differs: defaults, validation, what an update may change,
how a delete proceeds, what a write to a subresource does. `Strategy` itself is
the behaviour of a plain kind (ConfigMap, Lease, ...); the kinds with rules of
their own subclass it in `apiserver/strategies/`.

Kind-specific writes reach storage through the registry's one update path:
- `prepare_for_subresource_update` says what a PUT/PATCH of a subresource may
  change (`status`; a namespace's `finalize`);
- `subresource_create` turns a POST to a subresource (`pods/binding`) into a
  `ParentUpdate`: preconditions plus the change to the parent object;
- `has_pending_finalizers` says what keeps a deleted object stored (a
  namespace's spec.finalizers besides metadata.finalizers).

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/registry/rest/create.go
(RESTCreateStrategy), update.go, delete.go
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from apiserver import errors
from apiserver.auth import UserInfo
from apiserver.storage.interface import Preconditions
from tinykube.api.resources import ResourceInfo
from tinykube.api.validation import FieldError, is_dns1123_subdomain, validate_object_meta

Obj = dict[str, Any]


class Reservation:
    """What a hook reserved for a write; `release` undoes it if the write fails."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], Awaitable[None]]] = []

    def on_release(self, undo: Callable[[], Awaitable[None]]) -> None:
        self._undo.append(undo)

    async def release(self) -> None:
        for undo in reversed(self._undo):
            await undo()
        self._undo.clear()


class FieldRejected(Exception):
    """A strategy hook refuses a value (e.g. a cluster IP that is taken): 422."""

    def __init__(self, error: FieldError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True)
class ParentUpdate:
    """What a POST to a subresource does to its object: checked against
    `preconditions`, changed by `try_update(current) -> new` (which raises an
    APIError to refuse), in one guaranteed update."""

    preconditions: Preconditions | None
    try_update: Callable[[Obj], Obj]


@dataclass(frozen=True)
class ScalePaths:
    """Where the scale subresource reads and writes (custom resources name them in
    their CRD; the built-in kinds use the defaults). Dotted paths from the object root."""

    spec_replicas: str = ".spec.replicas"
    status_replicas: str = ".status.replicas"
    label_selector: str | None = None  # None: the object's spec.selector


class Strategy:
    """Defaults for a kind without special rules.

    - status, where the kind has it, is owned by the status subresource: create
      resets it unless `keeps_status_on_create`, updates of the main resource
      keep the stored status;
    - generation counts changes to anything outside metadata and status.
    """

    keeps_status_on_create = False
    name_validator = staticmethod(is_dns1123_subdomain)
    scale_paths = ScalePaths()

    def __init__(self, info: ResourceInfo) -> None:
        self.info = info

    # --- create -----------------------------------------------------------
    def prepare_for_create(self, obj: Obj) -> None:
        """Reset what a client may not set and fill in defaults."""
        if self.info.has_status and not self.keeps_status_on_create:
            obj.pop("status", None)

    def prepare_for_create_by(self, obj: Obj, user: UserInfo) -> None:
        """What the server records of the creating user (a CSR's spec.username)."""

    def validate(self, obj: Obj) -> list[FieldError]:
        return validate_object_meta(obj.get("metadata"), namespaced=self.info.namespaced,
                                    name_validator=self.name_validator, create=True)

    # --- update -----------------------------------------------------------
    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        if self.info.has_status:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)

    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        """A status write changes status only: everything else comes from old."""
        status = new.get("status")
        new.clear()
        new.update({k: v for k, v in old.items() if k != "status"})
        if status is not None:
            new["status"] = status
        new["metadata"] = {**old["metadata"], **_status_writable_meta(new, old)}

    def prepare_for_subresource_update(self, subresource: str, new: Obj, old: Obj) -> None:
        """A PUT/PATCH of `subresource` ("" is the object itself): what it may change."""
        if subresource == "status":
            self.prepare_for_status_update(new, old)
        else:
            self.prepare_for_update(new, old)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return validate_object_meta(new.get("metadata"), namespaced=self.info.namespaced,
                                    name_validator=self.name_validator, create=False)

    def validate_subresource_update(self, subresource: str, new: Obj, old: Obj) -> list[FieldError]:
        """`validate_update` for a write through `subresource` ("" is the object itself)."""
        return self.validate_update(new, old)

    def tracks_generation(self, obj: Obj) -> bool:
        return "spec" in obj or self.info.has_status

    # --- delete -----------------------------------------------------------
    def grace_period_seconds(self, obj: Obj, requested: int | None) -> int:
        """How long a delete waits before the object is really removed; 0 is now."""
        return 0

    def prepare_for_delete(self, obj: Obj) -> None:
        """Changes the server makes to an object that starts a graceful deletion
        (a namespace turns Terminating)."""

    def has_pending_finalizers(self, obj: Obj) -> bool:
        """Whether finalizers still hold a deleted object (then it stays, marked)."""
        return bool((obj.get("metadata") or {}).get("finalizers"))

    # --- subresources that change their object -----------------------------
    def subresource_create(self, subresource: str, name: str, body: Any, now: str) -> ParentUpdate:
        """A POST to `subresource` of object `name` (e.g. pods/binding); `now` is
        the server's RFC 3339 time for conditions it sets."""
        raise errors.method_not_supported(self.info, "create on a named object")

    # --- hooks around storage writes --------------------------------------
    async def before_create(self, obj: Obj) -> Reservation:
        """Reserve what the object needs (service IPs); the registry releases the
        reservation when the write fails."""
        return Reservation()

    async def before_update(self, new: Obj, old: Obj) -> Reservation:
        return Reservation()

    async def after_update(self, new: Obj, old: Obj) -> None:
        pass

    async def after_delete(self, obj: Obj) -> None:
        """Release what the object held."""


def _status_writable_meta(new: Obj, old: Obj) -> Obj:
    # A status write may carry the resourceVersion precondition; nothing else of
    # metadata changes through it.
    rv = (new.get("metadata") or {}).get("resourceVersion")
    return {"resourceVersion": rv} if rv else {}


def spec_of(obj: Obj) -> Obj:
    """Everything a generation counts: the object minus metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}
