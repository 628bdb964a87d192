"""Per-kind columns and cells for server-side Tables (what `kubectl get` prints).

Each printer is a column list plus a function from one object (a plain dict, as
stored) to its cells. The server always produces every column, wide ones included
(priority 1); kubectl shows those only with `-o wide`. Cells are computed from the
object alone plus "now", so the same object prints the same way everywhere.

This module holds the shared helpers (human_duration, column types) and the
printers with real logic: pods, workloads, services and nodes, which follow
upstream's printPod, printDeployment, printService and printNode closely, because
their odd cases ("Init:0/1", "CrashLoopBackOff", "<pending>",
"NotReady,SchedulingDisabled") are part of what users learn. apiserver/tables.py
holds the simpler kinds, the registry and the Table envelope.

Kubernetes counterpart: pkg/printers/internalversion/printers.go
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tinykube.api.selectors import SelectorError, label_selector_from_dict

Obj = Mapping[str, Any]
RowFunc = Callable[[Obj, datetime], list[Any]]

NAME_DESCRIPTION = (
    "Name must be unique within a namespace. It is required when creating resources and "
    "cannot be updated."
)
AGE_DESCRIPTION = (
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is represented in RFC3339 form and is in UTC."
)
CONTAINERS_DESCRIPTION = "Names of each container in the template."
IMAGES_DESCRIPTION = "Images referenced by each container in the template."


@dataclass(frozen=True)
class Column:
    """One TableColumnDefinition; `priority` 0 is always shown, 1 only with -o wide."""

    name: str
    type: str = "string"
    description: str = ""
    priority: int = 0
    format: str = ""

    def definition(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "format": self.format,
                "description": self.description, "priority": self.priority}


NAME = Column("Name", format="name", description=NAME_DESCRIPTION)
AGE = Column("Age", description=AGE_DESCRIPTION)
CONTAINERS = Column("Containers", priority=1, description=CONTAINERS_DESCRIPTION)
IMAGES = Column("Images", priority=1, description=IMAGES_DESCRIPTION)


@dataclass(frozen=True)
class TablePrinter:
    columns: tuple[Column, ...]
    print_row: RowFunc
    # Optional row conditions (pods carry a "Completed" condition once terminal).
    conditions: Callable[[Obj], list[dict[str, str]] | None] | None = None


# -- time -----------------------------------------------------------------------------


def human_duration(seconds: float) -> str:
    """Kubernetes' short duration: "5s", "3m12s", "10m", "5h3m", "2d3h", "3y12d".

    Precision drops as durations grow. A clock skew of up to a second reads as "0s";
    anything further in the future is "<invalid>".
    """
    secs = int(seconds)  # truncates toward zero, like Go's int(d.Seconds())
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 120:
        return f"{secs}s"
    minutes = secs // 60
    if minutes < 10:
        rest = secs % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 3 * 60:
        return f"{minutes}m"
    hours = secs // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        return f"{hours // 24 // 365}y{rest}d" if rest else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def parse_timestamp(value: Any) -> datetime | None:
    """RFC 3339 ("2024-05-01T10:00:00Z", with or without fractions) to aware UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def translate_timestamp_since(value: Any, now: datetime) -> str:
    """Age of a timestamp; "<unknown>" when it is missing or unreadable."""
    when = parse_timestamp(value)
    if when is None:
        return "<unknown>"
    return human_duration((now - when).total_seconds())


def age(obj: Obj, now: datetime) -> str:
    return translate_timestamp_since(get_path(obj, "metadata", "creationTimestamp"), now)


# -- small helpers shared by the printers ---------------------------------------------


def get_path(obj: Any, *path: str, default: Any = None) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return default
        obj = obj.get(key)
    return default if obj is None else obj


def name_of(obj: Obj) -> str:
    return str(get_path(obj, "metadata", "name", default=""))


def format_labels(labels: Mapping[str, str] | None) -> str:
    """`a=b,c=d` sorted by key, or "<none>" (labels.FormatLabels)."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def format_label_selector(selector: Any) -> str:
    """The string form of an API label selector (metav1.FormatLabelSelector)."""
    try:
        text = str(label_selector_from_dict(selector))
    except SelectorError:
        return "<error>"
    return text or "<none>"


def layout_container_cells(containers: list[Mapping[str, Any]]) -> tuple[str, str]:
    names = ",".join(str(c.get("name", "")) for c in containers)
    images = ",".join(str(c.get("image", "")) for c in containers)
    return names, images


def template_containers(obj: Obj) -> list[Mapping[str, Any]]:
    return list(get_path(obj, "spec", "template", "spec", "containers", default=[]))


def load_balancer_ingress(status: Any) -> str:
    """IPs (or hostnames) of a load balancer status, comma separated."""
    found = []
    for ingress in get_path(status, "ingress", default=[]):
        value = ingress.get("ip") or ingress.get("hostname")
        if value:
            found.append(str(value))
    return ",".join(found)


# -- pods -----------------------------------------------------------------------------

POD_COLUMNS = (
    NAME,
    Column("Ready",
           description="The aggregate readiness state of this pod for accepting traffic."),
    Column("Status", description="The aggregate status of the containers in this pod."),
    Column("Restarts", description="The number of times the containers in this pod have been "
           "restarted and when the last container in this pod has restarted."),
    AGE,
    Column("IP", priority=1, description="IP address allocated to the pod."),
    Column("Node", priority=1, description="The node the pod is scheduled onto."),
    Column("Nominated Node", priority=1,
           description="The node the scheduler nominated for this pod after preemption."),
    Column("Readiness Gates", priority=1,
           description="How many of the pod's readiness gates are satisfied."),
)
NODE_UNREACHABLE_POD_REASON = "NodeLost"


def _condition_true(obj: Obj, condition_type: str) -> bool:
    return any(c.get("type") == condition_type and c.get("status") == "True"
               for c in get_path(obj, "status", "conditions", default=[]))


def _finished_at(status: Mapping[str, Any]) -> datetime | None:
    return parse_timestamp(get_path(status, "lastState", "terminated", "finishedAt"))


def _terminated_reason(terminated: Mapping[str, Any], prefix: str) -> str:
    if terminated.get("reason"):
        return prefix + str(terminated["reason"])
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{terminated.get('exitCode', 0)}"


def print_pod(pod: Obj, now: datetime) -> list[Any]:
    """READY, STATUS and RESTARTS the way printPod derives them."""
    spec, status = get_path(pod, "spec", default={}), get_path(pod, "status", default={})
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    sidecars = {n for n, c in init_specs.items() if c.get("restartPolicy") == "Always"}
    total = len(spec.get("containers") or []) + len(sidecars)
    ready = restarts = sidecar_restarts = 0
    last_restart: datetime | None = None
    last_sidecar_restart: datetime | None = None
    phase = str(status.get("phase") or "")
    reason = str(status.get("reason") or phase)
    if any(c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated"
           for c in status.get("conditions") or []):
        reason = "SchedulingGated"

    initializing = False
    init_statuses = status.get("initContainerStatuses") or []
    for index, container in enumerate(init_statuses):
        restarts += int(container.get("restartCount") or 0)
        finished = _finished_at(container)
        if finished and (last_restart is None or finished > last_restart):
            last_restart = finished
        is_sidecar = container.get("name") in sidecars
        if is_sidecar:
            sidecar_restarts += int(container.get("restartCount") or 0)
            if finished and (last_sidecar_restart is None or finished > last_sidecar_restart):
                last_sidecar_restart = finished
        state = container.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated is not None and int(terminated.get("exitCode") or 0) == 0:
            continue
        if is_sidecar and container.get("started"):
            ready += 1 if container.get("ready") else 0
            continue
        if terminated is not None:
            reason = _terminated_reason(terminated, "Init:")
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + str(waiting["reason"])
        else:
            reason = f"Init:{index}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _condition_true(pod, "Initialized"):
        restarts, last_restart = sidecar_restarts, last_sidecar_restart
        has_running = False
        # Walk backwards so the first container's state wins, as upstream.
        for container in reversed(status.get("containerStatuses") or []):
            restarts += int(container.get("restartCount") or 0)
            finished = _finished_at(container)
            if finished and (last_restart is None or finished > last_restart):
                last_restart = finished
            state = container.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = str(waiting["reason"])
            elif terminated is not None:
                reason = _terminated_reason(terminated, "")
            elif container.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        # A finished container next to a running one: the pod is still running.
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(pod, "Ready") else "NotReady"

    deleting = get_path(pod, "metadata", "deletionTimestamp") is not None
    if deleting and status.get("reason") == NODE_UNREACHABLE_POD_REASON:
        reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    restarts_cell = str(restarts)
    if restarts and last_restart is not None:
        ago = human_duration((now - last_restart).total_seconds())
        restarts_cell = f"{restarts} ({ago} ago)"

    pod_ips = status.get("podIPs") or []
    pod_ip = (pod_ips[0].get("ip") if pod_ips else status.get("podIP")) or "<none>"
    gates = spec.get("readinessGates") or []
    readiness_gates = "<none>"
    if gates:
        passed = sum(1 for g in gates if _condition_true(pod, str(g.get("conditionType"))))
        readiness_gates = f"{passed}/{len(gates)}"
    return [
        name_of(pod), f"{ready}/{total}", reason, restarts_cell, age(pod, now),
        pod_ip, spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>", readiness_gates,
    ]


def pod_conditions(pod: Obj) -> list[dict[str, str]] | None:
    """Terminal pods carry a "Completed" row condition, as upstream."""
    phase = get_path(pod, "status", "phase")
    if phase == "Succeeded":
        return [{"type": "Completed", "status": "True", "reason": "Succeeded",
                 "message": "The pod has completed successfully."}]
    if phase == "Failed":
        return [{"type": "Completed", "status": "True", "reason": "Failed",
                 "message": "The pod failed."}]
    return None


# -- workloads ------------------------------------------------------------------------

SELECTOR_DESCRIPTION = "Label query over pods that should match the replica count."
DEPLOYMENT_COLUMNS = (
    NAME,
    Column("Ready", description="Number of the pod with ready state"),
    Column("Up-to-date", "integer", "Total number of non-terminated pods targeted by this "
           "deployment that have the desired template spec."),
    Column("Available", "integer", "Total number of available pods (ready for at least "
           "minReadySeconds) targeted by this deployment."),
    AGE, CONTAINERS, IMAGES,
    Column("Selector", priority=1, description=SELECTOR_DESCRIPTION),
)
REPLICA_SET_COLUMNS = (
    NAME,
    Column("Desired", "integer", "Number of desired pods."),
    Column("Current", "integer", "The most recently observed number of replicas."),
    Column("Ready", "integer", "The number of pods targeted by this ReplicaSet with a Ready "
           "Condition."),
    AGE, CONTAINERS, IMAGES,
    Column("Selector", priority=1, description=SELECTOR_DESCRIPTION),
)
STATEFUL_SET_COLUMNS = (
    NAME,
    Column("Ready", description="Number of the pod with ready state"),
    AGE, CONTAINERS, IMAGES,
)
DAEMON_SET_COLUMNS = (
    NAME,
    Column("Desired", "integer",
           "The total number of nodes that should be running the daemon pod."),
    Column("Current", "integer", "The number of nodes running at least one daemon pod that "
           "are supposed to."),
    Column("Ready", "integer", "The number of nodes that should be running the daemon pod and "
           "have one or more of the daemon pod running and ready."),
    Column("Up-to-date", "integer", "The total number of nodes that are running the updated "
           "daemon pod."),
    Column("Available", "integer", "The number of nodes that should be running the daemon pod "
           "and have one or more of the daemon pod running and available."),
    Column("Node Selector", description="The node selector of the pod template."),
    AGE, CONTAINERS, IMAGES,
    Column("Selector", priority=1, description=SELECTOR_DESCRIPTION),
)


def _int(obj: Obj, *path: str) -> int:
    return int(get_path(obj, *path, default=0))


def print_deployment(obj: Obj, now: datetime) -> list[Any]:
    desired = get_path(obj, "spec", "replicas", default=1)
    names, images = layout_container_cells(template_containers(obj))
    return [name_of(obj), f"{_int(obj, 'status', 'readyReplicas')}/{desired}",
            _int(obj, "status", "updatedReplicas"), _int(obj, "status", "availableReplicas"),
            age(obj, now), names, images, format_label_selector(get_path(obj, "spec", "selector"))]


def print_replica_set(obj: Obj, now: datetime) -> list[Any]:
    names, images = layout_container_cells(template_containers(obj))
    return [name_of(obj), get_path(obj, "spec", "replicas", default=1),
            _int(obj, "status", "replicas"), _int(obj, "status", "readyReplicas"),
            age(obj, now), names, images, format_label_selector(get_path(obj, "spec", "selector"))]


def print_replication_controller(obj: Obj, now: datetime) -> list[Any]:
    """As a ReplicaSet, but the selector is a label map."""
    names, images = layout_container_cells(template_containers(obj))
    return [name_of(obj), get_path(obj, "spec", "replicas", default=1),
            _int(obj, "status", "replicas"), _int(obj, "status", "readyReplicas"),
            age(obj, now), names, images, format_labels(get_path(obj, "spec", "selector"))]


def print_stateful_set(obj: Obj, now: datetime) -> list[Any]:
    desired = get_path(obj, "spec", "replicas", default=1)
    names, images = layout_container_cells(template_containers(obj))
    return [name_of(obj), f"{_int(obj, 'status', 'readyReplicas')}/{desired}",
            age(obj, now), names, images]


def print_daemon_set(obj: Obj, now: datetime) -> list[Any]:
    names, images = layout_container_cells(template_containers(obj))
    node_selector = get_path(obj, "spec", "template", "spec", "nodeSelector")
    return [name_of(obj), _int(obj, "status", "desiredNumberScheduled"),
            _int(obj, "status", "currentNumberScheduled"), _int(obj, "status", "numberReady"),
            _int(obj, "status", "updatedNumberScheduled"),
            _int(obj, "status", "numberAvailable"), format_labels(node_selector),
            age(obj, now), names, images, format_label_selector(get_path(obj, "spec", "selector"))]


# -- services and nodes ---------------------------------------------------------------

SERVICE_COLUMNS = (
    NAME,
    Column("Type", description="The type of the service: ClusterIP, NodePort, LoadBalancer "
           "or ExternalName."),
    Column("Cluster-IP", description="The IP address of the service inside the cluster."),
    Column("External-IP", description="The IP addresses on which the service is reachable "
           "from outside the cluster."),
    Column("Port(s)", description="The ports the service exposes."),
    AGE,
    Column("Selector", priority=1, description="Route service traffic to pods with label keys "
           "and values matching this selector."),
)


def service_external_ip(svc: Obj) -> str:
    spec = get_path(svc, "spec", default={})
    svc_type = spec.get("type") or "ClusterIP"
    external_ips = [str(ip) for ip in spec.get("externalIPs") or []]
    if svc_type in ("ClusterIP", "NodePort"):
        return ",".join(external_ips) if external_ips else "<none>"
    if svc_type == "LoadBalancer":
        lb_ips = load_balancer_ingress(get_path(svc, "status", "loadBalancer"))
        found = ([lb_ips] if lb_ips else []) + external_ips
        return ",".join(found) if found else "<pending>"
    if svc_type == "ExternalName":
        return str(spec.get("externalName") or "")
    return "<unknown>"


def make_port_string(ports: list[Mapping[str, Any]]) -> str:
    """"80/TCP", or "80:30080/TCP" when a node port is allocated."""
    pieces = []
    for port in ports:
        protocol = port.get("protocol") or "TCP"
        if port.get("nodePort"):
            pieces.append(f"{port.get('port')}:{port['nodePort']}/{protocol}")
        else:
            pieces.append(f"{port.get('port')}/{protocol}")
    return ",".join(pieces)


def print_service(svc: Obj, now: datetime) -> list[Any]:
    spec = get_path(svc, "spec", default={})
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    cluster_ip = cluster_ips[0] if cluster_ips else "<none>"
    ports = make_port_string(spec.get("ports") or []) or "<none>"
    return [name_of(svc), spec.get("type") or "ClusterIP", cluster_ip, service_external_ip(svc),
            ports, age(svc, now), format_labels(spec.get("selector"))]


NODE_COLUMNS = (
    NAME,
    Column("Status", description="The status of the node"),
    Column("Roles", description="The roles of the node"),
    AGE,
    Column("Version", description="Kubelet Version reported by the node."),
    Column("Internal-IP", priority=1, description="The node's InternalIP address."),
    Column("External-IP", priority=1, description="The node's ExternalIP address."),
    Column("OS-Image", priority=1, description="OS Image reported by the node."),
    Column("Kernel-Version", priority=1, description="Kernel Version reported by the node."),
    Column("Container-Runtime", priority=1,
           description="ContainerRuntime Version reported by the node."),
)
LABEL_NODE_ROLE_PREFIX = "node-role.kubernetes.io/"
NODE_LABEL_ROLE = "kubernetes.io/role"


def find_node_roles(node: Obj) -> list[str]:
    roles = set()
    for key, value in (get_path(node, "metadata", "labels", default={})).items():
        if key.startswith(LABEL_NODE_ROLE_PREFIX) and key[len(LABEL_NODE_ROLE_PREFIX):]:
            roles.add(key[len(LABEL_NODE_ROLE_PREFIX):])
        elif key == NODE_LABEL_ROLE and value:
            roles.add(str(value))
    return sorted(roles)


def _node_address(node: Obj, address_type: str) -> str:
    for address in get_path(node, "status", "addresses", default=[]):
        if address.get("type") == address_type:
            return str(address.get("address"))
    return "<none>"


def print_node(node: Obj, now: datetime) -> list[Any]:
    states = []
    for condition in get_path(node, "status", "conditions", default=[]):
        if condition.get("type") == "Ready":
            # Anything but True (False or Unknown) reads "NotReady".
            states = ["Ready" if condition.get("status") == "True" else "NotReady"]
    states = states or ["Unknown"]
    if get_path(node, "spec", "unschedulable"):
        states.append("SchedulingDisabled")
    info = get_path(node, "status", "nodeInfo", default={})
    return [name_of(node), ",".join(states), ",".join(find_node_roles(node)) or "<none>",
            age(node, now), str(info.get("kubeletVersion") or ""),
            _node_address(node, "InternalIP"), _node_address(node, "ExternalIP"),
            info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]
