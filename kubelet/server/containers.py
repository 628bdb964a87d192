"""Find a pod's sandbox and containers in the runtime, by the labels the kubelet set.

The kubelet API is addressed by namespace/pod/container names (`/exec/ns/pod/c`),
like upstream's. The runtime only knows ids, so the server looks them up through
the labels every sandbox and container carries (POD_NAMESPACE_LABEL, POD_NAME_LABEL,
POD_UID_LABEL, CONTAINER_NAME_LABEL). A pod recreated under the same name has a
newer sandbox: the newest one wins. "previous" is the container instance that
ran before the current one (the kubelet keeps the last dead instance).

Kubernetes counterpart: pkg/kubelet/kubelet_pods.go (GetContainerLogs, findContainer),
pkg/kubelet/container/helpers.go
"""

from __future__ import annotations

from typing import Protocol

from kubelet.kuberuntime.types import NODE_NAME_LABEL
from kubelet.runtime import (
    CONTAINER_NAME_LABEL,
    POD_NAME_LABEL,
    POD_NAMESPACE_LABEL,
    POD_UID_LABEL,
    Container,
    ContainerState,
    PodSandbox,
    SandboxState,
)


class NotOnThisNode(Exception):
    """The pod or container is not on this node; `code` is the HTTP status to answer."""

    def __init__(self, message: str, code: int = 404) -> None:
        super().__init__(message)
        self.code = code


class ContainerLister(Protocol):
    async def list_pod_sandboxes(self, labels: dict[str, str] | None = None) -> list[PodSandbox]: ...

    async def list_containers(self, pod_sandbox_id: str | None = None) -> list[Container]: ...


async def find_sandbox(runtime: ContainerLister, namespace: str, pod: str) -> PodSandbox:
    sandboxes = await runtime.list_pod_sandboxes({POD_NAMESPACE_LABEL: namespace, POD_NAME_LABEL: pod})
    if not sandboxes:
        raise NotOnThisNode(f'pod "{pod}" in namespace "{namespace}" not found on this node')
    # Ready first, then newest: a recreated pod's old sandbox may still linger.
    return max(sandboxes, key=lambda s: (s.state is SandboxState.READY, s.created_at_ns))


def _belongs_to(container: Container, sandbox: PodSandbox) -> bool:
    uid = container.labels.get(POD_UID_LABEL)
    return uid == sandbox.metadata.uid if uid else container.pod_sandbox_id == sandbox.id


def container_name(container: Container) -> str:
    return container.labels.get(CONTAINER_NAME_LABEL) or container.name


async def find_container(runtime: ContainerLister, namespace: str, pod: str, container: str,
                         previous: bool = False) -> Container:
    """The container's current instance, or with `previous` the one before it."""
    sandbox = await find_sandbox(runtime, namespace, pod)
    instances = sorted((c for c in await runtime.list_containers()
                        if _belongs_to(c, sandbox) and container_name(c) == container),
                       key=lambda c: c.created_at_ns, reverse=True)
    if previous:
        if len(instances) < 2:
            raise NotOnThisNode(f'previous terminated container "{container}" in pod "{pod}" '
                               "not found", 400)
        return instances[1]
    if not instances:
        raise NotOnThisNode(f'container "{container}" in pod "{pod}" is not available', 400)
    return instances[0]


async def running_containers(runtime: ContainerLister, node_name: str = ""
                             ) -> dict[str, tuple[PodSandbox, list[Container]]]:
    """Every ready sandbox (by id) of this node with its running containers, for the
    stats summary. Several kubelets may share one engine (tests, labs): a sandbox
    labelled with another node's name is not ours."""
    pods: dict[str, tuple[PodSandbox, list[Container]]] = {}
    sandboxes = [s for s in await runtime.list_pod_sandboxes() if s.state is SandboxState.READY
                 and (not node_name or s.labels.get(NODE_NAME_LABEL, node_name) == node_name)]
    containers = [c for c in await runtime.list_containers() if c.state is ContainerState.RUNNING]
    for sandbox in sandboxes:
        pods[sandbox.id] = (sandbox, [c for c in containers if _belongs_to(c, sandbox)])
    return pods
