"""Reconcile the default roles and bindings when the API server starts.

For each object of policy.py:
- missing: created;
- present, annotated `rbac.authorization.kubernetes.io/autoupdate: "false"`: left
  alone (an administrator took it over);
- present otherwise: missing labels and annotations are added back; a role gets
  back the rules it lost (the missing pieces of the default rules are appended,
  extra rules stay); an aggregated role gets back missing selectors (its rules
  belong to the aggregation controller); a binding gets back missing subjects, and
  one whose roleRef differs is deleted and made again (roleRef is immutable).

Runs with the loopback identity (system:masters), so escalation checks pass; a
second API server racing the first gets 409 on create, which is fine.

Kubernetes counterpart: pkg/registry/rbac/rest/storage_rbac.go (PostStartHook
"rbac/bootstrap-roles"), pkg/registry/rbac/reconciliation/clusterrole_interfaces.go,
reconcile_role.go, reconcile_rolebindings.go
"""

from __future__ import annotations

import logging
from typing import Any

from apiserver import deletion, errors
from apiserver.authorization.rbac.policy import cluster_role_bindings, cluster_roles
from apiserver.authorization.rbac.rules import covers
from apiserver.registry import Registry, RequestContext
from tinykube.api.rbac import AUTOUPDATE_ANNOTATION, ClusterRole, ClusterRoleBinding
from tinykube.api.resources import CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES

log = logging.getLogger(__name__)
Obj = dict[str, Any]
FIELD_MANAGER = "kube-apiserver"


def protected(existing: Obj) -> bool:
    annotations = (existing.get("metadata") or {}).get("annotations") or {}
    return annotations.get(AUTOUPDATE_ANNOTATION) == "false"


def _merge_metadata(current: Obj, expected: Obj) -> None:
    meta = current.setdefault("metadata", {})
    for field in ("labels", "annotations"):
        wanted = expected["metadata"].get(field) or {}
        if any(key not in (meta.get(field) or {}) for key in wanted):
            meta[field] = {**wanted, **(meta.get(field) or {})}


def reconcile_role(current: Obj, expected: ClusterRole) -> Obj:
    """The role with what it misses of `expected` added (ComputeReconciledRole)."""
    _merge_metadata(current, expected.to_dict())
    if expected.aggregation_rule is not None:
        rule = current.setdefault("aggregationRule", {})
        selectors = rule.setdefault("clusterRoleSelectors", [])
        for selector in expected.aggregation_rule.to_dict().get("clusterRoleSelectors", []):
            if selector not in selectors:
                selectors.append(selector)
        return current
    existing = ClusterRole.model_validate(current).rules or []
    missing = covers(existing, expected.rules or [])
    if missing:
        current["rules"] = list(current.get("rules") or []) + [r.to_dict() for r in missing]
    return current


def reconcile_binding(current: Obj, expected: ClusterRoleBinding) -> Obj:
    wanted = expected.to_dict()
    _merge_metadata(current, wanted)
    subjects = current.get("subjects") or []
    for subject in wanted.get("subjects") or []:
        if subject not in subjects:
            subjects = [*subjects, subject]
    if subjects:
        current["subjects"] = subjects
    return current


async def ensure_bootstrap_policy(registries: dict[Any, Registry]) -> None:
    ctx = RequestContext(field_manager=FIELD_MANAGER)
    roles, bindings = registries[CLUSTER_ROLES], registries[CLUSTER_ROLE_BINDINGS]
    for role in cluster_roles():
        await _ensure(roles, role.metadata.name or "", role.to_dict(),
                      lambda current, role=role: reconcile_role(current, role), ctx)
    for binding in cluster_role_bindings():
        name = binding.metadata.name or ""
        current = await _get(bindings, name)
        if current is not None and current.get("roleRef") != binding.role_ref.to_dict() \
                and not protected(current):
            log.info("recreating cluster role binding with a changed roleRef name=%s", name)
            await deletion.delete(bindings, None, name, {}, ctx)
        await _ensure(bindings, name, binding.to_dict(),
                      lambda current, binding=binding: reconcile_binding(current, binding), ctx)


async def _get(registry: Registry, name: str) -> Obj | None:
    try:
        return await registry.get(None, name)
    except errors.APIError as err:
        if err.code == 404:
            return None
        raise


async def _ensure(registry: Registry, name: str, wanted: Obj, reconcile: Any,
                  ctx: RequestContext) -> None:
    current = await _get(registry, name)
    if current is None:
        try:
            await registry.create(None, wanted, ctx)
            log.info("created bootstrap policy kind=%s name=%s", registry.info.kind, name)
        except errors.APIError as err:
            if err.code != 409:  # another API server made it first
                raise
        return
    if protected(current):
        return
    await registry.guaranteed_update(None, name, reconcile, ctx)
