"""API errors as v1 Status objects.

Every failure the API server returns is an `APIError` turned into the JSON body
clients expect: `{"kind":"Status","apiVersion":"v1","status":"Failure","message",
"reason","code","details"}`. kubectl prints `Error from server (<reason>): <message>`
and the official Python client raises ApiException with `.status == code`, so the
wording follows Kubernetes (`deployments.apps "web" not found`).

Kubernetes counterpart: staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go
"""

from __future__ import annotations

import json
from typing import Any

from tinykube.api.resources import ResourceInfo
from tinykube.api.validation import FieldError


class APIError(Exception):
    def __init__(self, code: int, reason: str, message: str,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        """The v1 Status, with keys in the order kube-apiserver writes them."""
        body: dict[str, Any] = {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason,
        }
        if self.details:
            body["details"] = _in_wire_order(self.details, DETAILS_FIELDS)
        body["code"] = self.code
        return body

    def body(self) -> bytes:
        """The response body byte for byte as kube-apiserver sends it: compact JSON
        (Go's encoder escapes <, > and & too) and a trailing newline."""
        return go_json(self.status())


# metav1.StatusDetails and metav1.StatusCause: the order of their Go struct fields.
DETAILS_FIELDS = ("name", "group", "kind", "uid", "causes", "retryAfterSeconds")
CAUSE_FIELDS = ("reason", "message", "field")


def _in_wire_order(details: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    ordered = {key: details[key] for key in fields if key in details}
    ordered.update({k: v for k, v in details.items() if k not in ordered})
    if "causes" in ordered:
        ordered["causes"] = [_in_wire_order(cause, CAUSE_FIELDS) for cause in ordered["causes"]]
    return ordered


def go_json(value: Any) -> bytes:
    """What Go's `json.NewEncoder(w).Encode(value)` writes for `value`."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return (text + "\n").encode()


def _details(info: ResourceInfo | None, name: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name}
    if info is not None:
        details["kind"] = info.plural
        if info.group:
            details["group"] = info.group
    return details


def not_found(info: ResourceInfo, name: str) -> APIError:
    return APIError(404, "NotFound", f'{info.group_resource} "{name}" not found', _details(info, name))


def already_exists(info: ResourceInfo, name: str) -> APIError:
    return APIError(409, "AlreadyExists", f'{info.group_resource} "{name}" already exists',
                    _details(info, name))


# What a write based on a stale resourceVersion is told (Kubernetes' OptimisticLockErrorMsg).
OPTIMISTIC_LOCK_MESSAGE = ("the object has been modified; please apply your changes to the latest "
                           "version and try again")


def conflict(info: ResourceInfo, name: str, why: str, subresource: str = "") -> APIError:
    """409; with a subresource the resource reads `pods/binding`, as Kubernetes words it."""
    resource = info.group_resource
    details = _details(info, name)
    if subresource:
        details["kind"] = f"{info.plural}/{subresource}"
        resource = f"{details['kind']}.{info.group}" if info.group else details["kind"]
    return APIError(409, "Conflict", f'Operation cannot be fulfilled on {resource} "{name}": {why}',
                    details)


def invalid(info: ResourceInfo, name: str, errors: list[FieldError]) -> APIError:
    summary = ", ".join(f"{e.field}: {e.message}" for e in errors)
    if len(errors) > 1:  # Go's utilerrors.Aggregate
        summary = f"[{summary}]"
    details = _details(info, name)
    details["kind"] = info.kind
    details["causes"] = [{"reason": e.type, "message": e.message, "field": e.field} for e in errors]
    group_kind = f"{info.kind}.{info.group}" if info.group else info.kind  # Deployment.apps
    return APIError(422, "Invalid", f'{group_kind} "{name}" is invalid: {summary}', details)


def bad_request(message: str, causes: list[dict[str, str]] | None = None) -> APIError:
    return APIError(400, "BadRequest", message, {"causes": causes} if causes else None)


def forbidden(info: ResourceInfo, name: str, why: str) -> APIError:
    return APIError(403, "Forbidden", f'{info.group_resource} "{name}" is forbidden: {why}',
                    _details(info, name))


def gone(message: str) -> APIError:
    return APIError(410, "Expired", message)


def unauthorized() -> APIError:
    return APIError(401, "Unauthorized", "Unauthorized")


def method_not_supported(info: ResourceInfo | None, action: str) -> APIError:
    what = info.group_resource if info else "resource"
    return APIError(405, "MethodNotAllowed", f"{action} is not supported on resources of kind {what}")


def unsupported_media_type(content_type: str) -> APIError:
    return APIError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {content_type!r})")


def too_large(limit_bytes: int) -> APIError:
    return too_large_detail(f"limit is {limit_bytes}")


def too_large_detail(detail: str) -> APIError:
    return APIError(413, "RequestEntityTooLarge", f"Request entity too large: {detail}")


def route_not_found() -> APIError:
    return APIError(404, "NotFound", "the server could not find the requested resource")


def internal(message: str) -> APIError:
    return APIError(500, "InternalError", f"Internal error occurred: {message}")
