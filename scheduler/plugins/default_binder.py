"""DefaultBinder: bind the pod by POSTing a Binding to pods/{name}/binding.

The Binding carries the pod's metadata.uid, so the API server binds only the very
pod this cycle scheduled: a pod deleted and recreated under the same name meanwhile
gets a Conflict, not the old pod's node. Any API failure is an ERROR status; the
framework then runs Unreserve and the pod is retried with backoff.

Kubernetes counterpart: pkg/scheduler/framework/plugins/defaultbinder/default_binder.go
"""

from __future__ import annotations

from typing import Any, Protocol

from scheduler.cycle_state import CycleState
from scheduler.framework import SUCCESS, Status, as_error
from scheduler.types import PodInfo
from tinykube.api.core import Binding, ObjectReference
from tinykube.api.meta import ObjectMeta
from tinykube.api.resources import PODS, ResourceInfo
from tinykube.client.errors import ClientError

NAME = "DefaultBinder"


class BindingClient(Protocol):
    """The one call the binder makes; `RESTClient` provides it."""

    async def create_subresource(self, info: ResourceInfo, name: str, subresource: str,
                                 body: Any, namespace: str | None = None) -> Any: ...


class DefaultBinder:
    name = NAME

    def __init__(self, client: BindingClient) -> None:
        self.client = client

    async def bind(self, state: CycleState, pod: PodInfo, node_name: str) -> Status:
        meta = pod.pod.metadata
        binding = Binding(metadata=ObjectMeta(name=meta.name, namespace=meta.namespace, uid=meta.uid),
                          target=ObjectReference(api_version="v1", kind="Node", name=node_name))
        try:
            await self.client.create_subresource(PODS, meta.name or "", "binding", binding, meta.namespace)
        except ClientError as err:
            return as_error(NAME, err)
        return SUCCESS
