"""PATCH: the four patch types Kubernetes accepts, turned into guaranteed updates.

- application/json-patch+json: RFC 6902 operations;
- application/merge-patch+json: RFC 7386 (lists replaced whole);
- application/strategic-merge-patch+json: what `kubectl apply` sends; lists merge
  by the keys the schema names (containers by name, ports by containerPort);
- application/apply-patch+yaml: server-side apply; creates the object if missing,
  records field ownership in managedFields, 409 on conflicting owners.

The patch is re-applied to the freshest object on every retry, so concurrent
writers never lose each other's changes. A `metadata.resourceVersion` inside the
patch is a precondition: if it differs from the stored one the answer is 409.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go
"""

from __future__ import annotations

import copy
from typing import Any

from apiserver import errors
from apiserver.decoding import DecodeError, parse_json, parse_yaml
from apiserver.fieldmanager import ApplyConflict, apply_patch
from apiserver.patch import PatchError, json_merge_patch, json_patch, strategic_merge_patch
from apiserver.registry import Registry, RequestContext
from apiserver.strategy import Obj

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)


# Kubernetes' maxJSONPatchOperations: more operations are refused before any is applied.
MAX_JSON_PATCH_OPERATIONS = 10_000


def parse_patch_body(content_type: str, raw: bytes) -> Any:
    try:
        if content_type == APPLY_PATCH:
            return parse_yaml(raw)
        body = parse_json(raw)
    except DecodeError as err:
        raise errors.bad_request(f"error decoding patch: {err}") from None
    if content_type == JSON_PATCH and isinstance(body, list) \
            and len(body) > MAX_JSON_PATCH_OPERATIONS:
        raise errors.too_large_detail(
            f"The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, "
            f"got {len(body)}")
    return body


def patched(reg: Registry, content_type: str, old: Obj, patch_body: Any) -> Obj:
    """The object `old` with the patch applied (no system-field handling yet)."""
    try:
        if content_type == JSON_PATCH:
            result = json_patch(old, patch_body)
        elif content_type == MERGE_PATCH:
            if not isinstance(patch_body, dict):
                raise errors.bad_request("a merge patch must be a JSON object")
            result = json_merge_patch(old, patch_body)
        elif content_type == STRATEGIC_MERGE_PATCH:
            if not isinstance(patch_body, dict):
                raise errors.bad_request("a strategic merge patch must be a JSON object")
            result = strategic_merge_patch(old, patch_body, reg.schema)
        else:
            raise errors.unsupported_media_type(content_type)
    except PatchError as err:
        raise errors.APIError(422, "Invalid", str(err)) from None
    if not isinstance(result, dict):
        raise errors.bad_request("the patch did not produce an object")
    return result


async def patch(reg: Registry, namespace: str | None, name: str, content_type: str,
                patch_body: Any, ctx: RequestContext, *, subresource: str = "",
                force: bool = False) -> tuple[Obj, bool]:
    """Apply a patch; returns (object, created)."""
    if content_type == APPLY_PATCH:
        return await _server_side_apply(reg, namespace, name, patch_body, ctx, subresource, force)

    def try_update(old: Obj) -> Obj:
        new = patched(reg, content_type, old, patch_body)
        reg.check_resource_version(name, (new.get("metadata") or {}).get("resourceVersion")
                                   or None, old)
        return reg.decode_body(new, ctx)

    return await reg.guaranteed_update(namespace, name, try_update, ctx,
                                       subresource=subresource), False


async def _server_side_apply(reg: Registry, namespace: str | None, name: str, body: Any,
                             ctx: RequestContext, subresource: str, force: bool) -> tuple[Obj, bool]:
    if not ctx.field_manager or ctx.field_manager == "unknown":
        raise errors.bad_request("PATCH requests using the apply patch type require a "
                                 "fieldManager (the fieldManager query parameter)")
    applied = reg.decode_body(body, ctx, what="applied configuration")
    meta = applied["metadata"]
    if meta.get("name") not in (None, name):
        raise errors.bad_request(f"the name of the object ({meta.get('name')}) does not match "
                                 f"the name on the URL ({name})")
    meta["name"] = name
    if reg.info.namespaced:
        meta["namespace"] = namespace
    apply_ctx = copy.copy(ctx)
    apply_ctx.track_managed_fields = False

    def merge(live: Obj | None) -> Obj:
        try:
            return apply_patch(live, applied, manager=ctx.field_manager,
                               api_version=reg.info.api_version, schema=reg.schema,
                               force=force, now=reg.now())
        except ApplyConflict as conflict:
            raise errors.APIError(409, "Conflict", str(conflict), {
                "causes": [{"reason": "FieldManagerConflict",
                            "message": f'conflict with "{manager}"', "field": path}
                           for manager, path in conflict.conflicts],
            }) from None

    try:
        await reg.get(namespace, name)
    except errors.APIError as err:
        if err.code != 404 or subresource:
            raise
        return await reg.create(namespace, merge(None), apply_ctx), True
    return await reg.guaranteed_update(namespace, name, merge, apply_ctx,
                                       subresource=subresource), False
