"""The authorization step of the request chain.

It runs after authentication (the user is known) and before admission and the
handlers: a request nobody allows is one 403 Forbidden Status and nothing is read
or written. The message is kube-apiserver's, e.g.
`pods is forbidden: User "alice" cannot list resource "pods" in API group "" in
the namespace "default"`, followed by the authorizers' reasons when they gave any.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/endpoints/filters/authorization.go,
staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go (ForbiddenStatusError)
"""

from __future__ import annotations

from typing import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from apiserver.audit.event import DECISION_ANNOTATION, REASON_ANNOTATION
from apiserver.audit.filter import annotate
from apiserver.auth import ANONYMOUS, UserInfo
from apiserver.authorization.attributes import Attributes, request_attributes
from apiserver.authorization.authorizer import Authorizer
from apiserver.errors import APIError


def forbidden_message(attributes: Attributes, reason: str = "") -> str:
    user = attributes.user.name
    if not attributes.resource_request:
        message = (f'forbidden: User "{user}" cannot {attributes.verb} path '
                   f'"{attributes.path}"')
    else:
        resource = attributes.resource
        if attributes.subresource:
            resource += "/" + attributes.subresource
        group_resource = (f"{attributes.resource}.{attributes.api_group}"
                          if attributes.api_group else attributes.resource)
        subject = (f'{group_resource} "{attributes.name}"' if attributes.name
                   else group_resource)
        where = (f'in the namespace "{attributes.namespace}"' if attributes.namespace
                 else "at the cluster scope")
        message = (f'{subject} is forbidden: User "{user}" cannot {attributes.verb} resource '
                   f'"{resource}" in API group "{attributes.api_group}" {where}')
    return f"{message}: {reason}" if reason else message


def forbidden(attributes: Attributes, reason: str = "") -> APIError:
    details: dict[str, str] = {}
    if attributes.resource_request:
        if attributes.name:
            details["name"] = attributes.name
        if attributes.api_group:
            details["group"] = attributes.api_group
        details["kind"] = attributes.resource
    return APIError(403, "Forbidden", forbidden_message(attributes, reason), details)


class AuthorizationFilter:
    """ASGI step: ask the authorizer about every request except the public ones
    (`is_public(method, path)`: health, version and the cluster-info ConfigMap,
    which the chain already let through without credentials)."""

    def __init__(self, app: ASGIApp, authorizer: Authorizer,
                 is_public: Callable[[str, str], bool]) -> None:
        self.app = app
        self.authorizer = authorizer
        self.is_public = is_public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.is_public(scope["method"], scope["path"]):
            # RequestChain put the authenticated user in the request's state.
            user: UserInfo = scope.get("state", {}).get("user") or ANONYMOUS
            attributes = request_attributes(user, scope["method"], scope["path"],
                                            scope.get("query_string", b"").decode("latin-1"))
            verdict = self.authorizer.authorize(attributes)
            annotate(scope, **{DECISION_ANNOTATION: "allow" if verdict.allowed else "forbid",
                               REASON_ANNOTATION: verdict.reason})
            if not verdict.allowed:
                raise forbidden(attributes, verdict.reason)
        await self.app(scope, receive, send)
