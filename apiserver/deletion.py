"""Deletion: graceful periods, finalizers, preconditions and propagation.

An object is removed from storage at once when nothing holds it. Otherwise the
delete only marks it: `metadata.deletionTimestamp` (+ grace period) is set and the
object lives on until its holders let go:

- finalizers: the object vanishes when the last one is removed by an update;
- a grace period (pods bound to a node): the kubelet stops the containers, then
  deletes again with grace 0;
- propagationPolicy Foreground / Orphan become the `foregroundDeletion` /
  `orphan` finalizers that the garbage collector acts on; Background (the
  default) removes the owner at once and the collector deletes the dependents.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go
(Delete, updateForGracefulDeletionAndFinalizers), pkg/registry/rest/delete.go
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from apiserver import errors
from apiserver.admission import DELETE, AdmissionRequest
from apiserver.registry import Registry, RequestContext, rfc3339
from apiserver.storage.interface import Preconditions
from apiserver.strategy import Obj

PROPAGATION_FINALIZERS = {"Foreground": "foregroundDeletion", "Orphan": "orphan"}


def parse_delete_options(body: Any, query_grace: str | None,
                         query_propagation: str | None) -> dict[str, Any]:
    options: dict[str, Any] = dict(body) if isinstance(body, dict) else {}
    if body is not None and not isinstance(body, dict):
        raise errors.bad_request("DeleteOptions must be a JSON object")
    if query_grace is not None and "gracePeriodSeconds" not in options:
        try:
            options["gracePeriodSeconds"] = int(query_grace)
        except ValueError:
            raise errors.bad_request(f"invalid gracePeriodSeconds {query_grace!r}") from None
    if query_propagation is not None and "propagationPolicy" not in options:
        options["propagationPolicy"] = query_propagation
    policy = options.get("propagationPolicy")
    if policy not in (None, "Background", "Foreground", "Orphan"):
        # Kubernetes validates DeleteOptions as an object: 422 Invalid, not 400.
        message = (f'Unsupported value: "{policy}": supported values: '
                   '"Foreground", "Background", "Orphan"')
        raise errors.APIError(
            422, "Invalid", f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: {message}',
            {"group": "meta.k8s.io", "kind": "DeleteOptions", "causes": [
                {"reason": "FieldValueNotSupported", "message": message,
                 "field": "propagationPolicy"}]})
    if options.get("orphanDependents") is True and policy is None:
        options["propagationPolicy"] = "Orphan"
    grace = options.get("gracePeriodSeconds")
    if grace is not None and (not isinstance(grace, int) or isinstance(grace, bool)):
        raise errors.bad_request("gracePeriodSeconds must be an integer")
    return options


async def delete(reg: Registry, namespace: str | None, name: str, options: dict[str, Any],
                 ctx: RequestContext) -> Obj:
    """Delete or mark for deletion; returns the object (as removed, or as marked).

    One guaranteed update decides on the current object, again on every attempt:
    mark it (deletionTimestamp, finalizers) if something holds it, else remove it.
    DeleteOptions.preconditions (uid, resourceVersion) are checked each time.
    """
    wanted = options.get("preconditions") or {}
    preconditions = None
    if wanted.get("uid") or wanted.get("resourceVersion"):
        preconditions = Preconditions(uid=wanted.get("uid") or None,
                                      resource_version=wanted.get("resourceVersion") or None)
    decided: dict[str, Obj] = {}

    async def try_update(current: Obj) -> Obj | None:
        await reg.admission.validate(AdmissionRequest(
            DELETE, reg.info, namespace or "", name, ctx.user, old=current,
            dry_run=ctx.dry_run, warnings=ctx.warnings))
        new = decided["new"] = _mark_for_deletion(reg, current, options)
        return new if reg.holds(new) else None

    stored = await reg.store_update(name, reg.key(namespace, name), try_update, preconditions,
                                    dry_run=ctx.dry_run)
    if ctx.dry_run:
        return decided["new"]
    if not reg.holds(decided["new"]):
        await reg.strategy.after_delete(stored)
    return stored


def _mark_for_deletion(reg: Registry, old: Obj, options: dict[str, Any]) -> Obj:
    new = {**old, "metadata": dict(old["metadata"])}
    meta = new["metadata"]
    grace = reg.strategy.grace_period_seconds(old, options.get("gracePeriodSeconds"))
    already = bool(meta.get("deletionTimestamp"))
    if already:
        # A second delete may only shorten a running grace period.
        current = meta.get("deletionGracePeriodSeconds") or 0
        if grace < current:
            meta["deletionGracePeriodSeconds"] = grace
            meta["deletionTimestamp"] = rfc3339(reg.clock() + timedelta(seconds=grace))
        return new
    finalizers = list(meta.get("finalizers") or [])
    extra = PROPAGATION_FINALIZERS.get(options.get("propagationPolicy") or "")
    if extra and extra not in finalizers:
        finalizers.append(extra)
    if finalizers:
        meta["finalizers"] = finalizers
    reg.strategy.prepare_for_delete(new)
    if grace > 0 or reg.strategy.has_pending_finalizers(new):
        meta["deletionTimestamp"] = rfc3339(reg.clock() + timedelta(seconds=grace))
        meta["deletionGracePeriodSeconds"] = grace
    return new
