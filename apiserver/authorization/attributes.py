"""What a request asks to do, in the authorizer's terms.

The rules of kube-apiserver's RequestInfoFactory:
- `/api/v1/...` and `/apis/{group}/{version}/...` are resource requests; anything
  else (`/healthz`, `/version`, `/apis`, `/api/v1` discovery, `/openapi/v2`) is a
  non-resource request whose verb is the lower-case HTTP method;
- the verb comes from the method: GET on an object is `get`, on a collection
  `list` (`watch` with `?watch=true` or under the legacy `/watch/` prefix), POST is
  `create`, PUT `update`, PATCH `patch`, DELETE `delete` or `deletecollection`;
- `namespaces/{ns}/...` sets the namespace; `namespaces/{name}` alone, or with the
  subresource `status` or `finalize`, is the Namespace object itself (namespace and
  name both `{name}`, as upstream);
- a list or watch with `fieldSelector=metadata.name=X` is about the object X, so a
  rule naming X can allow it.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go,
staging/src/k8s.io/apiserver/pkg/authorization/authorizer/interfaces.go
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from apiserver.auth import UserInfo

READ_VERBS = frozenset({"get", "list", "watch"})
NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})  # of the Namespace, not kinds in it
_COLLECTION_VERBS = {"GET": "list", "POST": "create", "DELETE": "deletecollection"}
# POST on a named object creates on its subresource (pods/eviction, serviceaccounts/token).
_OBJECT_VERBS = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch",
                 "DELETE": "delete"}


@dataclass(frozen=True)
class Attributes:
    """One request as an authorizer sees it (upstream's AttributesRecord)."""

    user: UserInfo
    verb: str
    resource_request: bool
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""

    @property
    def read_only(self) -> bool:
        return self.verb in READ_VERBS


def request_attributes(user: UserInfo, method: str, path: str, query_string: str = "") -> Attributes:
    """The attributes of one HTTP request; `path` is the decoded URL path."""
    parts = [unquote(p) for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        rest = []
    if not rest:  # discovery documents and every path outside the resource API
        return Attributes(user, method.lower(), False, path=path)
    query = parse_qs(query_string)
    watching = False
    if rest[0] == "watch":  # the legacy /watch/ prefix
        watching, rest = True, rest[1:]
    elif query.get("watch", [""])[0].lower() in ("true", "1"):
        watching = True
    namespace = ""
    if len(rest) >= 2 and rest[0] == "namespaces":
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
        elif len(rest) == 2:  # the Namespace object itself
            rest = ["namespaces", namespace]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if name:
        verb = "watch" if watching and method == "GET" else _OBJECT_VERBS.get(method, method.lower())
    else:
        verb = _COLLECTION_VERBS.get(method, method.lower())
        if verb == "list" and watching:
            verb = "watch"
        if verb in ("list", "watch"):
            name = _name_from_field_selector(query.get("fieldSelector", [""])[0])
    return Attributes(user, verb, True, group, version, resource, subresource, namespace, name,
                      path)


def _name_from_field_selector(selector: str) -> str:
    """X of `metadata.name=X` (or `==X`) when that is the selector's only term."""
    if not selector or "," in selector:
        return ""
    for operator in ("==", "="):
        key, found, value = selector.partition(operator)
        if found and key.strip() == "metadata.name" and not value.startswith("="):
            return value.strip()
    return ""
