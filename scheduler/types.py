"""What the scheduler knows about one pod and one node, computed once and reused.

`PodInfo` is a pod's wire dict plus everything the plugins ask about it (requests,
host ports, tolerations, parsed node affinity, controller owner), computed when the
pod enters the scheduler, so the per-node filter and score calls do no parsing.
`NodeInfo` is a node plus the running totals of the pods on it (requested and
"non-zero" requested resources, used host ports, pods per owner), updated
incrementally as pods are added and removed; nothing is ever recounted.

- Quantities are integers: CPU in millicores, memory in bytes.
- A container without a CPU (memory) request counts as 100m (200Mi) for scoring
  only ("non-zero" requests), so empty pods still spread; filtering uses the real
  requests.

Kubernetes counterpart: pkg/scheduler/framework/types.go (PodInfo, NodeInfo, Resource),
pkg/scheduler/util/pod_resources.go, staging/src/k8s.io/apimachinery/pkg/api/resource
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tinykube.api.quantity import int_value, milli_value

Obj = dict[str, Any]

DEFAULT_MILLI_CPU_REQUEST = 100  # 0.1 core
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024  # 200 MB

@dataclass
class Resource:
    """Requested or allocatable amounts; `allowed_pod_number` only for allocatable."""

    milli_cpu: int = 0
    memory: int = 0
    allowed_pod_number: int = 0

    @classmethod
    def from_list(cls, resources: Obj | None) -> Resource:
        resources = resources or {}
        return cls(milli_value(resources.get("cpu", 0)), int_value(resources.get("memory", 0)),
                   int_value(resources.get("pods", 0)))


def _container_requests(container: Obj) -> tuple[int, int, bool, bool]:
    requests = (container.get("resources") or {}).get("requests") or {}
    cpu, memory = requests.get("cpu"), requests.get("memory")
    return (milli_value(cpu) if cpu is not None else 0, int_value(memory) if memory is not None else 0,
            cpu is not None, memory is not None)


def compute_pod_requests(spec: Obj) -> tuple[Resource, Resource]:
    """(requests, non_zero_requests) of a pod spec.

    requests = max(sum over containers, each init container) + overhead, per resource:
    init containers run one at a time before the app containers, so the pod needs
    the larger of the two, not their sum.
    """
    cpu = memory = non_zero_cpu = non_zero_memory = 0
    for container in spec.get("containers") or []:
        c_cpu, c_memory, has_cpu, has_memory = _container_requests(container)
        cpu += c_cpu
        memory += c_memory
        non_zero_cpu += c_cpu if has_cpu else DEFAULT_MILLI_CPU_REQUEST
        non_zero_memory += c_memory if has_memory else DEFAULT_MEMORY_REQUEST
    for container in spec.get("initContainers") or []:
        c_cpu, c_memory, has_cpu, has_memory = _container_requests(container)
        cpu, memory = max(cpu, c_cpu), max(memory, c_memory)
        non_zero_cpu = max(non_zero_cpu, c_cpu if has_cpu else DEFAULT_MILLI_CPU_REQUEST)
        non_zero_memory = max(non_zero_memory, c_memory if has_memory else DEFAULT_MEMORY_REQUEST)
    overhead = Resource.from_list(spec.get("overhead"))
    return (Resource(cpu + overhead.milli_cpu, memory + overhead.memory),
            Resource(non_zero_cpu + overhead.milli_cpu, non_zero_memory + overhead.memory))


HostPort = tuple[str, str, int]  # (hostIP, protocol, hostPort)


def host_ports_of(spec: Obj) -> list[HostPort]:
    ports: list[HostPort] = []
    for container in spec.get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                ports.append((port.get("hostIP") or "0.0.0.0", port.get("protocol") or "TCP",
                              int(port["hostPort"])))
    return ports


@dataclass
class PodInfo:
    """A pod and the facts plugins need, computed once per pod object."""

    pod: Obj
    key: str
    uid: str
    labels: dict[str, str]
    node_name: str
    requests: Resource
    non_zero_requests: Resource
    host_ports: list[HostPort]
    tolerations: list[Obj]
    node_selector: dict[str, str]
    required_node_affinity: list[Obj]  # nodeSelectorTerms, ORed
    preferred_node_affinity: list[Obj]  # [{weight, preference}]
    owner_uid: str  # the controller's uid, "" without one

    @classmethod
    def from_pod(cls, pod: Obj) -> PodInfo:
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        requests, non_zero = compute_pod_requests(spec)
        node_affinity = (spec.get("affinity") or {}).get("nodeAffinity") or {}
        required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {}
        owner = next((ref for ref in meta.get("ownerReferences") or [] if ref.get("controller")), None)
        return cls(pod=pod, key=f"{meta.get('namespace', '')}/{meta.get('name', '')}",
                   uid=str(meta.get("uid") or ""), labels=meta.get("labels") or {},
                   node_name=spec.get("nodeName") or "", requests=requests,
                   non_zero_requests=non_zero, host_ports=host_ports_of(spec),
                   tolerations=spec.get("tolerations") or [],
                   node_selector=spec.get("nodeSelector") or {},
                   required_node_affinity=required.get("nodeSelectorTerms") or [],
                   preferred_node_affinity=node_affinity.get(
                       "preferredDuringSchedulingIgnoredDuringExecution") or [],
                   owner_uid=str(owner.get("uid") or "") if owner else "")

    def with_node(self, node_name: str) -> PodInfo:
        """A copy bound to `node_name` (the assumed pod); the wire dict is copied shallowly."""
        spec = {**(self.pod.get("spec") or {}), "nodeName": node_name}
        return PodInfo(**{**self.__dict__, "pod": {**self.pod, "spec": spec}, "node_name": node_name})


@dataclass
class NodeInfo:
    """A node and running totals over the pods bound (or assumed) to it.

    - `add_pod`/`remove_pod` keep every total in step; totals are never recounted.
    - `node` may be None while pods name a node the cache has not seen yet.
    """

    name: str
    node: Obj | None = None
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[Obj] = field(default_factory=list)
    unschedulable: bool = False
    allocatable: Resource = field(default_factory=Resource)
    requested: Resource = field(default_factory=Resource)
    non_zero_requested: Resource = field(default_factory=Resource)
    pods: dict[str, PodInfo] = field(default_factory=dict)  # by pod uid
    used_ports: Counter[HostPort] = field(default_factory=Counter)
    pods_by_owner: Counter[str] = field(default_factory=Counter)

    def set_node(self, node: Obj | None) -> None:
        self.node = node
        meta, spec = (node or {}).get("metadata") or {}, (node or {}).get("spec") or {}
        self.labels = meta.get("labels") or {}
        self.taints = spec.get("taints") or []
        self.unschedulable = bool(spec.get("unschedulable"))
        self.allocatable = Resource.from_list(((node or {}).get("status") or {}).get("allocatable"))

    def add_pod(self, info: PodInfo) -> None:
        self.pods[info.uid] = info
        self._account(info, 1)

    def remove_pod(self, uid: str) -> PodInfo | None:
        info = self.pods.pop(uid, None)
        if info is not None:
            self._account(info, -1)
        return info

    def _account(self, info: PodInfo, sign: int) -> None:
        self.requested.milli_cpu += sign * info.requests.milli_cpu
        self.requested.memory += sign * info.requests.memory
        self.non_zero_requested.milli_cpu += sign * info.non_zero_requests.milli_cpu
        self.non_zero_requested.memory += sign * info.non_zero_requests.memory
        for port in info.host_ports:
            self.used_ports[port] += sign
            if self.used_ports[port] <= 0:
                del self.used_ports[port]
        if info.owner_uid:
            self.pods_by_owner[info.owner_uid] += sign
            if self.pods_by_owner[info.owner_uid] <= 0:
                del self.pods_by_owner[info.owner_uid]
