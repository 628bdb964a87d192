"""The kinds outside core and apps: Ingress, HorizontalPodAutoscaler, Scale, Lease, storage.

networking.k8s.io/v1 Ingress, autoscaling/v2 HorizontalPodAutoscaler (and the
autoscaling/v1 Scale subresource body), coordination.k8s.io/v1 Lease (leader election,
node heartbeats), and storage: storage.k8s.io/v1 StorageClass with the core/v1
PersistentVolume and PersistentVolumeClaim it provisions. Lease times are MicroTime
strings ("2026-11-26T04:15:16.123456Z"); quantities in metric targets stay as written.

Kubernetes counterpart: staging/src/k8s.io/api/{networking,autoscaling,coordination,storage}/
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from tinykube.api.core import HostPathVolumeSource, ObjectReference, ResourceRequirements
from tinykube.api.meta import Condition, KubeModel, KubeObject, LabelSelector, Quantity

# --- networking.k8s.io/v1 ----------------------------------------------------------


class ServiceBackendPort(KubeModel):
    """Exactly one of name and number."""

    name: str | None = None
    number: int | None = None


class IngressServiceBackend(KubeModel):
    name: str
    port: ServiceBackendPort | None = None


class IngressBackend(KubeModel):
    service: IngressServiceBackend | None = None
    resource: dict[str, Any] | None = None


class HTTPIngressPath(KubeModel):
    path: str | None = None
    path_type: str | None = None
    backend: IngressBackend


class HTTPIngressRuleValue(KubeModel):
    paths: list[HTTPIngressPath] = Field(default_factory=list)


class IngressRule(KubeModel):
    host: str | None = None
    http: HTTPIngressRuleValue | None = None


class IngressTLS(KubeModel):
    hosts: list[str] | None = None
    secret_name: str | None = None


class IngressSpec(KubeModel):
    ingress_class_name: str | None = None
    default_backend: IngressBackend | None = None
    tls: list[IngressTLS] | None = None
    rules: list[IngressRule] | None = None


class IngressPortStatus(KubeModel):
    port: int
    protocol: str
    error: str | None = None


class IngressLoadBalancerIngress(KubeModel):
    ip: str | None = None
    hostname: str | None = None
    ports: list[IngressPortStatus] | None = None


class IngressLoadBalancerStatus(KubeModel):
    ingress: list[IngressLoadBalancerIngress] | None = None


class IngressStatus(KubeModel):
    load_balancer: IngressLoadBalancerStatus | None = None


class Ingress(KubeObject):
    api_version: str = "networking.k8s.io/v1"
    kind: str = "Ingress"
    spec: IngressSpec | None = None
    status: IngressStatus | None = None


class IngressClassParametersReference(KubeModel):
    api_group: str | None = None
    kind: str
    name: str
    namespace: str | None = None
    scope: str | None = None


class IngressClassSpec(KubeModel):
    controller: str | None = None
    parameters: IngressClassParametersReference | None = None


class IngressClass(KubeObject):
    """Which controller serves Ingresses naming this class; the annotation
    `ingressclass.kubernetes.io/is-default-class: "true"` makes it the class of
    Ingresses that name none."""

    api_version: str = "networking.k8s.io/v1"
    kind: str = "IngressClass"
    spec: IngressClassSpec | None = None


# --- autoscaling -------------------------------------------------------------------


class CrossVersionObjectReference(KubeModel):
    api_version: str | None = None
    kind: str
    name: str


class MetricTarget(KubeModel):
    type: str
    value: Quantity | None = None
    average_value: Quantity | None = None
    average_utilization: int | None = None


class ResourceMetricSource(KubeModel):
    name: str
    target: MetricTarget


class MetricSpec(KubeModel):
    """`resource` is typed; pods/object/external/containerResource stay raw."""

    type: str
    resource: ResourceMetricSource | None = None
    pods: dict[str, Any] | None = None
    object: dict[str, Any] | None = None
    external: dict[str, Any] | None = None
    container_resource: dict[str, Any] | None = None


class HPAScalingPolicy(KubeModel):
    type: str
    value: int
    period_seconds: int


class HPAScalingRules(KubeModel):
    stabilization_window_seconds: int | None = None
    select_policy: str | None = None
    policies: list[HPAScalingPolicy] | None = None


class HorizontalPodAutoscalerBehavior(KubeModel):
    scale_up: HPAScalingRules | None = None
    scale_down: HPAScalingRules | None = None


class HorizontalPodAutoscalerSpec(KubeModel):
    scale_target_ref: CrossVersionObjectReference
    min_replicas: int | None = None
    max_replicas: int
    metrics: list[MetricSpec] | None = None
    behavior: HorizontalPodAutoscalerBehavior | None = None


class MetricValueStatus(KubeModel):
    value: Quantity | None = None
    average_value: Quantity | None = None
    average_utilization: int | None = None


class ResourceMetricStatus(KubeModel):
    name: str
    current: MetricValueStatus


class MetricStatus(KubeModel):
    type: str
    resource: ResourceMetricStatus | None = None
    pods: dict[str, Any] | None = None
    object: dict[str, Any] | None = None
    external: dict[str, Any] | None = None
    container_resource: dict[str, Any] | None = None


class HorizontalPodAutoscalerCondition(Condition):
    pass


class HorizontalPodAutoscalerStatus(KubeModel):
    observed_generation: int | None = None
    last_scale_time: str | None = None
    current_replicas: int | None = None
    desired_replicas: int
    current_metrics: list[MetricStatus] | None = None
    conditions: list[HorizontalPodAutoscalerCondition] | None = None


class HorizontalPodAutoscaler(KubeObject):
    api_version: str = "autoscaling/v2"
    kind: str = "HorizontalPodAutoscaler"
    spec: HorizontalPodAutoscalerSpec | None = None
    status: HorizontalPodAutoscalerStatus | None = None


class ScaleSpec(KubeModel):
    replicas: int | None = None


class ScaleStatus(KubeModel):
    """`selector` is the label selector in its string form ("app=web,tier=fe")."""

    replicas: int
    selector: str | None = None


class Scale(KubeObject):
    """The body of the /scale subresource (autoscaling/v1)."""

    api_version: str = "autoscaling/v1"
    kind: str = "Scale"
    spec: ScaleSpec | None = None
    status: ScaleStatus | None = None


# --- apiregistration.k8s.io/v1 -----------------------------------------------------


class APIServiceServiceReference(KubeModel):
    namespace: str | None = None
    name: str | None = None
    port: int | None = None


class APIServiceSpec(KubeModel):
    """No `service`: served by this API server ("Local"); tinykube has no other kind."""

    group: str | None = None
    version: str | None = None
    group_priority_minimum: int
    version_priority: int
    service: APIServiceServiceReference | None = None
    insecure_skip_tls_verify: bool | None = Field(None, alias="insecureSkipTLSVerify")
    ca_bundle: str | None = None


class APIServiceCondition(Condition):
    pass


class APIServiceStatus(KubeModel):
    conditions: list[APIServiceCondition] | None = None


class APIService(KubeObject):
    """A group version the API server serves (apiserver/apiservices.py keeps them)."""

    api_version: str = "apiregistration.k8s.io/v1"
    kind: str = "APIService"
    spec: APIServiceSpec | None = None
    status: APIServiceStatus | None = None


# --- coordination.k8s.io/v1 --------------------------------------------------------


class LeaseSpec(KubeModel):
    holder_identity: str | None = None
    lease_duration_seconds: int | None = None
    acquire_time: str | None = None
    renew_time: str | None = None
    lease_transitions: int | None = None


class Lease(KubeObject):
    api_version: str = "coordination.k8s.io/v1"
    kind: str = "Lease"
    spec: LeaseSpec | None = None


# --- storage -----------------------------------------------------------------------


class StorageClass(KubeObject):
    api_version: str = "storage.k8s.io/v1"
    kind: str = "StorageClass"
    provisioner: str = ""
    parameters: dict[str, str] | None = None
    reclaim_policy: str | None = None
    mount_options: list[str] | None = None
    allow_volume_expansion: bool | None = None
    volume_binding_mode: str | None = None


class LocalVolumeSource(KubeModel):
    path: str


class PersistentVolumeSpec(KubeModel):
    capacity: dict[str, Quantity] | None = None
    access_modes: list[str] | None = None
    claim_ref: ObjectReference | None = None
    persistent_volume_reclaim_policy: str | None = None
    storage_class_name: str | None = None
    mount_options: list[str] | None = None
    volume_mode: str | None = None
    host_path: HostPathVolumeSource | None = None
    local: LocalVolumeSource | None = None
    node_affinity: dict[str, Any] | None = None


class PersistentVolumeStatus(KubeModel):
    phase: str | None = None
    message: str | None = None
    reason: str | None = None


class PersistentVolume(KubeObject):
    api_version: str = "v1"
    kind: str = "PersistentVolume"
    spec: PersistentVolumeSpec | None = None
    status: PersistentVolumeStatus | None = None


class PersistentVolumeClaimSpec(KubeModel):
    access_modes: list[str] | None = None
    selector: LabelSelector | None = None
    resources: ResourceRequirements | None = None
    volume_name: str | None = None
    storage_class_name: str | None = None
    volume_mode: str | None = None


class PersistentVolumeClaimCondition(Condition):
    last_probe_time: str | None = None


class PersistentVolumeClaimStatus(KubeModel):
    phase: str | None = None
    access_modes: list[str] | None = None
    capacity: dict[str, Quantity] | None = None
    conditions: list[PersistentVolumeClaimCondition] | None = None


class PersistentVolumeClaim(KubeObject):
    api_version: str = "v1"
    kind: str = "PersistentVolumeClaim"
    spec: PersistentVolumeClaimSpec | None = None
    status: PersistentVolumeClaimStatus | None = None
