"""Learn the server's custom resources from discovery and add them to the index.

Built-in resources are compiled into `tinykube.api.resources`; resources served
from CustomResourceDefinitions are only known to the server. `discover_resources`
reads aggregated discovery (`/apis`, apidiscovery.k8s.io/v2) and adds every
resource the static table lacks to `INDEX`, so name resolution (`widgets`, `wd`,
`Widget`), paths and `by_kind` work for them as for built-in kinds; resources the
server no longer serves are dropped again.

Kubernetes counterpart: staging/src/k8s.io/client-go/discovery (aggregated discovery),
restmapper/discovery.go
"""

from __future__ import annotations

from typing import Any, Protocol

from tinykube.api.resources import INDEX, ResourceInfo

AGGREGATED_ACCEPT = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


class DiscoveryClient(Protocol):
    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                      body: Any = None, content_type: str = "application/json",
                      headers: dict[str, str] | None = None) -> Any: ...


def resources_from_discovery(document: dict[str, Any]) -> list[ResourceInfo]:
    """The resources of an APIGroupDiscoveryList, as index entries (model: none)."""
    found = []
    for group in document.get("items") or []:
        name = (group.get("metadata") or {}).get("name") or ""
        for version in group.get("versions") or []:
            for resource in version.get("resources") or []:
                kind = (resource.get("responseKind") or {}).get("kind") or ""
                found.append(ResourceInfo(
                    name, version.get("version") or "", kind, resource.get("resource") or "",
                    resource.get("singularResource") or kind.lower(),
                    resource.get("scope") == "Namespaced", model="",
                    short_names=tuple(resource.get("shortNames") or ()),
                    subresources=tuple(s.get("subresource") for s in
                                       resource.get("subresources") or ()),
                    categories=tuple(resource.get("categories") or ()),
                    verbs=tuple(resource.get("verbs") or ())))
    return found


async def discover_resources(client: DiscoveryClient) -> list[ResourceInfo]:
    """Sync INDEX's dynamic entries with what the server serves; returns the new ones."""
    document = await client.request("GET", "/apis", headers={"Accept": AGGREGATED_ACCEPT})
    served = [info for info in resources_from_discovery(document or {})
              if "watch" in info.verbs and (INDEX.by_path(info.group, info.version, info.plural) is None
              or not INDEX.is_builtin(INDEX.by_path(info.group, info.version, info.plural)))]
    wanted = {(i.group, i.version, i.plural) for i in served}
    for info in INDEX.resources:
        if not INDEX.is_builtin(info) and (info.group, info.version, info.plural) not in wanted:
            INDEX.remove(info)
    added = []
    for info in served:
        if INDEX.by_path(info.group, info.version, info.plural) != info:
            INDEX.add(info)
            added.append(info)
    return added
