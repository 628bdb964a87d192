"""Impersonation: act as another user with `Impersonate-User`, `Impersonate-Group`
and `Impersonate-Uid` headers (`kubectl --as=jane --as-group=devs`).

Runs after authentication and before authorization, on the HTTPS port only. The
caller must be allowed the `impersonate` verb on each thing it asks for:
`users/NAME`, `groups/NAME`, `uids/UID` (authentication.k8s.io), or, for a
`system:serviceaccount:NS:NAME` user, `serviceaccounts/NAME` in namespace NS. A
refusal is the usual 403 for those attributes (`users "jane" is forbidden: User
"bob" cannot impersonate resource "users" in API group "" at the cluster scope`).
The request then runs as the impersonated user: its groups are the ones asked
for, or, when none are, a service account's fixed groups; plus
`system:authenticated` for anyone but `system:anonymous`, unless the groups name
`system:authenticated` or `system:unauthenticated` themselves.

Difference from Kubernetes: users carry no extra fields here, so
`Impersonate-Extra-*` headers are refused (400) rather than honoured.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/endpoints/filters/impersonation.go
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from apiserver import errors
from apiserver.auth import ANONYMOUS, UserInfo
from apiserver.authorization.attributes import Attributes
from apiserver.authorization.authorizer import Authorizer
from apiserver.authorization.filter import forbidden

USER_HEADER, GROUP_HEADER, UID_HEADER = (b"impersonate-user", b"impersonate-group",
                                         b"impersonate-uid")
EXTRA_PREFIX = b"impersonate-extra-"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
AUTHENTICATED, UNAUTHENTICATED = "system:authenticated", "system:unauthenticated"


def impersonated_user(requestor: UserInfo, headers: list[tuple[bytes, bytes]],
                      authorizer: Authorizer) -> UserInfo | None:
    """The user the headers ask to act as (None: no impersonation), once every part
    of it is authorized; raises the APIError to answer otherwise."""
    values: dict[bytes, list[str]] = {}
    for key, value in headers:
        key = key.lower()
        if key in (USER_HEADER, GROUP_HEADER, UID_HEADER) or key.startswith(EXTRA_PREFIX):
            values.setdefault(key, []).append(value.decode("latin-1"))
    if not values:
        return None
    if any(key.startswith(EXTRA_PREFIX) for key in values):
        raise errors.bad_request("tinykube does not support Impersonate-Extra-* headers")
    username = (values.get(USER_HEADER) or [""])[0]
    groups, uid = values.get(GROUP_HEADER, []), (values.get(UID_HEADER) or [""])[0]
    if not username:
        raise errors.internal(f"requested groups {groups} or uid {uid!r} without impersonating "
                              "a user")
    checks: list[Attributes] = []
    implied_groups: list[str] = []
    namespace, _, account = username.removeprefix(SERVICE_ACCOUNT_PREFIX).partition(":")
    if username.startswith(SERVICE_ACCOUNT_PREFIX) and namespace and account:
        checks.append(_impersonate(requestor, "", "serviceaccounts", account, namespace))
        implied_groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"]
    else:
        checks.append(_impersonate(requestor, "", "users", username))
    checks += [_impersonate(requestor, "", "groups", group) for group in groups]
    if uid:
        checks.append(_impersonate(requestor, "authentication.k8s.io", "uids", uid))
    for attributes in checks:
        verdict = authorizer.authorize(attributes)
        if not verdict.allowed:
            raise forbidden(attributes, verdict.reason)
    resulting = list(groups) if groups else implied_groups
    if username != ANONYMOUS.name and not {AUTHENTICATED, UNAUTHENTICATED} & set(resulting):
        resulting.append(AUTHENTICATED)
    return UserInfo(username, uid, tuple(resulting))


def _impersonate(user: UserInfo, group: str, resource: str, name: str,
                 namespace: str = "") -> Attributes:
    return Attributes(user, "impersonate", True, group, "", resource, "", namespace, name)


class ImpersonationFilter:
    """ASGI step: swap the authenticated user for the impersonated one."""

    def __init__(self, app: ASGIApp, authorizer: Authorizer) -> None:
        self.app = app
        self.authorizer = authorizer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            state = scope.setdefault("state", {})
            acting = impersonated_user(state.get("user") or ANONYMOUS,
                                       list(scope.get("headers", ())), self.authorizer)
            if acting is not None:
                state["user"] = acting
        await self.app(scope, receive, send)
