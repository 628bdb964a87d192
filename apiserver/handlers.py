"""REST handlers: turn a resource URL and verb into a registry call.

Paths follow Kubernetes exactly:

    /api/v1/namespaces/{ns}/{resource}[/{name}[/{subresource}]]
    /apis/{group}/{version}/namespaces/{ns}/{resource}[/{name}[/{subresource}]]
    /api/v1/{resource}[/{name}[/{subresource}]]          (cluster-scoped, or all namespaces)

The handler parses the path into a `ResourceRequest`, picks the verb from the
method and query (`?watch=true` turns a list into a watch), and answers JSON, or
a server-side Table when the client asks for one (`kubectl get`).

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/endpoints/installer.go,
handlers/{create,get,update,patch,delete,watch}.go
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from apiserver import (
    decoding, deletion, errors, eviction, patching, protobuf, reading, subresources,
)
from apiserver.auth import ANONYMOUS
from apiserver.offload import decode_off_loop, list_response
from apiserver.registry import Registry, RequestContext
from apiserver.serviceaccount import tokenrequest
from apiserver.server import APIServer
from apiserver.tables import to_table
from apiserver.watchserver import serve_watch
from tinykube.api.resources import INDEX, POD_DISRUPTION_BUDGETS

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class ResourceRequest:
    registry: Registry
    namespace: str | None
    name: str | None
    subresource: str


def parse_resource_path(server: APIServer, path: str) -> ResourceRequest:
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise errors.route_not_found()
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        nested = INDEX.by_path(group, version, rest[2])
        if nested is not None and nested.namespaced:
            namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        raise errors.route_not_found()
    info = INDEX.by_path(group, version, rest[0])
    if info is None:
        raise errors.route_not_found()
    name = rest[1] if len(rest) >= 2 else None
    subresource = rest[2] if len(rest) == 3 else ""
    if subresource and subresource not in info.subresources:
        raise errors.route_not_found()
    if namespace is None and info.namespaced and name is not None:
        raise errors.route_not_found()  # a namespaced object needs its namespace
    return ResourceRequest(server.registries[info], namespace, name, subresource)


def wants_table(request: Request) -> bool:
    return "as=Table" in request.headers.get("accept", "")


def json_response(body: Any, status_code: int = 200, warnings: list[str] | None = None) -> Response:
    headers = {}
    if warnings:
        headers["Warning"] = ", ".join(f'299 - "{_quoted(w)}"' for w in warnings)
    return Response(json.dumps(body, separators=(",", ":")), status_code,
                    media_type="application/json", headers=headers)


def _quoted(text: str) -> str:
    """Text for a quoted-string of a Warning header (RFC 7230)."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


async def read_body(request: Request, limit_bytes: int) -> Any:
    raw = await decoding.read_limited_body(request, limit_bytes)
    if not raw:
        return None
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if content_type == protobuf.CONTENT_TYPE:  # kubectl's typed `create` generators
        try:
            return protobuf.decode_object(raw)
        except protobuf.UnsupportedProtobuf as err:
            raise errors.APIError(415, "UnsupportedMediaType", str(err)) from None
        except protobuf.MalformedProtobuf as err:
            raise errors.bad_request(f"the body of the request could not be decoded: {err}") \
                from None
    if content_type not in ("application/json", "application/yaml", "application/apply-patch+yaml",
                            "*/*", ""):
        raise errors.unsupported_media_type(content_type)
    try:
        if content_type in ("application/yaml", "application/apply-patch+yaml"):
            return await decode_off_loop(decoding.parse_yaml, raw)
        return decoding.parse_json(raw)
    except decoding.DecodeError as err:
        raise errors.bad_request(f"the body of the request could not be decoded: {err}") from None


def request_context(request: Request, verb: str) -> RequestContext:
    query = request.query_params
    # Without the parameter Kubernetes drops unknown fields with a warning.
    validation = query.get("fieldValidation") or "Warn"
    if validation not in ("Strict", "Warn", "Ignore"):
        raise errors.bad_request(f'fieldValidation: Unsupported value: "{validation}": supported '
                                 'values: "Ignore", "Strict", "Warn"')
    dry_run = query.getlist("dryRun")
    if any(value != "All" for value in dry_run):
        raise errors.bad_request('dryRun: Unsupported value: supported values: "All"')
    manager = query.get("fieldManager") or _manager_from_user_agent(request)
    return RequestContext(field_manager=manager, dry_run=bool(dry_run), field_validation=validation,
                          user=getattr(request.state, "user", None) or ANONYMOUS)


def _manager_from_user_agent(request: Request) -> str:
    # Kubernetes names the manager after the client binary (e.g. "kubectl", "OpenAPI-Generator").
    agent = request.headers.get("user-agent", "unknown")
    return agent.split("/")[0] or "unknown"


def _query_int(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)  # type: ignore[arg-type]
    except ValueError:
        raise errors.bad_request(f"{name}: invalid integer {value!r}") from None


async def handle_resource(server: APIServer, request: Request, path: str) -> Response:
    req = parse_resource_path(server, path)
    reg, method, query = req.registry, request.method, request.query_params
    watching = query.get("watch") in ("true", "1")
    limit = server.config.max_request_bytes
    if req.subresource == "token" and method != "POST":  # a TokenRequest is only ever created
        raise errors.method_not_supported(reg.info, f"{method.lower()} on serviceaccounts/token")

    if method == "GET":
        if req.subresource == "scale":
            return json_response(await subresources.get_scale(reg, req.namespace, req.name or ""))
        if req.subresource in ("exec", "portforward"):  # proxy.install_routes serves the upgrade
            raise errors.bad_request("Upgrade request required")
        if req.name is not None and not watching:
            obj = await reg.get(req.namespace, req.name)
            if wants_table(request):
                return json_response(to_table(reg.info, [obj], include_object=_include(request)))
            return json_response(obj)
        field_selector = query.get("fieldSelector")
        if req.name is not None:
            field_selector = ",".join(filter(None, [field_selector, f"metadata.name={req.name}"]))
        selection = reading.parse_selection(reg, req.namespace, query.get("labelSelector"),
                                            field_selector)
        # Checked before a watch starts streaming, so a bad one is a 400, not an in-stream error.
        reading.parse_resource_version(query.get("resourceVersion"))
        if watching:
            return await serve_watch(reg, request, selection,
                                     timeout_seconds=_query_int(request, "timeoutSeconds"),
                                     table=wants_table(request), include=_include(request),
                                     flow_log=server.flow_log)
        items, revision, token = await reading.list_objects(
            reg, selection, _query_int(request, "limit"), query.get("continue"))
        if wants_table(request):
            return json_response(to_table(reg.info, items, list_resource_version=revision,
                                          continue_token=token, include_object=_include(request)))
        return list_response(reading.list_body(reg, items, revision, token))

    if method == "POST":
        if req.subresource in ("exec", "portforward"):  # kubectl's SPDY fallback: not served
            raise errors.bad_request("Upgrade request required: tinykube serves exec and "
                                     "port-forward over WebSocket only")
        body = await read_body(request, limit)
        if req.subresource == "eviction":
            status, code = await eviction.evict(
                reg, server.registries[POD_DISRUPTION_BUDGETS], req.namespace or "",
                req.name or "", body, request_context(request, "create"))
            return json_response(status, code)
        if req.subresource == "token":  # serviceaccounts/token: a TokenRequest, nothing stored
            return json_response(await tokenrequest.create_token(
                server, server.token_issuer, req.namespace or "", req.name or "", body,
                request_context(request, "create")), 201)
        if req.subresource:  # pods/binding: the strategy says what it changes
            return json_response(await reg.create_on_subresource(
                req.namespace, req.name or "", req.subresource, body,
                request_context(request, "create")), 201)
        if req.name is not None:
            raise errors.method_not_supported(reg.info, "create on a named object")
        ctx = request_context(request, "create")
        created = await reg.create(req.namespace, body, ctx)
        return json_response(created, 201, ctx.warnings)

    if method == "PUT":
        if req.name is None:
            raise errors.method_not_supported(reg.info, "update on a collection")
        body = await read_body(request, limit)
        ctx = request_context(request, "update")
        if req.subresource == "scale":
            return json_response(await subresources.change_scale(
                reg, req.namespace, req.name, ctx, new_scale=body))
        updated = await reg.update(req.namespace, req.name, body, ctx, req.subresource)
        return json_response(updated, 200, ctx.warnings)

    if method == "PATCH":
        if req.name is None:
            raise errors.method_not_supported(reg.info, "patch on a collection")
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type not in reg.patch_types:
            if content_type in patching.PATCH_TYPES:  # strategic merge on a custom resource
                raise errors.APIError(415, "UnsupportedMediaType", "the body of the request was "
                                      "in an unknown format - accepted media types include: "
                                      + ", ".join(reg.patch_types))
            raise errors.unsupported_media_type(content_type)
        raw = await decoding.read_limited_body(request, limit)
        patch_body = await decode_off_loop(partial(patching.parse_patch_body, content_type), raw)
        ctx = request_context(request, "patch")
        if req.subresource == "scale":
            return json_response(await subresources.change_scale(
                reg, req.namespace, req.name, ctx, patch_type=content_type, patch_body=patch_body))
        obj, created = await patching.patch(reg, req.namespace, req.name, content_type,
                                            patch_body, ctx, subresource=req.subresource,
                                            force=query.get("force") == "true")
        return json_response(obj, 201 if created else 200, ctx.warnings)

    if method == "DELETE":
        body = await read_body(request, limit)
        options = deletion.parse_delete_options(body, query.get("gracePeriodSeconds"),
                                                query.get("propagationPolicy"))
        ctx = request_context(request, "delete")
        ctx.dry_run = ctx.dry_run or options.get("dryRun") == ["All"]
        if req.name is None:
            return await _delete_collection(reg, request, req, options, ctx)
        return json_response(await deletion.delete(reg, req.namespace, req.name, options, ctx))

    raise errors.APIError(405, "MethodNotAllowed", f"the server does not allow this method on "
                          f"the requested resource ({method})")


def _include(request: Request) -> str:
    return request.query_params.get("includeObject") or "Metadata"


async def _delete_collection(reg: Registry, request: Request, req: ResourceRequest,
                             options: dict[str, Any], ctx: RequestContext) -> Response:
    query = request.query_params
    selection = reading.parse_selection(reg, req.namespace, query.get("labelSelector"),
                                        query.get("fieldSelector"))
    items, revision, _ = await reading.list_objects(reg, selection, None, None)
    deleted = []
    for item in items:
        meta = item["metadata"]
        try:
            deleted.append(await deletion.delete(reg, meta.get("namespace"), meta["name"],
                                                 options, ctx))
        except errors.APIError as err:
            if err.code != 404:
                raise
    return json_response(reading.list_body(reg, deleted, revision, None))
