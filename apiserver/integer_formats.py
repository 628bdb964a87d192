"""Which integer fields are 64-bit: the one fact about integers the Python client loses.

Kubernetes declares every integer field of its API as Go `int32` or `int64`, and the
JSON decoder refuses a number that does not fit (`replicas: 9223372036854775808` is a
400 BadRequest, never stored). The official Python client types both as `int`, so the
schema would not know the range. Most fields are int32; the table below lists the
int64 ones (generations, UIDs and GIDs, durations in seconds, byte sizes), read from
the Go types of k8s.io/api and k8s.io/apimachinery, by client model name and
camelCase JSON field. Every other integer field is int32.

Kubernetes counterpart: staging/src/k8s.io/api/*/*/types.go,
staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/types.go
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

INT32_RANGE = (-(2**31), 2**31 - 1)
INT64_RANGE = (-(2**63), 2**63 - 1)

INT64_FIELDS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "StorageV1TokenRequest": ("expirationSeconds",),
    "V1CSIDriverSpec": ("nodeAllocatableUpdatePeriodSeconds",),
    "V1ClusterTrustBundleProjection": ("user",),
    "V1Condition": ("observedGeneration",),
    "V1ConfigMapVolumeSource": ("defaultUser",),
    "V1ContainerImage": ("sizeBytes",),
    "V1ControllerRevision": ("revision",),
    "V1CronJobSpec": ("startingDeadlineSeconds",),
    "V1CustomResourceDefinitionCondition": ("observedGeneration",),
    "V1CustomResourceDefinitionStatus": ("observedGeneration",),
    "V1DaemonSetStatus": ("observedGeneration",),
    "V1DeleteOptions": ("gracePeriodSeconds",),
    "V1DeploymentStatus": ("observedGeneration",),
    "V1DeviceAttribute": ("int", "ints"),
    "V1DeviceSubRequest": ("count",),
    "V1DeviceToleration": ("tolerationSeconds",),
    "V1DownwardAPIVolumeFile": ("user",),
    "V1DownwardAPIVolumeSource": ("defaultUser",),
    "V1ExactDeviceRequest": ("count",),
    "V1HorizontalPodAutoscalerStatus": ("observedGeneration",),
    "V1JSONSchemaProps": ("maxItems", "maxLength", "maxProperties", "minItems", "minLength",
                          "minProperties"),
    "V1JobSpec": ("activeDeadlineSeconds",),
    "V1KeyToPath": ("user",),
    "V1LinuxContainerUser": ("gid", "supplementalGroups", "uid"),
    "V1ListMeta": ("remainingItemCount",),
    "V1NodeSwapStatus": ("capacity",),
    "V1ObjectMeta": ("deletionGracePeriodSeconds", "generation"),
    "V1PodCertificateProjection": ("user",),
    "V1PodCondition": ("observedGeneration",),
    "V1PodDisruptionBudgetStatus": ("observedGeneration",),
    "V1PodSecurityContext": ("fsGroup", "runAsGroup", "runAsUser", "supplementalGroups"),
    "V1PodSpec": ("activeDeadlineSeconds", "terminationGracePeriodSeconds"),
    "V1PodStatus": ("observedGeneration",),
    "V1Probe": ("terminationGracePeriodSeconds",),
    "V1ProjectedVolumeSource": ("defaultUser",),
    "V1ReplicaSetStatus": ("observedGeneration",),
    "V1ReplicationControllerStatus": ("observedGeneration",),
    "V1ResourcePool": ("generation", "resourceSliceCount"),
    "V1SecretVolumeSource": ("defaultUser",),
    "V1SecurityContext": ("runAsGroup", "runAsUser"),
    "V1ServiceAccountTokenProjection": ("expirationSeconds", "user"),
    "V1SleepAction": ("seconds",),
    "V1StatefulSetStatus": ("observedGeneration",),
    "V1TokenRequestSpec": ("expirationSeconds",),
    "V1Toleration": ("tolerationSeconds",),
    "V1ValidatingAdmissionPolicyStatus": ("observedGeneration",),
    "V1alpha1EvictionRequestStatus": ("observedGeneration",),
    "V1alpha1EvictionStatus": ("observedGeneration",),
    "V1alpha1StorageVersionCondition": ("observedGeneration",),
    "V1alpha3PoolStatus": ("generation",),
    "V1beta1DeviceAttribute": ("int", "ints"),
    "V1beta1DeviceRequest": ("count",),
    "V1beta1DeviceSubRequest": ("count",),
    "V1beta1DeviceToleration": ("tolerationSeconds",),
    "V1beta1ResourcePool": ("generation", "resourceSliceCount"),
    "V1beta2DeviceAttribute": ("int", "ints"),
    "V1beta2DeviceSubRequest": ("count",),
    "V1beta2DeviceToleration": ("tolerationSeconds",),
    "V1beta2ExactDeviceRequest": ("count",),
    "V1beta2ResourcePool": ("generation", "resourceSliceCount"),
    "V2HorizontalPodAutoscalerCondition": ("observedGeneration",),
    "V2HorizontalPodAutoscalerStatus": ("observedGeneration",),
})


def integer_format(model: str, json_name: str) -> str:
    """"int64" or "int32", the OpenAPI format of an integer field of `model`."""
    return "int64" if json_name in INT64_FIELDS.get(model, ()) else "int32"


def integer_range(fmt: str | None) -> tuple[int, int]:
    return INT64_RANGE if fmt == "int64" else INT32_RANGE
