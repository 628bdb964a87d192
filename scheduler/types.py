"""What the scheduler knows about one pod and one node, computed once and reused.

`PodInfo` wraps one typed `Pod` (the informer parsed it once) and answers what the
plugins and the cache ask about it (requests, host ports, controller owner); each
answer is computed on first use and kept, so a pod's requests are worked out once
per pod object however many nodes are filtered and scored. `NodeInfo` is a `Node`
plus the running totals of the pods on it (requested and "non-zero" requested
resources, used host ports, pods per owner), updated incrementally as pods are
added and removed; nothing is ever recounted.

- Quantities are integers: CPU in millicores, memory in bytes.
- A container without a CPU (memory) request counts as 100m (200Mi) for scoring
  only ("non-zero" requests), so empty pods still spread; filtering uses the real
  requests.
- Never mutated: the wrapped Pod and Node are the informer's cached objects.

Kubernetes counterpart: pkg/scheduler/framework/types.go (PodInfo, NodeInfo, Resource),
pkg/scheduler/util/pod_resources.go, staging/src/k8s.io/apimachinery/pkg/api/resource
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

from tinykube.api.core import Container, Node, Pod, PodSpec, Taint, Toleration
from tinykube.api.meta import Quantity, get_controller_of, meta_namespace_key
from tinykube.api.quantity import int_value, milli_value

DEFAULT_MILLI_CPU_REQUEST = 100  # 0.1 core
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024  # 200 MB
EMPTY_SPEC = PodSpec()


@dataclass
class Resource:
    """Requested or allocatable amounts; `allowed_pod_number` only for allocatable."""

    milli_cpu: int = 0
    memory: int = 0
    allowed_pod_number: int = 0

    @classmethod
    def from_list(cls, resources: dict[str, Quantity] | None) -> Resource:
        resources = resources or {}
        return cls(milli_value(resources.get("cpu", 0)), int_value(resources.get("memory", 0)),
                   int_value(resources.get("pods", 0)))


@dataclass(frozen=True)
class PodResource:
    """A pod's requests, real and "non-zero" (the scoring defaults filled in)."""

    requests: Resource
    non_zero_requests: Resource


def _container_requests(container: Container) -> tuple[int, int, bool, bool]:
    requests = (container.resources.requests if container.resources else None) or {}
    cpu, memory = requests.get("cpu"), requests.get("memory")
    return (milli_value(cpu) if cpu is not None else 0, int_value(memory) if memory is not None else 0,
            cpu is not None, memory is not None)


def compute_pod_requests(spec: PodSpec) -> PodResource:
    """The requests of a pod spec.

    requests = max(sum over containers, each init container) + overhead, per resource:
    init containers run one at a time before the app containers, so the pod needs
    the larger of the two, not their sum.
    """
    cpu = memory = non_zero_cpu = non_zero_memory = 0
    for container in spec.containers:
        c_cpu, c_memory, has_cpu, has_memory = _container_requests(container)
        cpu += c_cpu
        memory += c_memory
        non_zero_cpu += c_cpu if has_cpu else DEFAULT_MILLI_CPU_REQUEST
        non_zero_memory += c_memory if has_memory else DEFAULT_MEMORY_REQUEST
    for container in spec.init_containers or ():
        c_cpu, c_memory, has_cpu, has_memory = _container_requests(container)
        cpu, memory = max(cpu, c_cpu), max(memory, c_memory)
        non_zero_cpu = max(non_zero_cpu, c_cpu if has_cpu else DEFAULT_MILLI_CPU_REQUEST)
        non_zero_memory = max(non_zero_memory, c_memory if has_memory else DEFAULT_MEMORY_REQUEST)
    overhead = Resource.from_list(spec.overhead)
    return PodResource(Resource(cpu + overhead.milli_cpu, memory + overhead.memory),
                       Resource(non_zero_cpu + overhead.milli_cpu, non_zero_memory + overhead.memory))


HostPort = tuple[str, str, int]  # (hostIP, protocol, hostPort)


def host_ports_of(spec: PodSpec) -> list[HostPort]:
    return [(port.host_ip or "0.0.0.0", port.protocol or "TCP", port.host_port)
            for container in spec.containers for port in container.ports or () if port.host_port]


class PodInfo:
    """One Pod and the facts plugins need, each computed at most once.

    - `key`, `uid` and `node_name` are read at construction; the rest on first use.
    - `with_node` shares the computed facts with the copy (they do not depend on it).
    """

    def __init__(self, pod: Pod) -> None:
        self.pod = pod
        self.spec = pod.spec or EMPTY_SPEC
        self.key = meta_namespace_key(pod)
        self.uid = pod.metadata.uid or ""
        self.node_name = self.spec.node_name or ""

    @cached_property
    def resource(self) -> PodResource:
        return compute_pod_requests(self.spec)

    @cached_property
    def host_ports(self) -> list[HostPort]:
        return host_ports_of(self.spec)

    @cached_property
    def owner_uid(self) -> str:
        """The controller's uid, "" without one."""
        owner = get_controller_of(self.pod)
        return owner.uid if owner is not None else ""

    @property
    def tolerations(self) -> list[Toleration]:
        return self.spec.tolerations or []

    def with_node(self, node_name: str) -> PodInfo:
        """A copy bound to `node_name` (the assumed pod); the Pod is copied shallowly."""
        spec = self.spec.model_copy(update={"node_name": node_name})
        copy = PodInfo(self.pod.model_copy(update={"spec": spec}))
        for name in ("resource", "host_ports", "owner_uid"):
            if name in self.__dict__:
                copy.__dict__[name] = self.__dict__[name]
        return copy


@dataclass
class NodeInfo:
    """A node and running totals over the pods bound (or assumed) to it.

    - `add_pod`/`remove_pod` keep every total in step; totals are never recounted.
    - `node` may be None while pods name a node the cache has not seen yet.
    """

    name: str
    node: Node | None = None
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[Taint] = field(default_factory=list)
    unschedulable: bool = False
    allocatable: Resource = field(default_factory=Resource)
    requested: Resource = field(default_factory=Resource)
    non_zero_requested: Resource = field(default_factory=Resource)
    pods: dict[str, PodInfo] = field(default_factory=dict)  # by pod uid
    used_ports: Counter[HostPort] = field(default_factory=Counter)
    pods_by_owner: Counter[str] = field(default_factory=Counter)

    def set_node(self, node: Node | None) -> None:
        self.node = node
        spec = node.spec if node is not None else None
        self.labels = (node.metadata.labels if node is not None else None) or {}
        self.taints = (spec.taints if spec else None) or []
        self.unschedulable = bool(spec and spec.unschedulable)
        status = node.status if node is not None else None
        self.allocatable = Resource.from_list(status.allocatable if status else None)

    def add_pod(self, info: PodInfo) -> None:
        self.pods[info.uid] = info
        self._account(info, 1)

    def remove_pod(self, uid: str) -> PodInfo | None:
        info = self.pods.pop(uid, None)
        if info is not None:
            self._account(info, -1)
        return info

    def _account(self, info: PodInfo, sign: int) -> None:
        requests, non_zero = info.resource.requests, info.resource.non_zero_requests
        self.requested.milli_cpu += sign * requests.milli_cpu
        self.requested.memory += sign * requests.memory
        self.non_zero_requested.milli_cpu += sign * non_zero.milli_cpu
        self.non_zero_requested.memory += sign * non_zero.memory
        for port in info.host_ports:
            self.used_ports[port] += sign
            if self.used_ports[port] <= 0:
                del self.used_ports[port]
        if info.owner_uid:
            self.pods_by_owner[info.owner_uid] += sign
            if self.pods_by_owner[info.owner_uid] <= 0:
                del self.pods_by_owner[info.owner_uid]
