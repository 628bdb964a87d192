"""Tests for the typed object model: exact round trips, wire names, helpers, registry."""

from __future__ import annotations

import copy
import inspect
import re
import typing
from typing import Any

import pytest
from pydantic import BaseModel

from tinykube.api import apps, core, meta, other, registry
from tinykube.api.apps import (
    DaemonSet,
    Deployment,
    DeploymentStrategyType,
    ReplicaSet,
    RollingUpdateDeployment,
    StatefulSet,
)
from tinykube.api.core import (
    Binding,
    ConfigMap,
    Container,
    ContainerPort,
    Endpoints,
    Event,
    ExecAction,
    Namespace,
    Node,
    Pod,
    PodCondition,
    PodPhase,
    PodSpec,
    PodStatus,
    Probe,
    Secret,
    Service,
    ServiceAccount,
    ServicePort,
    pod_is_available,
    pod_is_ready,
    pod_is_terminal,
)
from tinykube.api.meta import (
    DeleteOptions,
    KubeList,
    KubeModel,
    KubeObject,
    ObjectMeta,
    OwnerReference,
    Status,
    WatchEvent,
    format_rfc3339,
    get_condition,
    get_controller_of,
    is_controlled_by,
    meta_namespace_key,
    new_controller_ref,
    now_rfc3339,
    parse_rfc3339,
    split_meta_namespace_key,
)
from tinykube.api.other import (
    HorizontalPodAutoscaler,
    Ingress,
    Lease,
    PersistentVolume,
    PersistentVolumeClaim,
    Scale,
    StorageClass,
)

CREATED = "2026-11-26T04:15:16Z"
OWNER_RS = {
    "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d4f8c7b9", "uid": "rs-uid-1",
    "controller": True, "blockOwnerDeletion": True,
}
MANAGED = [{
    "manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "v1",
    "time": CREATED, "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {".": {}}}},
}]

POD_TEMPLATE: dict[str, Any] = {
    "metadata": {"labels": {"app": "web"}, "annotations": {"kubectl.kubernetes.io/restartedAt": CREATED}},
    "spec": {
        "containers": [{
            "name": "web",
            "image": "nginx:1.27",
            "imagePullPolicy": "IfNotPresent",
            "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": 1, "memory": "128Mi"}},
            "securityContext": {"runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}},
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
                               "periodSeconds": 5, "failureThreshold": 3},
        }],
        "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
            "weight": 100,
            "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                "labelSelector": {"matchLabels": {"app": "web"}}},
        }]}},
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway"}],
        "terminationGracePeriodSeconds": 30,
    },
}

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "web-5d4f8c7b9-abcde", "generateName": "web-5d4f8c7b9-", "namespace": "default",
        "uid": "pod-uid-1", "resourceVersion": "1234", "generation": 1, "creationTimestamp": CREATED,
        "labels": {"app": "web", "pod-template-hash": "5d4f8c7b9"},
        "ownerReferences": [OWNER_RS], "finalizers": ["example.com/protect"], "managedFields": MANAGED,
    },
    "spec": {
        "initContainers": [{"name": "init", "image": "busybox", "command": ["sh", "-c"], "args": ["true"]}],
        "containers": [{
            "name": "app",
            "image": "ghcr.io/example/app:1.0",
            "command": ["/app"],
            "args": ["--port=8080"],
            "workingDir": "/srv",
            "env": [
                {"name": "MODE", "value": "prod"},
                {"name": "POD_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}},
                {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                {"name": "LEVEL", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "level", "optional": True}}},
                {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
            ],
            "envFrom": [{"prefix": "CFG_", "configMapRef": {"name": "cfg"}}, {"secretRef": {"name": "db"}}],
            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP", "hostIP": "0.0.0.0", "hostPort": 8080}],
            "resources": {"requests": {"cpu": "250m", "memory": "128Mi", "nvidia.com/gpu": 1},
                          "limits": {"cpu": 0.5, "memory": "256Mi"}},
            "volumeMounts": [{"name": "data", "mountPath": "/data"},
                             {"name": "cfg", "mountPath": "/etc/cfg", "readOnly": True, "subPath": "app.yaml"}],
            "livenessProbe": {"exec": {"command": ["cat", "/tmp/healthy"]}, "initialDelaySeconds": 5,
                              "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
            "readinessProbe": {"tcpSocket": {"port": 8080}},
            "startupProbe": {"httpGet": {"path": "/started", "port": "http",
                                         "httpHeaders": [{"name": "X-Probe", "value": "1"}]}},
            "lifecycle": {"postStart": {"exec": {"command": ["touch", "/tmp/started"]}},
                          "preStop": {"httpGet": {"path": "/drain", "port": 8080}}},
            "imagePullPolicy": "Always",
            "securityContext": {"privileged": False, "readOnlyRootFilesystem": True,
                                "seLinuxOptions": {"level": "s0:c123,c456"}},
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
        }],
        "volumes": [
            {"name": "data", "persistentVolumeClaim": {"claimName": "data-0"}},
            {"name": "cfg", "configMap": {"name": "cfg", "items": [{"key": "app.yaml", "path": "app.yaml"}],
                                          "defaultMode": 420}},
            {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
            {"name": "host", "hostPath": {"path": "/var/log", "type": "Directory"}},
            {"name": "token", "secret": {"secretName": "tok", "optional": False}},
            {"name": "nfs", "nfs": {"server": "10.0.0.5", "path": "/exports"}},
        ],
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "serviceAccountName": "default",
        "nodeName": "node-1",
        "hostNetwork": False,
        "hostname": "web-0",
        "subdomain": "web",
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}]}}},
        "schedulerName": "default-scheduler",
        "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                         "tolerationSeconds": 300}],
        "priority": 0,
        "securityContext": {"fsGroup": 2000},
        "enableServiceLinks": True,
    },
    "status": {
        "phase": "Running",
        "conditions": [
            {"type": "Initialized", "status": "True", "lastProbeTime": CREATED,
             "lastTransitionTime": CREATED},
            {"type": "Ready", "status": "True", "lastTransitionTime": CREATED},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": CREATED},
        ],
        "hostIP": "192.168.1.10", "hostIPs": [{"ip": "192.168.1.10"}],
        "podIP": "10.244.1.7", "podIPs": [{"ip": "10.244.1.7"}, {"ip": "fd00::7"}],
        "startTime": CREATED,
        "initContainerStatuses": [{
            "name": "init", "ready": True, "restartCount": 0, "image": "busybox:latest",
            "imageID": "docker-pullable://busybox@sha256:abc", "containerID": "docker://111", "started": False,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": CREATED,
                                     "finishedAt": CREATED, "containerID": "docker://111"}},
        }],
        "containerStatuses": [{
            "name": "app", "ready": True, "restartCount": 2, "image": "ghcr.io/example/app:1.0",
            "imageID": "docker-pullable://ghcr.io/example/app@sha256:def", "containerID": "docker://222",
            "started": True,
            "state": {"running": {"startedAt": CREATED}},
            "lastState": {"terminated": {"exitCode": 137, "signal": 9, "reason": "OOMKilled", "message": "oom",
                                         "startedAt": CREATED, "finishedAt": CREATED}},
            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
        }],
        "qosClass": "Burstable",
        "reason": "",
        "message": "",
    },
    "someFutureField": {"x-kubernetes-preserve": True, "nested": [1, "two", {"three": 3.5}]},
}

MANIFESTS: list[tuple[type[KubeModel], dict[str, Any]]] = [
    (Namespace, {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "team-a", "labels": {"kubernetes.io/metadata.name": "team-a"}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Terminating", "conditions": [
            {"type": "NamespaceDeletionContentFailure", "status": "False", "reason": "ContentDeleted",
             "message": "All content successfully deleted", "lastTransitionTime": CREATED}]},
    }),
    (Node, {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "node-1", "labels": {"kubernetes.io/hostname": "node-1"},
                     "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
        "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"], "providerID": "tinykube://node-1",
                 "unschedulable": True,
                 "taints": [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule", "timeAdded": CREATED},
                            {"key": "gpu", "value": "true", "effect": "PreferNoSchedule"}]},
        "status": {
            "capacity": {"cpu": "4", "memory": "8130268Ki", "pods": "110", "ephemeral-storage": 50},
            "allocatable": {"cpu": "3800m", "memory": "7Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": CREATED,
                            "lastTransitionTime": CREATED, "reason": "KubeletReady",
                            "message": "kubelet is posting ready status"}],
            "addresses": [{"type": "InternalIP", "address": "192.168.1.10"}, {"type": "Hostname", "address": "node-1"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"machineID": "m", "systemUUID": "s", "bootID": "b", "kernelVersion": "6.1.0",
                         "osImage": "Debian GNU/Linux 12", "containerRuntimeVersion": "docker://27.0.3",
                         "kubeletVersion": "v1.31.0-tinykube", "kubeProxyVersion": "v1.31.0-tinykube",
                         "operatingSystem": "linux", "architecture": "amd64"},
            "images": [{"names": ["nginx@sha256:abc", "nginx:1.27"], "sizeBytes": 187654321}],
        },
    }),
    (Pod, POD),
    (Service, {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "type": "LoadBalancer", "selector": {"app": "web"},
            "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": "http", "nodePort": 30080},
                      {"name": "metrics", "port": 9090, "targetPort": 9090, "appProtocol": "http"}],
            "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "externalIPs": ["1.2.3.4"],
            "sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
            "externalTrafficPolicy": "Local", "internalTrafficPolicy": "Cluster", "healthCheckNodePort": 31000,
            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "allocateLoadBalancerNodePorts": True,
        },
        "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.7", "ipMode": "VIP"}]}},
    }),
    (Endpoints, {
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "subsets": [{
            "addresses": [{"ip": "10.244.1.7", "nodeName": "node-1", "hostname": "web-0",
                           "targetRef": {"kind": "Pod", "namespace": "default", "name": "web-0", "uid": "pod-uid-1"}}],
            "notReadyAddresses": [{"ip": "10.244.2.8", "nodeName": "node-2"}],
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        }],
    }),
    (ConfigMap, {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "default"},
        "data": {"level": "debug", "app.yaml": "a: 1\nb: [2]\n"}, "binaryData": {"logo.png": "iVBORw0KGgo="},
        "immutable": False,
    }),
    (Secret, {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "default"},
        "type": "Opaque", "data": {"password": "aHVudGVyMg=="}, "stringData": {"user": "admin"},
    }),
    (Event, {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "web-0.1880f1c2a3b4c5d6", "namespace": "default"},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": "default", "name": "web-0",
                           "uid": "pod-uid-1", "resourceVersion": "1234", "fieldPath": "spec.containers{app}"},
        "reason": "BackOff", "message": "Back-off restarting failed container", "type": "Warning",
        "count": 5, "firstTimestamp": CREATED, "lastTimestamp": CREATED,
        "source": {"component": "kubelet", "host": "node-1"},
        "reportingComponent": "kubelet", "reportingInstance": "node-1",
        "eventTime": "2026-11-26T04:15:16.123456Z", "action": "Restarting",
        "series": {"count": 2, "lastObservedTime": "2026-11-26T04:15:17.000001Z"},
    }),
    (PersistentVolume, {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": "pv-1", "finalizers": ["kubernetes.io/pv-protection"]},
        "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"],
                 "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "local",
                 "claimRef": {"kind": "PersistentVolumeClaim", "namespace": "default", "name": "data-0", "uid": "u"},
                 "hostPath": {"path": "/var/lib/tinykube/pv-1", "type": "DirectoryOrCreate"},
                 "volumeMode": "Filesystem", "mountOptions": ["noatime"],
                 "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                     {"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-1"]}]}]}}},
        "status": {"phase": "Bound", "lastPhaseTransitionTime": CREATED},
    }),
    (PersistentVolumeClaim, {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data-0", "namespace": "default",
                     "annotations": {"volume.kubernetes.io/selected-node": "node-1"}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}},
                 "storageClassName": "local", "volumeName": "pv-1", "volumeMode": "Filesystem",
                 "selector": {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["cold"]}]},
                 "dataSource": {"kind": "VolumeSnapshot", "name": "snap", "apiGroup": "snapshot.storage.k8s.io"}},
        "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "10Gi"},
                   "conditions": [{"type": "Resizing", "status": "True", "lastProbeTime": CREATED}]},
    }),
    (ServiceAccount, {
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "builder", "namespace": "ci"},
        "secrets": [{"name": "builder-token"}], "imagePullSecrets": [{"name": "regcred"}],
        "automountServiceAccountToken": False,
    }),
    (Deployment, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "generation": 3,
                     "annotations": {"deployment.kubernetes.io/revision": "2"}},
        "spec": {
            "replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": POD_TEMPLATE,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            "minReadySeconds": 5, "revisionHistoryLimit": 10, "paused": False, "progressDeadlineSeconds": 600,
        },
        "status": {
            "observedGeneration": 3, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 2,
            "availableReplicas": 2, "unavailableReplicas": 1, "terminatingReplicas": 0, "collisionCount": 1,
            "conditions": [{"type": "Available", "status": "False", "lastUpdateTime": CREATED,
                            "lastTransitionTime": CREATED, "reason": "MinimumReplicasUnavailable",
                            "message": "Deployment does not have minimum availability."}],
        },
    }),
    (ReplicaSet, {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web-5d4f8c7b9", "namespace": "default", "labels": {"app": "web"},
                     "ownerReferences": [{**OWNER_RS, "kind": "Deployment", "name": "web", "uid": "d-uid"}]},
        "spec": {"replicas": 3, "minReadySeconds": 0, "selector": {"matchLabels": {"app": "web"}},
                 "template": POD_TEMPLATE},
        "status": {"replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
                   "observedGeneration": 1,
                   "conditions": [{"type": "ReplicaFailure", "status": "False", "lastTransitionTime": CREATED}]},
    }),
    (StatefulSet, {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "default"},
        "spec": {
            "replicas": 2, "serviceName": "db", "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": {"app": "db"}}, "template": POD_TEMPLATE,
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1, "maxUnavailable": "50%"}},
            "volumeClaimTemplates": [{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                      "metadata": {"name": "data"},
                                      "spec": {"accessModes": ["ReadWriteOnce"],
                                               "resources": {"requests": {"storage": "1Gi"}}}}],
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Delete"},
            "revisionHistoryLimit": 10, "minReadySeconds": 0, "ordinals": {"start": 0},
        },
        "status": {"observedGeneration": 1, "replicas": 2, "readyReplicas": 2, "currentReplicas": 2,
                   "updatedReplicas": 2, "currentRevision": "db-7f9", "updateRevision": "db-7f9",
                   "collisionCount": 0, "availableReplicas": 2},
    }),
    (DaemonSet, {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "kube-proxy", "namespace": "kube-system"},
        "spec": {"selector": {"matchLabels": {"k8s-app": "kube-proxy"}}, "template": POD_TEMPLATE,
                 "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
                 "minReadySeconds": 0, "revisionHistoryLimit": 10},
        "status": {"currentNumberScheduled": 2, "numberMisscheduled": 0, "desiredNumberScheduled": 2,
                   "numberReady": 1, "observedGeneration": 1, "updatedNumberScheduled": 2, "numberAvailable": 1,
                   "numberUnavailable": 1},
    }),
    (Ingress, {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "web", "namespace": "default",
                     "annotations": {"nginx.ingress.kubernetes.io/rewrite-target": "/"}},
        "spec": {
            "ingressClassName": "nginx",
            "defaultBackend": {"service": {"name": "fallback", "port": {"number": 80}}},
            "tls": [{"hosts": ["web.example.com"], "secretName": "web-tls"}],
            "rules": [{"host": "web.example.com", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"name": "http"}}}},
                {"path": "/static", "pathType": "ImplementationSpecific",
                 "backend": {"resource": {"apiGroup": "k8s.example.com", "kind": "Bucket", "name": "static"}}},
            ]}}],
        },
        "status": {"loadBalancer": {"ingress": [{"hostname": "lb.example.com",
                                                 "ports": [{"port": 443, "protocol": "TCP"}]}]}},
    }),
    (HorizontalPodAutoscaler, {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1, "maxReplicas": 10,
            "metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                             "averageUtilization": 60}}},
                {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue",
                                                                                "averageValue": "500Mi"}}},
                {"type": "Pods", "pods": {"metric": {"name": "rps"},
                                          "target": {"type": "AverageValue", "averageValue": "1k"}}},
            ],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
                                       "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]},
                         "scaleUp": {"policies": [{"type": "Pods", "value": 4, "periodSeconds": 15}],
                                     "tolerance": "0.05"}},
        },
        "status": {
            "observedGeneration": 1, "lastScaleTime": CREATED, "currentReplicas": 2, "desiredReplicas": 3,
            "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {
                "averageUtilization": 75, "averageValue": "150m"}}}],
            "conditions": [{"type": "AbleToScale", "status": "True", "lastTransitionTime": CREATED,
                            "reason": "ReadyForNewScale"}],
        },
    }),
    (Lease, {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "node-1", "namespace": "kube-node-lease",
                     "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "node-1", "uid": "n-uid"}]},
        "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40,
                 "acquireTime": "2026-11-26T04:15:16.000000Z", "renewTime": "2026-11-26T04:15:56.123456Z",
                 "leaseTransitions": 0},
    }),
    (StorageClass, {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "local", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "tinykube.io/hostpath", "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer",
        "parameters": {"root": "/var/lib/tinykube"}, "allowVolumeExpansion": True, "mountOptions": ["noatime"],
        "allowedTopologies": [{"matchLabelExpressions": [{"key": "zone", "values": ["a"]}]}],
    }),
    (Scale, {
        "apiVersion": "autoscaling/v1", "kind": "Scale",
        "metadata": {"name": "web", "namespace": "default", "resourceVersion": "77"},
        "spec": {"replicas": 5}, "status": {"replicas": 3, "selector": "app=web"},
    }),
    (Binding, {
        "apiVersion": "v1", "kind": "Binding", "metadata": {"name": "web-0", "namespace": "default"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"},
    }),
    (Status, {
        "apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
        "message": 'Pod "web-0" is invalid: spec.containers[0].image: Required value',
        "reason": "Invalid", "code": 422,
        "details": {"name": "web-0", "kind": "Pod", "retryAfterSeconds": 1,
                    "causes": [{"reason": "FieldValueRequired", "message": "Required value",
                                "field": "spec.containers[0].image"}]},
    }),
    (DeleteOptions, {
        "apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
        "preconditions": {"uid": "pod-uid-1", "resourceVersion": "1234"},
        "propagationPolicy": "Foreground", "orphanDependents": False, "dryRun": ["All"],
    }),
]


@pytest.mark.parametrize(("model", "manifest"), MANIFESTS, ids=[m.__name__ for m, _ in MANIFESTS])
def test_round_trip_is_exact(model: type[KubeModel], manifest: dict[str, Any]) -> None:
    original = copy.deepcopy(manifest)
    obj = model.from_dict(manifest)
    assert type(obj) is model
    assert obj.to_dict() == original
    assert manifest == original  # parsing never mutates its input
    assert model.from_dict(obj.to_dict()).to_dict() == original


@pytest.mark.parametrize(("model", "manifest"), MANIFESTS, ids=[m.__name__ for m, _ in MANIFESTS])
def test_parse_object_picks_the_model(model: type[KubeModel], manifest: dict[str, Any]) -> None:
    obj = registry.parse_object(manifest)
    assert type(obj) is model
    assert obj.to_dict() == manifest
    assert registry.model_for(manifest["apiVersion"], manifest["kind"]) is model


@pytest.mark.parametrize(("model", "manifest"), MANIFESTS, ids=[m.__name__ for m, _ in MANIFESTS])
def test_kinds_default_api_version_and_kind(model: type[KubeModel], manifest: dict[str, Any]) -> None:
    wire = model().to_dict()
    assert (wire["apiVersion"], wire["kind"]) == (manifest["apiVersion"], manifest["kind"])


def test_unknown_fields_keep_camel_case_keys_and_content() -> None:
    pod = Pod.from_dict(POD)
    context = pod.spec.containers[0].security_context  # type: ignore[union-attr]
    assert context is not None and context.model_extra == {"seLinuxOptions": {"level": "s0:c123,c456"}}
    assert pod.model_extra is not None and pod.model_extra["someFutureField"]["nested"][2] == {"three": 3.5}
    # Extra survives a deep copy, and the copy is independent.
    clone = registry.deep_copy(pod)
    clone.spec.containers[0].security_context.model_extra["seLinuxOptions"]["level"] = "s0"  # type: ignore
    assert pod.to_dict() == POD


def test_typed_access_and_coercion_stays_sane() -> None:
    svc = Service.from_dict(MANIFESTS[3][1])
    ports = svc.spec.ports  # type: ignore[union-attr]
    assert ports is not None
    assert ports[0].target_port == "http" and isinstance(ports[0].target_port, str)
    assert ports[1].target_port == 9090 and isinstance(ports[1].target_port, int)
    assert ServicePort.from_dict({"port": 80, "targetPort": "8080"}).target_port == "8080"
    assert svc.spec.cluster_ip == "10.96.0.10"  # type: ignore[union-attr]

    pod = Pod.from_dict(POD)
    app = pod.spec.containers[0]  # type: ignore[union-attr]
    assert app.resources is not None and app.resources.requests == {
        "cpu": "250m", "memory": "128Mi", "nvidia.com/gpu": 1}
    assert app.resources.limits == {"cpu": 0.5, "memory": "256Mi"}
    assert app.liveness_probe is not None and app.liveness_probe.exec_ is not None
    assert app.liveness_probe.exec_.command == ["cat", "/tmp/healthy"]
    assert app.startup_probe is not None and app.startup_probe.http_get is not None
    assert app.startup_probe.http_get.port == "http"
    assert app.env is not None and app.env[1].value_from is not None
    assert app.env[1].value_from.field_ref is not None
    assert app.env[1].value_from.field_ref.field_path == "status.podIP"
    assert pod.status is not None and pod.status.pod_ips is not None
    assert [ip.ip for ip in pod.status.pod_ips] == ["10.244.1.7", "fd00::7"]
    assert pod.metadata.owner_references is not None
    assert pod.metadata.owner_references[0].block_owner_deletion is True

    deploy = Deployment.from_dict(MANIFESTS[11][1])
    strategy = deploy.spec.strategy  # type: ignore[union-attr]
    assert strategy is not None and strategy.rolling_update is not None
    assert strategy.rolling_update.max_surge == "25%" and strategy.rolling_update.max_unavailable == 0
    assert strategy.type == DeploymentStrategyType.ROLLING_UPDATE


def test_construct_by_python_name_dumps_camel_case() -> None:
    pod = Pod(
        metadata=ObjectMeta(name="p", namespace="default", generate_name="p-"),
        spec=PodSpec(
            containers=[Container(
                name="c", image="busybox",
                ports=[ContainerPort(container_port=80, host_ip="127.0.0.1")],
                liveness_probe=Probe(exec_=ExecAction(command=["true"]), period_seconds=3),
            )],
            node_name="node-1", host_pid=True,
        ),
        status=PodStatus(phase=PodPhase.PENDING),
    )
    assert pod.to_dict() == {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default", "generateName": "p-"},
        "spec": {
            "containers": [{"name": "c", "image": "busybox",
                            "ports": [{"containerPort": 80, "hostIP": "127.0.0.1"}],
                            "livenessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 3}}],
            "nodeName": "node-1", "hostPID": True,
        },
        "status": {"phase": "Pending"},
    }
    assert type(pod.to_dict()["status"]["phase"]) is str
    assert RollingUpdateDeployment(max_surge=1).to_dict() == {"maxSurge": 1}


def test_open_sets_keep_unknown_values() -> None:
    pod = Pod.from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                         "status": {"phase": "Hibernating", "qosClass": "Premium"}})
    assert pod.status is not None and pod.status.phase == "Hibernating"
    assert pod.status.phase != PodPhase.RUNNING
    assert pod.to_dict()["status"] == {"phase": "Hibernating", "qosClass": "Premium"}


def test_null_fields_are_dropped_as_kubernetes_treats_null_as_absent() -> None:
    # kubectl emits `creationTimestamp: null` in templates; it reads back as absent.
    template = {"metadata": {"name": "x", "creationTimestamp": None}, "spec": {"containers": []}}
    assert core.PodTemplateSpec.from_dict(template).to_dict() == {"metadata": {"name": "x"},
                                                                 "spec": {"containers": []}}


# --- registry ----------------------------------------------------------------------


def test_unknown_kind_becomes_kube_object_and_keeps_everything() -> None:
    crd = {"apiVersion": "example.com/v1", "kind": "Widget",
           "metadata": {"name": "w", "namespace": "default", "labels": {"a": "b"}},
           "spec": {"size": 3, "from": "x", "continue": True, "nested": {"not": [None, {"except": 1}]}}}
    obj = registry.parse_object(crd)
    assert type(obj) is KubeObject
    assert isinstance(obj, KubeObject) and obj.metadata.name == "w"
    assert obj.to_dict() == crd
    assert registry.model_for("example.com/v1", "Widget") is None


def test_parse_list_parses_items_by_kind() -> None:
    pod_list = {"apiVersion": "v1", "kind": "PodList",
                "metadata": {"resourceVersion": "99", "continue": "tok", "remainingItemCount": 4},
                "items": [POD]}
    parsed = registry.parse_object(pod_list)
    assert isinstance(parsed, KubeList)
    assert isinstance(parsed.items[0], Pod)
    assert parsed.metadata.continue_ == "tok" and parsed.metadata.resource_version == "99"
    assert parsed.to_dict() == pod_list

    widgets = {"apiVersion": "example.com/v1", "kind": "WidgetList", "metadata": {},
               "items": [{"metadata": {"name": "w"}, "spec": {"x": 1}}]}
    parsed_widgets = registry.parse_object(widgets)
    assert isinstance(parsed_widgets, KubeList) and type(parsed_widgets.items[0]) is KubeObject
    assert parsed_widgets.to_dict() == widgets
    assert KubeList[Pod].from_dict(pod_list).items[0].metadata.name == "web-5d4f8c7b9-abcde"


def test_watch_events() -> None:
    event = {"type": "MODIFIED", "object": POD}
    assert WatchEvent.from_dict(event).to_dict() == event
    kind, obj = registry.parse_watch_event(event)
    assert kind == "MODIFIED" and isinstance(obj, Pod)
    error = {"type": "ERROR", "object": {"apiVersion": "v1", "kind": "Status", "status": "Failure",
                                         "reason": "Expired", "code": 410, "message": "too old resource version"}}
    kind, status = registry.parse_watch_event(error)
    assert kind == "ERROR" and isinstance(status, Status) and status.code == 410


def test_registry_agrees_with_served_resources() -> None:
    """Every resource has a model in its preferred version; other served versions
    (autoscaling/v1 HPA) are the API server's converted views, which no component reads."""
    from tinykube.api.resources import PREFERRED_RESOURCES

    for info in PREFERRED_RESOURCES:
        model = registry.model_for(info.api_version, info.kind)
        assert model is not None, info.kind
        assert registry.group_version_kind(model) == (info.api_version, info.kind)


# --- wire names against the official schema ----------------------------------------

K8S_MODEL_OF: dict[type[KubeModel], str] = {
    Status: "V1Status", DeleteOptions: "V1DeleteOptions", Scale: "V1Scale", Binding: "V1Binding",
    WatchEvent: "V1WatchEvent",
}
# Models with no single counterpart: bases and the generic list.
NOT_IN_SCHEMA = {KubeModel, KubeObject, KubeList, meta.Condition}


def _nested_models(annotation: Any) -> list[type[KubeModel]]:
    """KubeModel classes inside an annotation such as `list[Container] | None`."""
    if inspect.isclass(annotation) and issubclass(annotation, KubeModel):
        return [annotation]
    found: list[type[KubeModel]] = []
    for arg in typing.get_args(annotation):
        found.extend(_nested_models(arg))
    return found


def _k8s_class_in(openapi_type: str) -> str | None:
    from kubernetes.client import models as k8s

    for token in re.findall(r"[A-Za-z0-9]+", openapi_type):
        if token not in ("List", "Dict", "list", "dict", "str", "object") and hasattr(k8s, token):
            return token
    return None


def _check_wire_names(model: type[KubeModel], k8s_name: str, seen: dict[type[KubeModel], str],
                      errors: list[str]) -> None:
    from kubernetes.client import models as k8s

    if model in seen:
        return
    seen[model] = k8s_name
    k8s_cls = getattr(k8s, k8s_name)
    json_to_attr = {json: attr for attr, json in k8s_cls.attribute_map.items()}
    for name, field in model.model_fields.items():
        wire = field.alias or name
        if wire not in json_to_attr:
            errors.append(f"{model.__name__}.{name}: {wire!r} is not a field of {k8s_name}")
            continue
        nested = _nested_models(field.annotation)
        if nested:
            target = _k8s_class_in(k8s_cls.openapi_types[json_to_attr[wire]])
            if target is None:
                errors.append(f"{model.__name__}.{name}: {k8s_name} has no model type for {wire!r}")
                continue
            for sub in nested:
                _check_wire_names(sub, target, seen, errors)


def test_declared_fields_use_the_official_wire_names() -> None:
    from tinykube.api.resources import PREFERRED_RESOURCES

    roots = dict(K8S_MODEL_OF)
    for info in PREFERRED_RESOURCES:
        model = registry.model_for(info.api_version, info.kind)
        assert model is not None
        roots[model] = info.model
    seen: dict[type[KubeModel], str] = {}
    errors: list[str] = []
    for model, k8s_name in roots.items():
        _check_wire_names(model, k8s_name, seen, errors)
    assert errors == []

    # Every model we declare was reached, so every declared field was checked.
    declared = {
        value for module in (meta, core, apps, other) for value in vars(module).values()
        if inspect.isclass(value) and issubclass(value, BaseModel) and value.__module__ == module.__name__
    }
    assert declared - set(seen) - NOT_IN_SCHEMA == set()


# --- helpers -----------------------------------------------------------------------


def _pod(conditions: list[dict[str, Any]] | None = None, **meta_fields: Any) -> Pod:
    return Pod(metadata=ObjectMeta(name="p", namespace="ns", **meta_fields),
               status=PodStatus.from_dict({"conditions": conditions}) if conditions else None)


def test_controller_refs() -> None:
    rs = ReplicaSet.from_dict(MANIFESTS[12][1])
    rs.metadata.uid = "rs-uid-1"
    other_rs = ReplicaSet(metadata=ObjectMeta(name="x", uid="rs-uid-2"))
    pod = Pod.from_dict(POD)
    ref = get_controller_of(pod)
    assert ref is not None and ref.name == "web-5d4f8c7b9"
    assert is_controlled_by(pod, rs) and not is_controlled_by(pod, other_rs)

    not_controller = OwnerReference(api_version="v1", kind="Node", name="n", uid="rs-uid-1")
    orphan_ish = _pod(owner_references=[not_controller])
    assert get_controller_of(orphan_ish) is None and not is_controlled_by(orphan_ish, rs)
    assert get_controller_of(_pod()) is None

    new_ref = new_controller_ref(rs)
    assert new_ref.to_dict() == {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d4f8c7b9",
                                 "uid": "rs-uid-1", "controller": True, "blockOwnerDeletion": True}
    with pytest.raises(ValueError):
        new_controller_ref(ReplicaSet(metadata=ObjectMeta(name="no-uid")))


@pytest.mark.parametrize(("conditions", "ready"), [
    (None, False),
    ([{"type": "Ready", "status": "True"}], True),
    ([{"type": "Ready", "status": "False"}], False),
    ([{"type": "Ready", "status": "Unknown"}], False),
    ([{"type": "PodScheduled", "status": "True"}], False),
    ([{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}], True),
])
def test_pod_is_ready(conditions: list[dict[str, Any]] | None, ready: bool) -> None:
    assert pod_is_ready(_pod(conditions)) is ready


@pytest.mark.parametrize(("min_ready_seconds", "now", "available"), [
    (0, 0.0, True),
    (10, parse_rfc3339(CREATED).timestamp() + 9, False),
    (10, parse_rfc3339(CREATED).timestamp() + 10, True),
])
def test_pod_is_available(min_ready_seconds: int, now: float, available: bool) -> None:
    pod = _pod([{"type": "Ready", "status": "True", "lastTransitionTime": CREATED}])
    assert pod_is_available(pod, min_ready_seconds, now) is available
    assert not pod_is_available(_pod([{"type": "Ready", "status": "False"}]), 0, now)


def test_pod_is_terminal() -> None:
    assert pod_is_terminal(Pod(status=PodStatus(phase="Succeeded")))
    assert pod_is_terminal(Pod(status=PodStatus(phase=PodPhase.FAILED)))
    assert not pod_is_terminal(Pod(status=PodStatus(phase="Running")))
    assert not pod_is_terminal(Pod())


def test_get_condition() -> None:
    conditions = [PodCondition(type="Ready", status="False"), PodCondition(type="PodScheduled", status="True")]
    found = get_condition(conditions, "PodScheduled")
    assert found is conditions[1]
    assert get_condition(conditions, "Initialized") is None
    assert get_condition(None, "Ready") is None


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-26T04:15:16Z", "2026-11-26T04:15:16Z"),
    ("2026-11-26T04:15:16.123456Z", "2026-11-26T04:15:16Z"),
    ("2026-11-26T04:15:16.123456789Z", "2026-11-26T04:15:16Z"),
    ("2026-11-26T05:15:16+01:00", "2026-11-26T04:15:16Z"),
    ("2026-11-26T04:15:16.5-00:30", "2026-11-26T04:45:16Z"),
])
def test_parse_and_format_rfc3339(text: str, expected: str) -> None:
    assert format_rfc3339(parse_rfc3339(text)) == expected


def test_now_rfc3339_uses_the_injected_clock() -> None:
    clock = lambda: parse_rfc3339(CREATED).timestamp() + 0.25  # noqa: E731
    assert now_rfc3339(clock) == CREATED
    assert now_rfc3339(clock, micro=True) == "2026-11-26T04:15:16.250000Z"


@pytest.mark.parametrize(("namespace", "name", "key"), [("default", "web", "default/web"), (None, "node-1", "node-1")])
def test_meta_namespace_key(namespace: str | None, name: str, key: str) -> None:
    obj = KubeObject(metadata=ObjectMeta(name=name, namespace=namespace))
    assert meta_namespace_key(obj) == key
    assert split_meta_namespace_key(key) == (namespace or "", name)
