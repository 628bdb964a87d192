"""The API server's CRD controllers: naming, establishing, serving, finalizing.

One task watches the API server's own CustomResourceDefinition storage (through its
watch cache) and, for every CRD, level-triggered:

- naming: the names asked for must not be in use by another CRD (or a built-in
  resource) of the same group; the result is `status.acceptedNames` and the
  NamesAccepted condition (reason PluralConflict, KindConflict, ... as upstream);
- establishing + serving: once its names are accepted, each served version gets a
  registry, a watch cache and an entry in the resource index (so routing,
  discovery, OpenAPI and Tables see it); the Established condition follows;
  a change of the CRD's spec rebuilds them, a deleted CRD's go away;
- finalizing: a deleted CRD (held by `customresourcecleanup.apiextensions.k8s.io`)
  stops taking creates, has every custom resource deleted, and loses its finalizer
  once none is left (Terminating condition on the way).

Kubernetes counterpart: staging/src/k8s.io/apiextensions-apiserver/pkg/controller
(status/naming_controller.go, establish/establishing_controller.go,
finalizer/crd_finalizer.go), pkg/apiserver/customresource_handler.go
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from apiserver import deletion, errors
from apiserver.apiextensions import openapi, tableconvertor
from apiserver.apiextensions.conditions import is_condition_true, set_condition
from apiserver.apiextensions.customresource import (
    CustomResourceRegistry,
    CustomResourceStrategy,
    ServedVersion,
    VersionedStorage,
    custom_resource_prefix,
)
from apiserver.jsoncopy import deep_copy_json
from apiserver.registry import Registry, RequestContext
from apiserver.storage.interface import EventType, KeyNotFoundError
from apiserver.strategy import Obj, ScalePaths
from apiserver.tables import CUSTOM_PRINTERS
from apiserver.watchcache import WatchCache, WatcherClosed
from tinykube.api.apiextensions import (
    CLEANUP_FINALIZER,
    ESTABLISHED,
    NAMES_ACCEPTED,
    TERMINATING,
    CustomResourceDefinition,
)
from tinykube.api.resources import CUSTOM_RESOURCE_DEFINITIONS, INDEX, ResourceInfo

if TYPE_CHECKING:
    from apiserver.server import APIServer

log = logging.getLogger(__name__)

# How often a terminating CRD checks whether its last custom resources are gone
# (objects held by their own finalizers go at their controllers' pace).
FINALIZE_RETRY_SECONDS = 1.0
_CONTEXT = RequestContext(field_manager="kube-apiserver", field_validation="Ignore")


class CustomResourceDefinitionController:
    def __init__(self, server: APIServer) -> None:
        self.server = server
        self.crds: Registry = server.registries[CUSTOM_RESOURCE_DEFINITIONS]
        # CRD name -> (what it was built from, the registries serving it)
        self.served: dict[str, tuple[Any, list[CustomResourceRegistry]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._finalizing: dict[str, asyncio.Task[None]] = {}

    async def start(self) -> None:
        """Serve every stored CRD before returning, then follow changes."""
        for crd in self.crds.cache.snapshot():
            await self.sync(crd)
        self._task = asyncio.create_task(self._run(self.crds.cache.revision), name="crd controller")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._finalizing.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for name in list(self.served):
            await self.unserve(name)

    async def _run(self, revision: int) -> None:
        while True:
            try:
                async for event in self.crds.cache.watch(revision):
                    revision = event.revision
                    if event.type is EventType.DELETED:
                        await self.unserve(event.obj["metadata"]["name"])
                    else:
                        await self.sync(event.obj)
            except WatcherClosed:
                pass
            except asyncio.CancelledError:
                raise
            except Exception:  # a bad CRD must not stop serving the others
                log.exception("crd controller failed, resyncing")
            revision = self.crds.cache.revision  # resync from the cache's state
            current = self.crds.cache.snapshot()
            for name in set(self.served) - {crd["metadata"]["name"] for crd in current}:
                await self.unserve(name)  # deleted while the watch was down
            for crd in current:
                await self._sync_logged(crd)

    async def _sync_logged(self, crd: Obj) -> None:
        try:
            await self.sync(crd)
        except errors.APIError as err:
            log.warning("crd sync failed crd=%s err=%s", crd["metadata"]["name"], err)

    # --- one CRD ---------------------------------------------------------------------

    async def sync(self, crd: Obj) -> None:
        name = crd["metadata"]["name"]
        wanted = deep_copy_json(crd)
        accepted = self.calculate_names(wanted)
        if accepted:
            set_condition(wanted, ESTABLISHED, "True", "InitialNamesAccepted",
                          "the initial names have been accepted")
        elif not is_condition_true(wanted, ESTABLISHED):
            set_condition(wanted, ESTABLISHED, "False", "NotAccepted", "not all names are accepted")
        if is_condition_true(wanted, ESTABLISHED) and accepted:
            await self.serve(wanted)
        terminating = bool(crd["metadata"].get("deletionTimestamp"))
        for registry in self.served.get(name, (None, []))[1]:
            registry.strategy.terminating = terminating  # type: ignore[attr-defined]
        if wanted.get("status") != crd.get("status"):
            await self._write_status(name, wanted["status"])
        if terminating and CLEANUP_FINALIZER in (crd["metadata"].get("finalizers") or []) \
                and name not in self._finalizing:
            task = asyncio.create_task(self.finalize(name), name=f"crd finalizer {name}")
            self._finalizing[name] = task
            task.add_done_callback(lambda _: self._finalizing.pop(name, None))

    def calculate_names(self, crd: Obj) -> bool:
        """Naming controller: set acceptedNames and NamesAccepted; True if all accepted."""
        spec, status = crd.get("spec") or {}, crd.setdefault("status", {})
        names = spec.get("names") or {}
        group, own = spec.get("group"), crd["metadata"]["name"]
        used: dict[str, set[str]] = {"plural": set(), "singular": set(), "shortNames": set(),
                                     "kind": set(), "listKind": set()}
        for other in self.crds.cache.snapshot():
            if other["metadata"]["name"] == own or (other.get("spec") or {}).get("group") != group:
                continue
            taken = (other.get("status") or {}).get("acceptedNames") or {}
            for key in used:
                values = taken.get(key) or []
                used[key].update(values if isinstance(values, list) else [values])
        for info in INDEX.resources:
            if info.group == group and INDEX.is_builtin(info):
                used["plural"].add(info.plural)
                used["singular"].add(info.singular)
                used["kind"].add(info.kind)
                used["shortNames"].update(info.short_names)
        problem = None
        for key, reason in (("plural", "PluralConflict"), ("singular", "SingularConflict"),
                            ("shortNames", "ShortNamesConflict"), ("kind", "KindConflict"),
                            ("listKind", "ListKindConflict")):
            wanted = names.get(key) or []
            for value in wanted if isinstance(wanted, list) else [wanted]:
                if value in used[key] or (key in ("plural", "singular") and value in
                                          used["plural"] | used["singular"]):
                    problem = problem or (reason, f'"{value}" is already in use')
        if problem is None:
            status["acceptedNames"] = deep_copy_json(names)
            set_condition(crd, NAMES_ACCEPTED, "True", "NoConflicts", "no conflicts found")
            return True
        status.setdefault("acceptedNames", {"plural": "", "kind": ""})
        set_condition(crd, NAMES_ACCEPTED, "False", *problem)
        return False

    async def _write_status(self, name: str, status: Obj) -> None:
        async def attempt(current: Obj) -> Obj:
            return {**current, "status": status}

        try:
            await self.crds.store_update(name, self.crds.key(None, name), attempt)
        except errors.APIError as err:
            if err.code != 404:
                raise

    # --- serving ---------------------------------------------------------------------

    async def serve(self, crd: Obj) -> None:
        """Build the registries of every served version, then swap them in with no
        await in between, so requests never see the resource missing while a
        changed CRD is re-served."""
        name = crd["metadata"]["name"]
        built_from = (crd.get("spec"), (crd.get("status") or {}).get("acceptedNames"))
        if name in self.served and self.served[name][0] == built_from:
            return
        typed = CustomResourceDefinition.from_dict(crd)
        registries = []
        for served in served_versions(typed, crd):
            storage = VersionedStorage(self.server.storage, served.info.api_version,
                                       served.storage_version)
            cache = WatchCache(storage, custom_resource_prefix(served.info),  # type: ignore[arg-type]
                               history_size=self.server.config.watch_history_size)
            await cache.start()
            registries.append(CustomResourceRegistry(
                served, storage, CustomResourceStrategy(served), cache,
                self.server.check_namespace, self.server.clock))
        old = self._withdraw(name)
        for registry in registries:
            registry.admission = self.server.admission
            info = registry.info
            INDEX.add(info)
            self.server.registries[info] = registry
            CUSTOM_PRINTERS[info] = tableconvertor.table_printer(
                list(registry.served.printer_columns))
            openapi.PUBLISHED[info] = registry.served.schema
        self.served[name] = (built_from, registries)
        openapi.published_changed()
        for registry in old:
            await registry.cache.stop()
        log.info("serving custom resource crd=%s versions=%d", name, len(registries))

    async def unserve(self, name: str) -> None:
        old = self._withdraw(name)
        openapi.published_changed()
        for registry in old:
            await registry.cache.stop()
        if old:
            log.info("stopped serving custom resource crd=%s", name)

    def _withdraw(self, name: str) -> list[CustomResourceRegistry]:
        """Take a CRD's registries out of every table (their caches still run)."""
        _, registries = self.served.pop(name, (None, []))
        for registry in registries:
            INDEX.remove(registry.info)
            self.server.registries.pop(registry.info, None)
            CUSTOM_PRINTERS.pop(registry.info, None)
            openapi.PUBLISHED.pop(registry.info, None)
        return registries

    # --- finalizing ------------------------------------------------------------------

    async def finalize(self, name: str) -> None:
        """Delete every custom resource of a deleted CRD, then release the CRD."""
        try:
            crd = await self.crds.get(None, name)
        except errors.APIError:
            return
        if is_condition_true(crd, ESTABLISHED) and self.served.get(name, (None, []))[1]:
            set_condition(crd, TERMINATING, "True", "InstanceDeletionInProgress",
                          "CustomResource deletion is in progress")
            await self._write_status(name, crd["status"])
            registry = self.served[name][1][0]
            while await self._delete_instances(registry):
                await asyncio.sleep(FINALIZE_RETRY_SECONDS)
            condition = ("False", "InstanceDeletionCompleted", "removed all instances")
        else:
            condition = ("False", "NeverEstablished", "resource was never established")

        async def release(current: Obj) -> Obj | None:
            new = deep_copy_json(current)
            set_condition(new, TERMINATING, *condition)
            new["metadata"]["finalizers"] = [f for f in new["metadata"].get("finalizers") or []
                                             if f != CLEANUP_FINALIZER]
            return None if self.crds.finalized(new) else new

        try:
            await self.crds.store_update(name, self.crds.key(None, name), release)
        except errors.APIError as err:
            if err.code != 404:
                raise
        log.info("custom resources removed crd=%s", name)

    async def _delete_instances(self, registry: Registry) -> int:
        """Ask every remaining object to go; how many were still there."""
        try:
            items, _ = await registry.storage.list(registry.prefix)
        except KeyNotFoundError:
            return 0
        for item in items:
            meta = item["metadata"]
            if meta.get("deletionTimestamp"):
                continue
            try:
                await deletion.delete(registry, meta.get("namespace"), meta["name"], {}, _CONTEXT)
            except errors.APIError as err:
                if err.code != 404:
                    log.warning("custom resource delete failed name=%s err=%s", meta["name"], err)
        return len(items)


def served_versions(crd: CustomResourceDefinition, raw: Obj) -> list[ServedVersion]:
    """One ServedVersion per served version of an accepted CRD."""
    spec, names = crd.spec, crd.spec.names
    storage = crd.storage_version() or ""
    result = []
    for version, raw_version in zip(spec.versions, raw["spec"]["versions"], strict=True):
        if not version.served:
            continue
        subresources = version.subresources
        subs: tuple[str, ...] = ()
        scale = None
        if subresources is not None and subresources.status is not None:
            subs += ("status",)
        if subresources is not None and subresources.scale is not None:
            subs += ("scale",)
            scale = ScalePaths(subresources.scale.spec_replicas_path,
                               subresources.scale.status_replicas_path,
                               subresources.scale.label_selector_path or "")
        info = ResourceInfo(
            spec.group, version.name, names.kind, names.plural,
            names.singular or names.kind.lower(), spec.scope == "Namespaced",
            model=openapi.custom_model(spec.group, version.name, names.kind),
            short_names=tuple(names.short_names or ()), subresources=subs,
            categories=tuple(names.categories or ()))
        schema = (raw_version.get("schema") or {}).get("openAPIV3Schema")
        result.append(ServedVersion(info, f"{spec.group}/{storage}", schema, scale,
                                    tuple(raw_version.get("additionalPrinterColumns") or ())))
    return result


__all__ = ["CustomResourceDefinitionController", "served_versions"]
