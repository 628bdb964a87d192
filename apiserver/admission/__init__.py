"""Admission: plugins that see every write after decoding and before storage.

A write is an `AdmissionRequest` (operation, resource, subresource, namespace,
name, the new and old objects, the user, dry run). The chain runs in two phases,
as kube-apiserver's:

- **mutating** (`admit`): a plugin may change `request.obj` (ServiceAccount
  admission sets `serviceAccountName` and mounts the token volume); it runs
  before the strategy's defaulting-after-admission and validation;
- **validating** (`validate`): a plugin may only refuse, by raising an APIError
  (NodeRestriction: a node may change only itself and its own pods); it runs
  after validation, just before the object is written.

Plugins register by name in `PLUGINS`; `--enable-admission-plugins` chooses them
and their order. Writes the API server makes for itself pass through the chain
as the loopback user, which is in `system:masters`.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/admission (interfaces.go,
chain.go), pkg/kubeapiserver/options/plugins.go
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from apiserver.auth import UserInfo
from tinykube.api.resources import ResourceInfo

Obj = dict[str, Any]

CREATE, UPDATE, DELETE, CONNECT = "CREATE", "UPDATE", "DELETE", "CONNECT"


@dataclass
class AdmissionRequest:
    operation: str
    info: ResourceInfo
    namespace: str
    name: str
    user: UserInfo
    obj: Obj | None = None  # the object to be written (None for DELETE)
    old: Obj | None = None  # the stored object (None for CREATE)
    subresource: str = ""
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)


class AdmissionPlugin(Protocol):
    """One plugin; `handles` keeps the chain cheap for the writes a plugin ignores."""

    name: str

    def handles(self, request: AdmissionRequest) -> bool: ...

    async def admit(self, request: AdmissionRequest) -> None: ...

    async def validate(self, request: AdmissionRequest) -> None: ...


class AdmissionChain:
    def __init__(self, plugins: list[AdmissionPlugin] | None = None) -> None:
        self.plugins = list(plugins or [])

    async def admit(self, request: AdmissionRequest) -> None:
        for plugin in self.plugins:
            if plugin.handles(request):
                await plugin.admit(request)

    async def validate(self, request: AdmissionRequest) -> None:
        for plugin in self.plugins:
            if plugin.handles(request):
                await plugin.validate(request)


# Plugin name -> factory given the API server (plugins read objects through it).
PluginFactory = Callable[[Any], AdmissionPlugin]
PLUGINS: dict[str, PluginFactory] = {}


def parse_plugins(flag: str) -> list[str]:
    names = [n.strip() for n in flag.split(",") if n.strip()]
    unknown = [n for n in names if n not in PLUGINS]
    if unknown:
        raise ValueError(f"unknown admission plugins: {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(PLUGINS)) or 'none'})")
    return names


def build_chain(names: list[str], server: Any) -> AdmissionChain:
    return AdmissionChain([PLUGINS[name](server) for name in names])
