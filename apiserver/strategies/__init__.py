"""Which Strategy each kind uses.

Kubernetes counterpart: pkg/registry/*/*/strategy.go (one per kind)
"""

from __future__ import annotations

from apiserver.allocator import Allocator
from apiserver.strategies.apiservice import APIServiceStrategy
from apiserver.apiextensions.crd_strategy import CustomResourceDefinitionStrategy
from apiserver.strategies.certificates import CertificateSigningRequestStrategy
from apiserver.strategies.config import ConfigMapStrategy, SecretStrategy
from apiserver.strategies.endpointslice import EndpointSliceStrategy
from apiserver.strategies.event import EventsV1Strategy
from apiserver.strategies.job import CronJobStrategy, JobStrategy
from apiserver.strategies.horizontalpodautoscaler import HorizontalPodAutoscalerStrategy
from apiserver.strategies.namespace import NamespaceStrategy
from apiserver.strategies.pod import PodStrategy
from apiserver.strategies.poddisruptionbudget import PodDisruptionBudgetStrategy
from apiserver.strategies.rbac import RoleBindingStrategy, RoleStrategy
from apiserver.strategies.replicationcontroller import ReplicationControllerStrategy
from apiserver.strategies.service import ServiceStrategy
from apiserver.strategies.storage import PersistentVolumeClaimStrategy, PersistentVolumeStrategy
from apiserver.strategies.workload import WorkloadStrategy
from apiserver.strategy import Strategy
from tinykube.api.resources import ResourceInfo


class NodeStrategy(Strategy):
    # The kubelet registers its Node with status (capacity, addresses) in one create.
    keeps_status_on_create = True


def strategy_for(info: ResourceInfo, service_ips: Allocator, node_ports: Allocator) -> Strategy:
    if info.kind == "Pod":
        return PodStrategy(info)
    if info.kind == "Service":
        return ServiceStrategy(info, service_ips, node_ports)
    if info.kind == "Namespace":
        return NamespaceStrategy(info)
    if info.kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
        return WorkloadStrategy(info)
    if info.kind == "ReplicationController":
        return ReplicationControllerStrategy(info)
    if (info.group, info.kind) == ("events.k8s.io", "Event"):
        return EventsV1Strategy(info)
    if info.kind == "APIService":
        return APIServiceStrategy(info)
    if info.kind == "EndpointSlice":
        return EndpointSliceStrategy(info)
    if info.kind == "ConfigMap":
        return ConfigMapStrategy(info)
    if info.kind == "Secret":
        return SecretStrategy(info)
    if info.kind == "Node":
        return NodeStrategy(info)
    if info.kind == "PodDisruptionBudget":
        return PodDisruptionBudgetStrategy(info)
    if info.kind == "Job":
        return JobStrategy(info)
    if info.kind == "CronJob":
        return CronJobStrategy(info)
    if info.kind == "PersistentVolumeClaim":
        return PersistentVolumeClaimStrategy(info)
    if info.kind == "PersistentVolume":
        return PersistentVolumeStrategy(info)
    if info.kind == "HorizontalPodAutoscaler":
        return HorizontalPodAutoscalerStrategy(info)
    if info.kind == "CustomResourceDefinition" and info.group == "apiextensions.k8s.io":
        return CustomResourceDefinitionStrategy(info)
    if info.group == "rbac.authorization.k8s.io":
        return RoleStrategy(info) if info.kind in ("Role", "ClusterRole") \
            else RoleBindingStrategy(info)
    if info.kind == "CertificateSigningRequest":
        return CertificateSigningRequestStrategy(info)
    return Strategy(info)
