"""Field-number tables for the Kubernetes protobuf messages the API server decodes.

kubectl's typed `create` generators (`kubectl create deployment/configmap/secret/
namespace/service/serviceaccount/ingress`) send their bodies as Kubernetes protobuf,
and so do its typed DELETEs (DeleteOptions) and `kubectl drain` (policy/v1 Eviction).
The decoder in `apiserver.protobuf` walks the wire bytes; this module tells it, for each
message type, what every field number means: its JSON name, its kind, whether it
repeats, and whether it is a Go pointer (a zero value that is present is kept).

The field numbers are wire facts taken from k8s.io/api and k8s.io/apimachinery's
generated.proto files (the versions kubectl 1.27-1.33 are built from). Every message
listed here is complete, so an unknown number is really unknown, never a field we
forgot. Field types a message names but this table does not list (most volume plugins,
ephemeral containers, volume claim templates) are rejected by the decoder with a
message naming the field, so a user learns what is unsupported.

Table syntax, one string per message: `<number> <jsonName>[:<type>]` separated by
commas, where type is empty (a string), `int`, `bool`, `bytes`, a message name,
`[t]` (repeated t), `{t}` (a map from string to t) and a trailing `?` marks a Go
pointer. The JSON name `...` marks an embedded struct that JSON inlines
(`json:",inline"`), such as Volume's VolumeSource.

Kubernetes counterpart: staging/src/k8s.io/api/*/v1/generated.proto,
staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto
"""

from __future__ import annotations

from dataclasses import dataclass

from apiserver.protobuf_schema_rbac import RBAC_MESSAGES, RBAC_ROOT_MESSAGES
from tinykube.api.resources import INDEX

# Message types with a JSON form of their own rather than an object of fields.
# Time and MicroTime are {1: seconds, 2: nanos}; Quantity is {1: string};
# IntOrString is {1: type, 2: intVal, 3: strVal}; FieldsV1 and RawExtension are
# {1: raw JSON bytes}.
SCALAR_MESSAGES: frozenset[str] = frozenset(
    {"Time", "MicroTime", "Quantity", "IntOrString", "FieldsV1", "RawExtension"})

WIRE_KINDS: frozenset[str] = frozenset({"str", "int", "bool", "bytes"})

MESSAGES: dict[str, str] = {
    "ObjectMeta": (
        "1 name, 2 generateName, 3 namespace, 4 selfLink, 5 uid, 6 resourceVersion, "
        "7 generation:int, 8 creationTimestamp:Time, 9 deletionTimestamp:Time, "
        "10 deletionGracePeriodSeconds:int?, 11 labels:{str}, 12 annotations:{str}, "
        "13 ownerReferences:[OwnerReference], 14 finalizers:[str], "
        "17 managedFields:[ManagedFieldsEntry]"),
    "OwnerReference": (
        "1 kind, 3 name, 4 uid, 5 apiVersion, 6 controller:bool?, 7 blockOwnerDeletion:bool?"),
    "ManagedFieldsEntry": (
        "1 manager, 2 operation, 3 apiVersion, 4 time:Time, 6 fieldsType, 7 fieldsV1:FieldsV1, "
        "8 subresource"),
    "LabelSelector": "1 matchLabels:{str}, 2 matchExpressions:[LabelSelectorRequirement]",
    "LabelSelectorRequirement": "1 key, 2 operator, 3 values:[str]",
    "Condition": (
        "1 type, 2 status, 3 observedGeneration:int, 4 lastTransitionTime:Time, 5 reason, "
        "6 message"),
    "Namespace": "1 metadata:ObjectMeta, 2 spec:NamespaceSpec, 3 status:NamespaceStatus",
    "NamespaceSpec": "1 finalizers:[str]",
    "NamespaceStatus": "1 phase, 2 conditions:[NamespaceCondition]",
    "NamespaceCondition": "1 type, 2 status, 4 lastTransitionTime:Time, 5 reason, 6 message",
    "ConfigMap": "1 metadata:ObjectMeta, 2 data:{str}, 3 binaryData:{bytes}, 4 immutable:bool?",
    "Secret": (
        "1 metadata:ObjectMeta, 2 data:{bytes}, 3 type, 4 stringData:{str}, 5 immutable:bool?"),
    "ServiceAccount": (
        "1 metadata:ObjectMeta, 2 secrets:[ObjectReference], "
        "3 imagePullSecrets:[LocalObjectReference], 4 automountServiceAccountToken:bool?"),
    "ObjectReference": (
        "1 kind, 2 namespace, 3 name, 4 uid, 5 apiVersion, 6 resourceVersion, 7 fieldPath"),
    "LocalObjectReference": "1 name",
    "Service": "1 metadata:ObjectMeta, 2 spec:ServiceSpec, 3 status:ServiceStatus",
    "ServiceSpec": (
        "1 ports:[ServicePort], 2 selector:{str}, 3 clusterIP, 4 type, 5 externalIPs:[str], "
        "7 sessionAffinity, 8 loadBalancerIP, 9 loadBalancerSourceRanges:[str], 10 externalName, "
        "11 externalTrafficPolicy, 12 healthCheckNodePort:int, 13 publishNotReadyAddresses:bool, "
        "14 sessionAffinityConfig:SessionAffinityConfig, 17 ipFamilyPolicy:str?, "
        "18 clusterIPs:[str], 19 ipFamilies:[str], 20 allocateLoadBalancerNodePorts:bool?, "
        "21 loadBalancerClass:str?, 22 internalTrafficPolicy:str?, 23 trafficDistribution:str?"),
    "ServicePort": (
        "1 name, 2 protocol, 3 port:int, 4 targetPort:IntOrString, 5 nodePort:int, "
        "6 appProtocol:str?"),
    "SessionAffinityConfig": "1 clientIP:ClientIPConfig",
    "ClientIPConfig": "1 timeoutSeconds:int?",
    "ServiceStatus": "1 loadBalancer:LoadBalancerStatus, 2 conditions:[Condition]",
    "LoadBalancerStatus": "1 ingress:[LoadBalancerIngress]",
    "LoadBalancerIngress": "1 ip, 2 hostname, 3 ipMode:str?, 4 ports:[PortStatus]",
    "PortStatus": "1 port:int, 2 protocol, 3 error:str?",
    "PodTemplateSpec": "1 metadata:ObjectMeta, 2 spec:PodSpec",
    "PodSpec": (
        "1 volumes:[Volume], 2 containers:[Container], 3 restartPolicy, "
        "4 terminationGracePeriodSeconds:int?, 5 activeDeadlineSeconds:int?, 6 dnsPolicy, "
        "7 nodeSelector:{str}, 8 serviceAccountName, 9 serviceAccount, 10 nodeName, "
        "11 hostNetwork:bool, 12 hostPID:bool, 13 hostIPC:bool, "
        "14 securityContext:PodSecurityContext, 15 imagePullSecrets:[LocalObjectReference], "
        "16 hostname, 17 subdomain, 18 affinity:Affinity, 19 schedulerName, "
        "20 initContainers:[Container], 21 automountServiceAccountToken:bool?, "
        "22 tolerations:[Toleration], 23 hostAliases:[HostAlias], 24 priorityClassName, "
        "25 priority:int?, 26 dnsConfig:PodDNSConfig, 27 shareProcessNamespace:bool?, "
        "28 readinessGates:[PodReadinessGate], 29 runtimeClassName:str?, "
        "30 enableServiceLinks:bool?, 31 preemptionPolicy:str?, 32 overhead:{Quantity}, "
        "33 topologySpreadConstraints:[TopologySpreadConstraint], "
        "34 ephemeralContainers:[EphemeralContainer], 35 setHostnameAsFQDN:bool?, 36 os:PodOS, "
        "37 hostUsers:bool?, 38 schedulingGates:[PodSchedulingGate], "
        "39 resourceClaims:[PodResourceClaim], 40 resources:ResourceRequirements"),
    "Container": (
        "1 name, 2 image, 3 command:[str], 4 args:[str], 5 workingDir, 6 ports:[ContainerPort], "
        "7 env:[EnvVar], 8 resources:ResourceRequirements, 9 volumeMounts:[VolumeMount], "
        "10 livenessProbe:Probe, 11 readinessProbe:Probe, 12 lifecycle:Lifecycle, "
        "13 terminationMessagePath, 14 imagePullPolicy, 15 securityContext:SecurityContext, "
        "16 stdin:bool, 17 stdinOnce:bool, 18 tty:bool, 19 envFrom:[EnvFromSource], "
        "20 terminationMessagePolicy, 21 volumeDevices:[VolumeDevice], 22 startupProbe:Probe, "
        "23 resizePolicy:[ContainerResizePolicy], 24 restartPolicy:str?"),
    "ContainerPort": "1 name, 2 hostPort:int, 3 containerPort:int, 4 protocol, 5 hostIP",
    "EnvVar": "1 name, 2 value, 3 valueFrom:EnvVarSource",
    "EnvVarSource": (
        "1 fieldRef:ObjectFieldSelector, 2 resourceFieldRef:ResourceFieldSelector, "
        "3 configMapKeyRef:ConfigMapKeySelector, 4 secretKeyRef:SecretKeySelector"),
    "ObjectFieldSelector": "1 apiVersion, 2 fieldPath",
    "ResourceFieldSelector": "1 containerName, 2 resource, 3 divisor:Quantity",
    "ConfigMapKeySelector": "1 ...:LocalObjectReference, 2 key, 3 optional:bool?",
    "SecretKeySelector": "1 ...:LocalObjectReference, 2 key, 3 optional:bool?",
    "EnvFromSource": "1 prefix, 2 configMapRef:ConfigMapEnvSource, 3 secretRef:SecretEnvSource",
    "ConfigMapEnvSource": "1 ...:LocalObjectReference, 2 optional:bool?",
    "SecretEnvSource": "1 ...:LocalObjectReference, 2 optional:bool?",
    "ResourceRequirements": "1 limits:{Quantity}, 2 requests:{Quantity}, 3 claims:[ResourceClaim]",
    "ResourceClaim": "1 name, 2 request",
    "ContainerResizePolicy": "1 resourceName, 2 restartPolicy",
    "VolumeMount": (
        "1 name, 2 readOnly:bool, 3 mountPath, 4 subPath, 5 mountPropagation:str?, 6 subPathExpr, "
        "7 recursiveReadOnly:str?"),
    "VolumeDevice": "1 name, 2 devicePath",
    "Probe": (
        "1 ...:ProbeHandler, 2 initialDelaySeconds:int, 3 timeoutSeconds:int, "
        "4 periodSeconds:int, 5 successThreshold:int, 6 failureThreshold:int, "
        "7 terminationGracePeriodSeconds:int?"),
    "ProbeHandler": (
        "1 exec:ExecAction, 2 httpGet:HTTPGetAction, 3 tcpSocket:TCPSocketAction, "
        "4 grpc:GRPCAction"),
    "ExecAction": "1 command:[str]",
    "HTTPGetAction": "1 path, 2 port:IntOrString, 3 host, 4 scheme, 5 httpHeaders:[HTTPHeader]",
    "HTTPHeader": "1 name, 2 value",
    "TCPSocketAction": "1 port:IntOrString, 2 host",
    "GRPCAction": "1 port:int, 2 service:str?",
    "Lifecycle": "1 postStart:LifecycleHandler, 2 preStop:LifecycleHandler, 3 stopSignal:str?",
    "LifecycleHandler": (
        "1 exec:ExecAction, 2 httpGet:HTTPGetAction, 3 tcpSocket:TCPSocketAction, "
        "4 sleep:SleepAction"),
    "SleepAction": "1 seconds:int",
    "SecurityContext": (
        "1 capabilities:Capabilities, 2 privileged:bool?, 3 seLinuxOptions:SELinuxOptions, "
        "4 runAsUser:int?, 5 runAsNonRoot:bool?, 6 readOnlyRootFilesystem:bool?, "
        "7 allowPrivilegeEscalation:bool?, 8 runAsGroup:int?, 9 procMount:str?, "
        "10 windowsOptions:WindowsSecurityContextOptions, 11 seccompProfile:SeccompProfile, "
        "12 appArmorProfile:AppArmorProfile"),
    "Capabilities": "1 add:[str], 2 drop:[str]",
    "SELinuxOptions": "1 user, 2 role, 3 type, 4 level",
    "SeccompProfile": "1 type, 2 localhostProfile:str?",
    "AppArmorProfile": "1 type, 2 localhostProfile:str?",
    "WindowsSecurityContextOptions": (
        "1 gmsaCredentialSpecName:str?, 2 gmsaCredentialSpec:str?, 3 runAsUserName:str?, "
        "4 hostProcess:bool?"),
    "PodSecurityContext": (
        "1 seLinuxOptions:SELinuxOptions, 2 runAsUser:int?, 3 runAsNonRoot:bool?, "
        "4 supplementalGroups:[int], 5 fsGroup:int?, 6 runAsGroup:int?, 7 sysctls:[Sysctl], "
        "8 windowsOptions:WindowsSecurityContextOptions, 9 fsGroupChangePolicy:str?, "
        "10 seccompProfile:SeccompProfile, 11 appArmorProfile:AppArmorProfile, "
        "12 supplementalGroupsPolicy:str?, 13 seLinuxChangePolicy:str?"),
    "Sysctl": "1 name, 2 value",
    "Toleration": "1 key, 2 operator, 3 value, 4 effect, 5 tolerationSeconds:int?",
    "Affinity": (
        "1 nodeAffinity:NodeAffinity, 2 podAffinity:PodAffinity, "
        "3 podAntiAffinity:PodAntiAffinity"),
    "NodeAffinity": (
        "1 requiredDuringSchedulingIgnoredDuringExecution:NodeSelector, "
        "2 preferredDuringSchedulingIgnoredDuringExecution:[PreferredSchedulingTerm]"),
    "NodeSelector": "1 nodeSelectorTerms:[NodeSelectorTerm]",
    "NodeSelectorTerm": (
        "1 matchExpressions:[NodeSelectorRequirement], 2 matchFields:[NodeSelectorRequirement]"),
    "NodeSelectorRequirement": "1 key, 2 operator, 3 values:[str]",
    "PreferredSchedulingTerm": "1 weight:int, 2 preference:NodeSelectorTerm",
    "PodAffinity": (
        "1 requiredDuringSchedulingIgnoredDuringExecution:[PodAffinityTerm], "
        "2 preferredDuringSchedulingIgnoredDuringExecution:[WeightedPodAffinityTerm]"),
    "PodAntiAffinity": (
        "1 requiredDuringSchedulingIgnoredDuringExecution:[PodAffinityTerm], "
        "2 preferredDuringSchedulingIgnoredDuringExecution:[WeightedPodAffinityTerm]"),
    "PodAffinityTerm": (
        "1 labelSelector:LabelSelector, 2 namespaces:[str], 3 topologyKey, "
        "4 namespaceSelector:LabelSelector, 5 matchLabelKeys:[str], 6 mismatchLabelKeys:[str]"),
    "WeightedPodAffinityTerm": "1 weight:int, 2 podAffinityTerm:PodAffinityTerm",
    "TopologySpreadConstraint": (
        "1 maxSkew:int, 2 topologyKey, 3 whenUnsatisfiable, 4 labelSelector:LabelSelector, "
        "5 minDomains:int?, 6 nodeAffinityPolicy:str?, 7 nodeTaintsPolicy:str?, "
        "8 matchLabelKeys:[str]"),
    "HostAlias": "1 ip, 2 hostnames:[str]",
    "PodDNSConfig": "1 nameservers:[str], 2 searches:[str], 3 options:[PodDNSConfigOption]",
    "PodDNSConfigOption": "1 name, 2 value:str?",
    "PodReadinessGate": "1 conditionType",
    "PodOS": "1 name",
    "PodSchedulingGate": "1 name",
    "Volume": "1 name, 2 ...:VolumeSource",
    "VolumeSource": (
        "1 hostPath:HostPathVolumeSource, 2 emptyDir:EmptyDirVolumeSource, "
        "3 gcePersistentDisk:GCEPersistentDiskVolumeSource, "
        "4 awsElasticBlockStore:AWSElasticBlockStoreVolumeSource, 5 gitRepo:GitRepoVolumeSource, "
        "6 secret:SecretVolumeSource, 7 nfs:NFSVolumeSource, 8 iscsi:ISCSIVolumeSource, "
        "9 glusterfs:GlusterfsVolumeSource, "
        "10 persistentVolumeClaim:PersistentVolumeClaimVolumeSource, 11 rbd:RBDVolumeSource, "
        "12 flexVolume:FlexVolumeSource, 13 cinder:CinderVolumeSource, "
        "14 cephfs:CephFSVolumeSource, 15 flocker:FlockerVolumeSource, "
        "16 downwardAPI:DownwardAPIVolumeSource, 17 fc:FCVolumeSource, "
        "18 azureFile:AzureFileVolumeSource, 19 configMap:ConfigMapVolumeSource, "
        "20 vsphereVolume:VsphereVirtualDiskVolumeSource, 21 quobyte:QuobyteVolumeSource, "
        "22 azureDisk:AzureDiskVolumeSource, "
        "23 photonPersistentDisk:PhotonPersistentDiskVolumeSource, "
        "24 portworxVolume:PortworxVolumeSource, 25 scaleIO:ScaleIOVolumeSource, "
        "26 projected:ProjectedVolumeSource, 27 storageos:StorageOSVolumeSource, "
        "28 csi:CSIVolumeSource, 29 ephemeral:EphemeralVolumeSource, 30 image:ImageVolumeSource"),
    "HostPathVolumeSource": "1 path, 2 type:str?",
    "EmptyDirVolumeSource": "1 medium, 2 sizeLimit:Quantity?",
    "SecretVolumeSource": (
        "1 secretName, 2 items:[KeyToPath], 3 defaultMode:int?, 4 optional:bool?"),
    "KeyToPath": "1 key, 2 path, 3 mode:int?",
    "ConfigMapVolumeSource": (
        "1 ...:LocalObjectReference, 2 items:[KeyToPath], 3 defaultMode:int?, 4 optional:bool?"),
    "PersistentVolumeClaimVolumeSource": "1 claimName, 2 readOnly:bool",
    "DownwardAPIVolumeSource": "1 items:[DownwardAPIVolumeFile], 2 defaultMode:int?",
    "DownwardAPIVolumeFile": (
        "1 path, 2 fieldRef:ObjectFieldSelector, 3 resourceFieldRef:ResourceFieldSelector, "
        "4 mode:int?"),
    "ProjectedVolumeSource": "1 sources:[VolumeProjection], 2 defaultMode:int?",
    "VolumeProjection": (
        "1 secret:SecretProjection, 2 downwardAPI:DownwardAPIProjection, "
        "3 configMap:ConfigMapProjection, 4 serviceAccountToken:ServiceAccountTokenProjection, "
        "5 clusterTrustBundle:ClusterTrustBundleProjection"),
    "SecretProjection": "1 ...:LocalObjectReference, 2 items:[KeyToPath], 4 optional:bool?",
    "ConfigMapProjection": "1 ...:LocalObjectReference, 2 items:[KeyToPath], 4 optional:bool?",
    "DownwardAPIProjection": "1 items:[DownwardAPIVolumeFile]",
    "ServiceAccountTokenProjection": "1 audience, 2 expirationSeconds:int?, 3 path",
    "TypedLocalObjectReference": "1 apiGroup:str?, 2 kind, 3 name",
    "Deployment": "1 metadata:ObjectMeta, 2 spec:DeploymentSpec, 3 status:DeploymentStatus",
    "DeploymentSpec": (
        "1 replicas:int?, 2 selector:LabelSelector, 3 template:PodTemplateSpec, "
        "4 strategy:DeploymentStrategy, 5 minReadySeconds:int, 6 revisionHistoryLimit:int?, "
        "7 paused:bool, 9 progressDeadlineSeconds:int?"),
    "DeploymentStrategy": "1 type, 2 rollingUpdate:RollingUpdateDeployment",
    "RollingUpdateDeployment": "1 maxUnavailable:IntOrString?, 2 maxSurge:IntOrString?",
    "DeploymentStatus": (
        "1 observedGeneration:int, 2 replicas:int, 3 updatedReplicas:int, "
        "4 availableReplicas:int, 5 unavailableReplicas:int, 6 conditions:[DeploymentCondition], "
        "7 readyReplicas:int, 8 collisionCount:int?, 9 terminatingReplicas:int?"),
    "DeploymentCondition": (
        "1 type, 2 status, 4 reason, 5 message, 6 lastUpdateTime:Time, 7 lastTransitionTime:Time"),
    "ReplicaSet": "1 metadata:ObjectMeta, 2 spec:ReplicaSetSpec, 3 status:ReplicaSetStatus",
    "ReplicaSetSpec": (
        "1 replicas:int?, 2 selector:LabelSelector, 3 template:PodTemplateSpec, "
        "4 minReadySeconds:int"),
    "ReplicaSetStatus": (
        "1 replicas:int, 2 fullyLabeledReplicas:int, 3 observedGeneration:int, "
        "4 readyReplicas:int, 5 availableReplicas:int, 6 conditions:[ReplicaSetCondition], "
        "7 terminatingReplicas:int?"),
    "ReplicaSetCondition": "1 type, 2 status, 3 lastTransitionTime:Time, 4 reason, 5 message",
    "StatefulSet": "1 metadata:ObjectMeta, 2 spec:StatefulSetSpec, 3 status:StatefulSetStatus",
    "StatefulSetSpec": (
        "1 replicas:int?, 2 selector:LabelSelector, 3 template:PodTemplateSpec, "
        "4 volumeClaimTemplates:[PersistentVolumeClaim], 5 serviceName, 6 podManagementPolicy, "
        "7 updateStrategy:StatefulSetUpdateStrategy, 8 revisionHistoryLimit:int?, "
        "9 minReadySeconds:int, "
        "10 persistentVolumeClaimRetentionPolicy:StatefulSetPersistentVolumeClaimRetentionPolicy, "
        "11 ordinals:StatefulSetOrdinals"),
    "StatefulSetUpdateStrategy": "1 type, 2 rollingUpdate:RollingUpdateStatefulSetStrategy",
    "RollingUpdateStatefulSetStrategy": "1 partition:int?, 2 maxUnavailable:IntOrString?",
    "StatefulSetPersistentVolumeClaimRetentionPolicy": "1 whenDeleted, 2 whenScaled",
    "StatefulSetOrdinals": "1 start:int",
    "StatefulSetStatus": (
        "1 observedGeneration:int, 2 replicas:int, 3 readyReplicas:int, 4 currentReplicas:int, "
        "5 updatedReplicas:int, 6 currentRevision, 7 updateRevision, 9 collisionCount:int?, "
        "10 conditions:[StatefulSetCondition], 11 availableReplicas:int"),
    "StatefulSetCondition": "1 type, 2 status, 3 lastTransitionTime:Time, 4 reason, 5 message",
    "DaemonSet": "1 metadata:ObjectMeta, 2 spec:DaemonSetSpec, 3 status:DaemonSetStatus",
    "DaemonSetSpec": (
        "1 selector:LabelSelector, 2 template:PodTemplateSpec, "
        "3 updateStrategy:DaemonSetUpdateStrategy, 4 minReadySeconds:int, "
        "6 revisionHistoryLimit:int?"),
    "DaemonSetUpdateStrategy": "1 type, 2 rollingUpdate:RollingUpdateDaemonSet",
    "RollingUpdateDaemonSet": "1 maxUnavailable:IntOrString?, 2 maxSurge:IntOrString?",
    "DaemonSetStatus": (
        "1 currentNumberScheduled:int, 2 numberMisscheduled:int, 3 desiredNumberScheduled:int, "
        "4 numberReady:int, 5 observedGeneration:int, 6 updatedNumberScheduled:int, "
        "7 numberAvailable:int, 8 numberUnavailable:int, 9 collisionCount:int?, "
        "10 conditions:[DaemonSetCondition]"),
    "DaemonSetCondition": "1 type, 2 status, 3 lastTransitionTime:Time, 4 reason, 5 message",
    "Ingress": "1 metadata:ObjectMeta, 2 spec:IngressSpec, 3 status:IngressStatus",
    "IngressSpec": (
        "1 defaultBackend:IngressBackend, 2 tls:[IngressTLS], 3 rules:[IngressRule], "
        "4 ingressClassName:str?"),
    "IngressRuleValue": "1 http:HTTPIngressRuleValue",
    "IngressBackend": "3 resource:TypedLocalObjectReference, 4 service:IngressServiceBackend",
    "IngressServiceBackend": "1 name, 2 port:ServiceBackendPort",
    "ServiceBackendPort": "1 name, 2 number:int",
    "IngressTLS": "1 hosts:[str], 2 secretName",
    "IngressRule": "1 host, 2 ...:IngressRuleValue",
    "HTTPIngressRuleValue": "1 paths:[HTTPIngressPath]",
    "HTTPIngressPath": "1 path, 2 backend:IngressBackend, 3 pathType:str?",
    "IngressStatus": "1 loadBalancer:IngressLoadBalancerStatus",
    "IngressLoadBalancerStatus": "1 ingress:[IngressLoadBalancerIngress]",
    "IngressLoadBalancerIngress": "1 ip, 2 hostname, 4 ports:[IngressPortStatus]",
    "IngressPortStatus": "1 port:int, 2 protocol, 3 error:str?",
    # meta.k8s.io/v1 DeleteOptions: kubectl's typed clients send it with every DELETE.
    "DeleteOptions": (
        "1 gracePeriodSeconds:int?, 2 preconditions:Preconditions, 3 orphanDependents:bool?, "
        "4 propagationPolicy:str?, 5 dryRun:[str], "
        "6 ignoreStoreReadErrorWithClusterBreakingPotential:bool?"),
    "Preconditions": "1 uid:str?, 2 resourceVersion:str?",
    # policy/v1
    "Eviction": "1 metadata:ObjectMeta, 2 deleteOptions:DeleteOptions",
    # authentication.k8s.io/v1 (kubectl create token)
    "TokenRequest": "1 metadata:ObjectMeta, 2 spec:TokenRequestSpec, 3 status:TokenRequestStatus",
    "TokenRequestSpec": ("1 audiences:[str], 3 boundObjectRef:BoundObjectReference, "
                         "4 expirationSeconds:int?"),
    "BoundObjectReference": "1 kind, 2 apiVersion, 3 name, 4 uid",
    "TokenRequestStatus": "1 token, 2 expirationTimestamp:Time",
    "PodDisruptionBudget": (
        "1 metadata:ObjectMeta, 2 spec:PodDisruptionBudgetSpec, 3 status:PodDisruptionBudgetStatus"),
    "PodDisruptionBudgetSpec": (
        "1 minAvailable:IntOrString?, 2 selector:LabelSelector, 3 maxUnavailable:IntOrString?, "
        "4 unhealthyPodEvictionPolicy:str?"),
    "PodDisruptionBudgetStatus": (
        "1 observedGeneration:int, 2 disruptedPods:{Time}, 3 disruptionsAllowed:int, "
        "4 currentHealthy:int, 5 desiredHealthy:int, 6 expectedPods:int, 7 conditions:[Condition]"),
    # batch/v1: `kubectl create job` and `kubectl create cronjob` send these.
    "Job": "1 metadata:ObjectMeta, 2 spec:JobSpec, 3 status:JobStatus",
    "JobSpec": (
        "1 parallelism:int?, 2 completions:int?, 3 activeDeadlineSeconds:int?, "
        "4 selector:LabelSelector, 5 manualSelector:bool?, 6 template:PodTemplateSpec, "
        "7 backoffLimit:int?, 8 ttlSecondsAfterFinished:int?, 9 completionMode:str?, "
        "10 suspend:bool?, 11 podFailurePolicy:PodFailurePolicy, 12 backoffLimitPerIndex:int?, "
        "13 maxFailedIndexes:int?, 14 podReplacementPolicy:str?, 15 managedBy:str?, "
        "16 successPolicy:SuccessPolicy"),
    "JobStatus": (
        "1 conditions:[JobCondition], 2 startTime:Time, 3 completionTime:Time, 4 active:int, "
        "5 succeeded:int, 6 failed:int, 7 completedIndexes, 8 uncountedTerminatedPods:"
        "UncountedTerminatedPods, 9 ready:int?, 10 failedIndexes:str?, 11 terminating:int?"),
    "JobCondition": (
        "1 type, 2 status, 3 lastProbeTime:Time, 4 lastTransitionTime:Time, 5 reason, 6 message"),
    "UncountedTerminatedPods": "1 succeeded:[str], 2 failed:[str]",
    "PodFailurePolicy": "1 rules:[PodFailurePolicyRule]",
    "PodFailurePolicyRule": (
        "1 action, 2 onExitCodes:PodFailurePolicyOnExitCodesRequirement, "
        "3 onPodConditions:[PodFailurePolicyOnPodConditionsPattern]"),
    "PodFailurePolicyOnExitCodesRequirement": "1 containerName:str?, 2 operator, 3 values:[int]",
    "PodFailurePolicyOnPodConditionsPattern": "1 type, 2 status",
    "SuccessPolicy": "1 rules:[SuccessPolicyRule]",
    "SuccessPolicyRule": "1 succeededIndexes:str?, 2 succeededCount:int?",
    "CronJob": "1 metadata:ObjectMeta, 2 spec:CronJobSpec, 3 status:CronJobStatus",
    "CronJobSpec": (
        "1 schedule, 2 startingDeadlineSeconds:int?, 3 concurrencyPolicy, 4 suspend:bool?, "
        "5 jobTemplate:JobTemplateSpec, 6 successfulJobsHistoryLimit:int?, "
        "7 failedJobsHistoryLimit:int?, 8 timeZone:str?"),
    "JobTemplateSpec": "1 metadata:ObjectMeta, 2 spec:JobSpec",
    "CronJobStatus": (
        "1 active:[ObjectReference], 4 lastScheduleTime:Time, 5 lastSuccessfulTime:Time"),
    # autoscaling/v1: `kubectl autoscale` (1.32) sends its HorizontalPodAutoscaler so
    "V1HorizontalPodAutoscaler": (
        "1 metadata:ObjectMeta, 2 spec:V1HorizontalPodAutoscalerSpec, 3 status:V1HorizontalPodAutoscalerStatus"),
    "V1HorizontalPodAutoscalerSpec": (
        "1 scaleTargetRef:CrossVersionObjectReference, 2 minReplicas:int?, 3 maxReplicas:int, "
        "4 targetCPUUtilizationPercentage:int?"),
    "CrossVersionObjectReference": "1 kind, 2 name, 3 apiVersion",
    "V1HorizontalPodAutoscalerStatus": (
        "1 observedGeneration:int?, 2 lastScaleTime:Time?, 3 currentReplicas:int, 4 desiredReplicas:int, "
        "5 currentCPUUtilizationPercentage:int?"),
    # certificates.k8s.io/v1 (`kubectl certificate approve|deny` sends the whole object)
    "CertificateSigningRequest": (
        "1 metadata:ObjectMeta, 2 spec:CertificateSigningRequestSpec, 3 status:CertificateSigningRequestStatus"),
    "CertificateSigningRequestSpec": (
        "1 request:bytes, 2 username, 3 uid, 4 groups:[str], 5 usages:[str], 6 extra:{ExtraValue}, "
        "7 signerName, 8 expirationSeconds:int?"),
    "ExtraValue": "1 items:[str]",
    "CertificateSigningRequestStatus": "1 conditions:[CertificateSigningRequestCondition], 2 certificate:bytes",
    "CertificateSigningRequestCondition": (
        "1 type, 2 reason, 3 message, 4 lastUpdateTime:Time, 5 lastTransitionTime:Time, 6 status"),
}

# (apiVersion, kind) of a runtime.Unknown envelope -> the message of its raw bytes.
# Only kinds this server serves are listed.
ROOT_MESSAGES: dict[tuple[str, str], str] = {
    ("v1", "Namespace"): "Namespace",
    ("v1", "ConfigMap"): "ConfigMap",
    ("v1", "Secret"): "Secret",
    ("v1", "Service"): "Service",
    ("v1", "ServiceAccount"): "ServiceAccount",
    ("apps/v1", "Deployment"): "Deployment",
    ("apps/v1", "ReplicaSet"): "ReplicaSet",
    ("apps/v1", "StatefulSet"): "StatefulSet",
    ("apps/v1", "DaemonSet"): "DaemonSet",
    ("networking.k8s.io/v1", "Ingress"): "Ingress",
    ("policy/v1", "PodDisruptionBudget"): "PodDisruptionBudget",
    ("policy/v1", "Eviction"): "Eviction",
    ("authentication.k8s.io/v1", "TokenRequest"): "TokenRequest",
    ("batch/v1", "Job"): "Job",
    ("batch/v1", "CronJob"): "CronJob",
    ("autoscaling/v1", "HorizontalPodAutoscaler"): "V1HorizontalPodAutoscaler",
    ("certificates.k8s.io/v1", "CertificateSigningRequest"): "CertificateSigningRequest",
    # A typed client sends DeleteOptions under its own group version (a pods client
    # "v1", a deployments client "apps/v1"), or under meta.k8s.io/v1.
    ("meta.k8s.io/v1", "DeleteOptions"): "DeleteOptions",
    **{(f"{group}/{version}" if group else version, "DeleteOptions"): "DeleteOptions"
       for group, version in INDEX.group_versions()},
}


@dataclass(frozen=True)
class Field:
    """One field of a message, as the decoder needs it.

    - `kind` is one of WIRE_KINDS or a message name (SCALAR_MESSAGES included).
    - `map_value` is set for `map<string, T>` fields: entries are {1: key, 2: value}.
    - `pointer` fields keep zero values; the others are Go values that the
      protobuf encoder always writes, so their zero value means "not set".
    - `inline` fields merge their message into the parent's JSON object.
    """

    json_name: str
    kind: str
    repeated: bool = False
    map_value: bool = False
    pointer: bool = False
    inline: bool = False


def parse_message(spec: str) -> dict[int, Field]:
    fields: dict[int, Field] = {}
    for token in (t.strip() for t in spec.split(",")):
        number_text, _, rest = token.partition(" ")
        name, _, kind = rest.partition(":")
        pointer = kind.endswith("?")
        kind = kind.rstrip("?")
        repeated = kind.startswith("[")
        map_value = kind.startswith("{")
        kind = kind.strip("[]{}") or "str"
        fields[int(number_text)] = Field(name, kind, repeated, map_value, pointer,
                                         inline=name == "...")
    return fields


MESSAGES.update(RBAC_MESSAGES)
ROOT_MESSAGES.update(RBAC_ROOT_MESSAGES)
SCHEMA: dict[str, dict[int, Field]] = {
    name: parse_message(spec) for name, spec in MESSAGES.items()}
