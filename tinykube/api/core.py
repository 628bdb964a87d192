"""The core/v1 kinds: Pod and its parts, Node, Namespace, Service, Endpoints and friends.

Pure data models on `KubeModel`: only the fields tinykube's components read or write
are declared; everything else a manifest carries (securityContext, topology spread,
CSI volumes...) rides along in pydantic's extra and round-trips unchanged. Wire values
of open-ended sets (phase, type, reason) stay `str`; the enums below are offered for
comparisons. Pod helpers (`pod_is_ready`, `pod_is_available`) sit next to the Pod.
The apps kinds embed `PodTemplateSpec`. PersistentVolume(Claim), core/v1 too, live
with the other storage kinds in other.py.

Kubernetes counterpart: staging/src/k8s.io/api/core/v1/types.go
"""

from __future__ import annotations

from pydantic import Field

from tinykube.api.meta import (
    Condition,
    ConditionStatus,
    IntOrString,
    KubeModel,
    KubeObject,
    LabelSelector,
    ObjectMeta,
    Quantity,
    WireEnum,
    get_condition,
    parse_rfc3339,
)


class PodPhase(WireEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    UNKNOWN = "Unknown"


class RestartPolicy(WireEnum):
    ALWAYS = "Always"
    ON_FAILURE = "OnFailure"
    NEVER = "Never"


class TaintEffect(WireEnum):
    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    NO_EXECUTE = "NoExecute"


class ObjectReference(KubeModel):
    api_version: str | None = None
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    uid: str | None = None
    resource_version: str | None = None
    field_path: str | None = None


class LocalObjectReference(KubeModel):
    name: str | None = None


# --- containers --------------------------------------------------------------------


class KeySelector(KubeModel):
    """configMapKeyRef / secretKeyRef."""

    name: str | None = None
    key: str
    optional: bool | None = None


class ObjectFieldSelector(KubeModel):
    api_version: str | None = None
    field_path: str


class ResourceFieldSelector(KubeModel):
    container_name: str | None = None
    resource: str
    divisor: Quantity | None = None


class EnvVarSource(KubeModel):
    field_ref: ObjectFieldSelector | None = None
    resource_field_ref: ResourceFieldSelector | None = None
    config_map_key_ref: KeySelector | None = None
    secret_key_ref: KeySelector | None = None


class EnvVar(KubeModel):
    name: str
    value: str | None = None
    value_from: EnvVarSource | None = None


class EnvFromRef(KubeModel):
    name: str | None = None
    optional: bool | None = None


class EnvFromSource(KubeModel):
    prefix: str | None = None
    config_map_ref: EnvFromRef | None = None
    secret_ref: EnvFromRef | None = None


class ContainerPort(KubeModel):
    name: str | None = None
    container_port: int
    host_port: int | None = None
    protocol: str | None = None
    host_ip: str | None = Field(None, alias="hostIP")


class ResourceRequirements(KubeModel):
    limits: dict[str, Quantity] | None = None
    requests: dict[str, Quantity] | None = None


class VolumeMount(KubeModel):
    name: str
    mount_path: str
    read_only: bool | None = None
    sub_path: str | None = None
    mount_propagation: str | None = None


class ExecAction(KubeModel):
    command: list[str] | None = None


class HTTPHeader(KubeModel):
    name: str
    value: str


class HTTPGetAction(KubeModel):
    path: str | None = None
    port: IntOrString
    host: str | None = None
    scheme: str | None = None
    http_headers: list[HTTPHeader] | None = None


class TCPSocketAction(KubeModel):
    port: IntOrString
    host: str | None = None


class GRPCAction(KubeModel):
    port: int
    service: str | None = None


class Probe(KubeModel):
    exec_: ExecAction | None = Field(None, alias="exec")
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    grpc: GRPCAction | None = None
    initial_delay_seconds: int | None = None
    period_seconds: int | None = None
    timeout_seconds: int | None = None
    success_threshold: int | None = None
    failure_threshold: int | None = None
    termination_grace_period_seconds: int | None = None


class SleepAction(KubeModel):
    seconds: int


class LifecycleHandler(KubeModel):
    exec_: ExecAction | None = Field(None, alias="exec")
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    sleep: SleepAction | None = None


class Lifecycle(KubeModel):
    post_start: LifecycleHandler | None = None
    pre_stop: LifecycleHandler | None = None


class Capabilities(KubeModel):
    add: list[str] | None = None
    drop: list[str] | None = None


class SecurityContext(KubeModel):
    """A container's securityContext (the fields the kubelet passes to the runtime)."""

    run_as_user: int | None = None
    run_as_group: int | None = None
    read_only_root_filesystem: bool | None = None
    capabilities: Capabilities | None = None
    privileged: bool | None = None


class PodSecurityContext(KubeModel):
    run_as_user: int | None = None
    run_as_group: int | None = None


class Container(KubeModel):
    name: str
    image: str | None = None
    command: list[str] | None = None
    args: list[str] | None = None
    working_dir: str | None = None
    env: list[EnvVar] | None = None
    env_from: list[EnvFromSource] | None = None
    ports: list[ContainerPort] | None = None
    resources: ResourceRequirements | None = None
    volume_mounts: list[VolumeMount] | None = None
    liveness_probe: Probe | None = None
    readiness_probe: Probe | None = None
    startup_probe: Probe | None = None
    lifecycle: Lifecycle | None = None
    image_pull_policy: str | None = None
    termination_message_path: str | None = None
    termination_message_policy: str | None = None
    stdin: bool | None = None
    stdin_once: bool | None = None
    tty: bool | None = None
    security_context: SecurityContext | None = None


# --- volumes -----------------------------------------------------------------------


class KeyToPath(KubeModel):
    key: str
    path: str
    mode: int | None = None


class ConfigMapVolumeSource(KubeModel):
    name: str | None = None
    items: list[KeyToPath] | None = None
    default_mode: int | None = None
    optional: bool | None = None


class SecretVolumeSource(KubeModel):
    secret_name: str | None = None
    items: list[KeyToPath] | None = None
    default_mode: int | None = None
    optional: bool | None = None


class EmptyDirVolumeSource(KubeModel):
    medium: str | None = None
    size_limit: Quantity | None = None


class HostPathVolumeSource(KubeModel):
    path: str
    type: str | None = None


class PersistentVolumeClaimVolumeSource(KubeModel):
    claim_name: str
    read_only: bool | None = None


class DownwardAPIVolumeFile(KubeModel):
    path: str
    field_ref: ObjectFieldSelector | None = None
    resource_field_ref: ResourceFieldSelector | None = None
    mode: int | None = None


class DownwardAPIVolumeSource(KubeModel):
    items: list[DownwardAPIVolumeFile] | None = None
    default_mode: int | None = None


class ConfigMapProjection(KubeModel):
    name: str | None = None
    items: list[KeyToPath] | None = None
    optional: bool | None = None


class SecretProjection(KubeModel):
    name: str | None = None
    items: list[KeyToPath] | None = None
    optional: bool | None = None


class DownwardAPIProjection(KubeModel):
    items: list[DownwardAPIVolumeFile] | None = None


class ServiceAccountTokenProjection(KubeModel):
    audience: str | None = None
    expiration_seconds: int | None = None
    path: str = ""


class VolumeProjection(KubeModel):
    """One source of a projected volume; clusterTrustBundle etc. stay in extra."""

    config_map: ConfigMapProjection | None = None
    secret: SecretProjection | None = None
    downward_api: DownwardAPIProjection | None = Field(None, alias="downwardAPI")
    service_account_token: ServiceAccountTokenProjection | None = None


class ProjectedVolumeSource(KubeModel):
    sources: list[VolumeProjection] | None = None
    default_mode: int | None = None


class Volume(KubeModel):
    """A pod volume; sources tinykube does not mount (nfs, csi...) stay in extra."""

    name: str
    config_map: ConfigMapVolumeSource | None = None
    secret: SecretVolumeSource | None = None
    empty_dir: EmptyDirVolumeSource | None = None
    host_path: HostPathVolumeSource | None = None
    persistent_volume_claim: PersistentVolumeClaimVolumeSource | None = None
    downward_api: DownwardAPIVolumeSource | None = Field(None, alias="downwardAPI")
    projected: ProjectedVolumeSource | None = None


# --- pods --------------------------------------------------------------------------


class Toleration(KubeModel):
    key: str | None = None
    operator: str | None = None
    value: str | None = None
    effect: str | None = None
    toleration_seconds: int | None = None

    def tolerates_taint(self, taint: Taint) -> bool:
        """Effect (empty = any effect), then key (empty key with Exists = any taint), then
        operator: Exists matches any value, Equal (the default) needs the same value."""
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        operator = self.operator or "Equal"
        if operator == "Exists":
            return True
        if operator == "Equal":
            return bool(self.key) and (self.value or "") == (taint.value or "")
        return False


class NodeSelectorRequirement(KubeModel):
    key: str
    operator: str
    values: list[str] | None = None


class NodeSelectorTerm(KubeModel):
    """Requirements ANDed: on labels (matchExpressions) and on fields (matchFields)."""

    match_expressions: list[NodeSelectorRequirement] | None = None
    match_fields: list[NodeSelectorRequirement] | None = None


class NodeSelector(KubeModel):
    """Terms ORed."""

    node_selector_terms: list[NodeSelectorTerm] | None = None


class PreferredSchedulingTerm(KubeModel):
    weight: int
    preference: NodeSelectorTerm


class NodeAffinity(KubeModel):
    required_during_scheduling_ignored_during_execution: NodeSelector | None = None
    preferred_during_scheduling_ignored_during_execution: list[PreferredSchedulingTerm] | None = None


class Affinity(KubeModel):
    """Only nodeAffinity is declared; podAffinity and podAntiAffinity ride along in extra."""

    node_affinity: NodeAffinity | None = None


class PodDNSConfigOption(KubeModel):
    name: str | None = None
    value: str | None = None


class PodDNSConfig(KubeModel):
    nameservers: list[str] | None = None
    searches: list[str] | None = None
    options: list[PodDNSConfigOption] | None = None


class PodSpec(KubeModel):
    containers: list[Container] = Field(default_factory=list)
    init_containers: list[Container] | None = None
    volumes: list[Volume] | None = None
    restart_policy: str | None = None
    termination_grace_period_seconds: int | None = None
    active_deadline_seconds: int | None = None
    dns_policy: str | None = None
    node_selector: dict[str, str] | None = None
    service_account_name: str | None = None
    automount_service_account_token: bool | None = None
    node_name: str | None = None
    host_network: bool | None = None
    host_pid: bool | None = Field(None, alias="hostPID")
    host_ipc: bool | None = Field(None, alias="hostIPC")
    image_pull_secrets: list[LocalObjectReference] | None = None
    hostname: str | None = None
    subdomain: str | None = None
    affinity: Affinity | None = None
    scheduler_name: str | None = None
    tolerations: list[Toleration] | None = None
    priority_class_name: str | None = None
    priority: int | None = None
    enable_service_links: bool | None = None
    overhead: dict[str, Quantity] | None = None
    dns_config: PodDNSConfig | None = None
    security_context: PodSecurityContext | None = None


class PodCondition(Condition):
    last_probe_time: str | None = None


class ContainerStateWaiting(KubeModel):
    reason: str | None = None
    message: str | None = None


class ContainerStateRunning(KubeModel):
    started_at: str | None = None


class ContainerStateTerminated(KubeModel):
    exit_code: int
    signal: int | None = None
    reason: str | None = None
    message: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    container_id: str | None = Field(None, alias="containerID")


class ContainerState(KubeModel):
    """At most one of waiting, running, terminated is set."""

    waiting: ContainerStateWaiting | None = None
    running: ContainerStateRunning | None = None
    terminated: ContainerStateTerminated | None = None


class ContainerStatus(KubeModel):
    name: str
    state: ContainerState | None = None
    last_state: ContainerState | None = None
    ready: bool = False
    restart_count: int = 0
    image: str = ""
    image_id: str = Field("", alias="imageID")
    container_id: str | None = Field(None, alias="containerID")
    started: bool | None = None


class PodIP(KubeModel):
    ip: str


class PodStatus(KubeModel):
    phase: str | None = None
    conditions: list[PodCondition] | None = None
    message: str | None = None
    reason: str | None = None
    nominated_node_name: str | None = None
    host_ip: str | None = Field(None, alias="hostIP")
    host_ips: list[PodIP] | None = Field(None, alias="hostIPs")
    pod_ip: str | None = Field(None, alias="podIP")
    pod_ips: list[PodIP] | None = Field(None, alias="podIPs")
    start_time: str | None = None
    init_container_statuses: list[ContainerStatus] | None = None
    container_statuses: list[ContainerStatus] | None = None
    qos_class: str | None = None


class Pod(KubeObject):
    api_version: str = "v1"
    kind: str = "Pod"
    spec: PodSpec | None = None
    status: PodStatus | None = None


class PodTemplateSpec(KubeModel):
    metadata: ObjectMeta | None = None
    spec: PodSpec | None = None


class ReplicationControllerSpec(KubeModel):
    """The v1 ancestor of ReplicaSetSpec: `selector` is a plain label map, and
    defaults (in the API server) to the template's labels."""

    replicas: int | None = None
    min_ready_seconds: int | None = None
    selector: dict[str, str] | None = None
    template: PodTemplateSpec | None = None


class ReplicationControllerCondition(Condition):
    pass


class ReplicationControllerStatus(KubeModel):
    replicas: int = 0
    fully_labeled_replicas: int | None = None
    ready_replicas: int | None = None
    available_replicas: int | None = None
    observed_generation: int | None = None
    conditions: list[ReplicationControllerCondition] | None = None


class ReplicationController(KubeObject):
    api_version: str = "v1"
    kind: str = "ReplicationController"
    spec: ReplicationControllerSpec | None = None
    status: ReplicationControllerStatus | None = None


def pod_is_ready(pod: Pod) -> bool:
    """Whether the pod's Ready condition is True (podutil.IsPodReady)."""
    ready = get_condition(pod.status.conditions if pod.status else None, "Ready")
    return ready is not None and ready.status == ConditionStatus.TRUE


def pod_is_available(pod: Pod, min_ready_seconds: int, now_epoch_seconds: float) -> bool:
    """Ready for at least min_ready_seconds by `now` (podutil.IsPodAvailable)."""
    if not pod_is_ready(pod) or pod.status is None:
        return False
    ready = get_condition(pod.status.conditions, "Ready")
    if min_ready_seconds <= 0:
        return True
    if ready is None or not ready.last_transition_time:
        return False
    since = parse_rfc3339(ready.last_transition_time).timestamp()
    return since + min_ready_seconds <= now_epoch_seconds


def pod_is_terminal(pod: Pod) -> bool:
    """Succeeded or Failed: the pod will never run again."""
    phase = pod.status.phase if pod.status else None
    return phase in (PodPhase.SUCCEEDED, PodPhase.FAILED)


# --- nodes and namespaces ----------------------------------------------------------


class Taint(KubeModel):
    key: str
    value: str | None = None
    effect: str
    time_added: str | None = None


class NodeSpec(KubeModel):
    pod_cidr: str | None = Field(None, alias="podCIDR")
    pod_cidrs: list[str] | None = Field(None, alias="podCIDRs")
    provider_id: str | None = Field(None, alias="providerID")
    unschedulable: bool | None = None
    taints: list[Taint] | None = None


class NodeCondition(Condition):
    last_heartbeat_time: str | None = None


class NodeAddress(KubeModel):
    type: str
    address: str


class NodeSystemInfo(KubeModel):
    machine_id: str = Field("", alias="machineID")
    system_uuid: str = Field("", alias="systemUUID")
    boot_id: str = Field("", alias="bootID")
    kernel_version: str = ""
    os_image: str = ""
    container_runtime_version: str = ""
    kubelet_version: str = ""
    kube_proxy_version: str = ""
    operating_system: str = ""
    architecture: str = ""


class ContainerImage(KubeModel):
    names: list[str] | None = None
    size_bytes: int | None = None


class DaemonEndpoint(KubeModel):
    port: int | None = Field(None, alias="Port")  # capitalized on the wire, as upstream


class NodeDaemonEndpoints(KubeModel):
    kubelet_endpoint: DaemonEndpoint | None = None


class NodeStatus(KubeModel):
    capacity: dict[str, Quantity] | None = None
    allocatable: dict[str, Quantity] | None = None
    phase: str | None = None
    conditions: list[NodeCondition] | None = None
    addresses: list[NodeAddress] | None = None
    node_info: NodeSystemInfo | None = None
    images: list[ContainerImage] | None = None
    daemon_endpoints: NodeDaemonEndpoints | None = None


class Node(KubeObject):
    api_version: str = "v1"
    kind: str = "Node"
    spec: NodeSpec | None = None
    status: NodeStatus | None = None


class NamespaceSpec(KubeModel):
    finalizers: list[str] | None = None


class NamespaceCondition(Condition):
    pass


class NamespaceStatus(KubeModel):
    phase: str | None = None
    conditions: list[NamespaceCondition] | None = None


class Namespace(KubeObject):
    api_version: str = "v1"
    kind: str = "Namespace"
    spec: NamespaceSpec | None = None
    status: NamespaceStatus | None = None


# --- services and endpoints --------------------------------------------------------


class ServicePort(KubeModel):
    name: str | None = None
    protocol: str | None = None
    app_protocol: str | None = None
    port: int
    target_port: IntOrString | None = None
    node_port: int | None = None


class ClientIPConfig(KubeModel):
    timeout_seconds: int | None = None


class SessionAffinityConfig(KubeModel):
    client_ip: ClientIPConfig | None = Field(None, alias="clientIP")


class ServiceSpec(KubeModel):
    type: str | None = None
    selector: dict[str, str] | None = None
    ports: list[ServicePort] | None = None
    cluster_ip: str | None = Field(None, alias="clusterIP")
    cluster_ips: list[str] | None = Field(None, alias="clusterIPs")
    external_ips: list[str] | None = Field(None, alias="externalIPs")
    external_name: str | None = None
    session_affinity: str | None = None
    session_affinity_config: SessionAffinityConfig | None = None
    external_traffic_policy: str | None = None
    internal_traffic_policy: str | None = None
    health_check_node_port: int | None = None
    publish_not_ready_addresses: bool | None = None
    ip_families: list[str] | None = None
    ip_family_policy: str | None = None
    load_balancer_ip: str | None = Field(None, alias="loadBalancerIP")


class PortStatus(KubeModel):
    port: int
    protocol: str
    error: str | None = None


class LoadBalancerIngress(KubeModel):
    ip: str | None = None
    hostname: str | None = None
    ports: list[PortStatus] | None = None


class LoadBalancerStatus(KubeModel):
    ingress: list[LoadBalancerIngress] | None = None


class ServiceStatus(KubeModel):
    load_balancer: LoadBalancerStatus | None = None
    conditions: list[Condition] | None = None


class Service(KubeObject):
    api_version: str = "v1"
    kind: str = "Service"
    spec: ServiceSpec | None = None
    status: ServiceStatus | None = None


class EndpointAddress(KubeModel):
    ip: str
    hostname: str | None = None
    node_name: str | None = None
    target_ref: ObjectReference | None = None


class EndpointPort(KubeModel):
    name: str | None = None
    port: int
    protocol: str | None = None
    app_protocol: str | None = None


class EndpointSubset(KubeModel):
    addresses: list[EndpointAddress] | None = None
    not_ready_addresses: list[EndpointAddress] | None = None
    ports: list[EndpointPort] | None = None


class Endpoints(KubeObject):
    api_version: str = "v1"
    kind: str = "Endpoints"
    subsets: list[EndpointSubset] | None = None


# --- configuration and identity ----------------------------------------------------


class ConfigMap(KubeObject):
    api_version: str = "v1"
    kind: str = "ConfigMap"
    data: dict[str, str] | None = None
    binary_data: dict[str, str] | None = None
    immutable: bool | None = None


class Secret(KubeObject):
    """`data` values are base64 strings; `stringData` is write-only plain text."""

    api_version: str = "v1"
    kind: str = "Secret"
    type: str | None = None
    data: dict[str, str] | None = None
    string_data: dict[str, str] | None = None
    immutable: bool | None = None


class ServiceAccount(KubeObject):
    api_version: str = "v1"
    kind: str = "ServiceAccount"
    secrets: list[ObjectReference] | None = None
    image_pull_secrets: list[LocalObjectReference] | None = None
    automount_service_account_token: bool | None = None


class EventSource(KubeModel):
    component: str | None = None
    host: str | None = None


class Event(KubeObject):
    """core/v1 Event; `eventTime` is a MicroTime ("...T04:15:16.123456Z")."""

    api_version: str = "v1"
    kind: str = "Event"
    involved_object: ObjectReference = Field(default_factory=ObjectReference)
    reason: str | None = None
    message: str | None = None
    type: str | None = None
    count: int | None = None
    first_timestamp: str | None = None
    last_timestamp: str | None = None
    event_time: str | None = None
    source: EventSource | None = None
    action: str | None = None
    related: ObjectReference | None = None
    reporting_component: str | None = None
    reporting_instance: str | None = None


class Binding(KubeObject):
    """The body of POST pods/<name>/binding: the scheduler's decision."""

    api_version: str = "v1"
    kind: str = "Binding"
    target: ObjectReference = Field(default_factory=ObjectReference)
