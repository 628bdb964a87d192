"""Tests for apiserver.fieldvalidation: unknown fields, type errors and pruning."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from apiserver.fieldvalidation import (
    FieldProblem,
    find_type_errors,
    find_unknown_fields,
    prune_unknown_fields,
)
from apiserver.schema import schema_for_model

MANIFESTS = yaml.safe_load_all("""
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  labels: {app: web}
  annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}"}
  creationTimestamp: "2024-01-01T00:00:00Z"
  generation: 3
  uid: 2d3f0b6c-0000-4000-8000-000000000001
  resourceVersion: "42"
  managedFields:
  - manager: kubectl
    operation: Apply
    apiVersion: apps/v1
    fieldsType: FieldsV1
    fieldsV1: {"f:spec": {"f:replicas": {}, "k:{\\"name\\":\\"nginx\\"}": {".": {}}}}
spec:
  replicas: 3
  revisionHistoryLimit: 10
  selector:
    matchLabels: {app: web}
    matchExpressions: [{key: tier, operator: In, values: [frontend]}]
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 25%, maxUnavailable: 1}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 30
      nodeSelector: {kubernetes.io/os: linux}
      tolerations: [{key: dedicated, operator: Equal, value: web, effect: NoSchedule}]
      volumes:
      - name: config
        configMap: {name: web-config, defaultMode: 420}
      - name: cache
        emptyDir: {sizeLimit: 1Gi}
      containers:
      - name: nginx
        image: nginx:1.27
        imagePullPolicy: IfNotPresent
        args: [--port, "80"]
        ports: [{name: http, containerPort: 80, protocol: TCP}]
        env:
        - {name: MODE, value: prod}
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        resources:
          limits: {cpu: 500m, memory: 256Mi}
          requests: {cpu: 0.1, memory: 128974848}
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 5
        livenessProbe:
          tcpSocket: {port: 80}
        volumeMounts: [{name: config, mountPath: /etc/nginx/conf.d, readOnly: true}]
status:
  replicas: 3
  readyReplicas: 3
  conditions:
  - {type: Available, status: "True", lastUpdateTime: "2024-01-01T00:00:00Z", reason: MinimumReplicasAvailable}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: ClusterIP
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http, protocol: TCP}
  - {name: metrics, port: 9090, targetPort: 9090}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: default}
data:
  default.conf: |
    server { listen 80; }
binaryData: {blob: aGVsbG8=}
---
apiVersion: v1
kind: Namespace
metadata:
  name: team-a
  labels: {kubernetes.io/metadata.name: team-a}
spec: {finalizers: [kubernetes]}
status: {phase: Active}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-0
  namespace: default
  ownerReferences:
  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-7d4b9, uid: u1, controller: true, blockOwnerDeletion: true}
  finalizers: [example.com/cleanup]
  deletionTimestamp: null
spec:
  nodeName: node-1
  restartPolicy: Always
  containers:
  - name: app
    image: busybox
    command: [sh, -c, sleep 3600]
status:
  phase: Running
  podIP: 10.244.1.5
  startTime: "2024-01-01T00:00:00Z"
  conditions: [{type: Ready, status: "True"}]
  containerStatuses:
  - name: app
    ready: true
    restartCount: 0
    image: busybox
    imageID: docker://sha256:abc
    state: {running: {startedAt: "2024-01-01T00:00:01Z"}}
""")

MODELS = {"Deployment": "V1Deployment", "Service": "V1Service", "ConfigMap": "V1ConfigMap",
          "Namespace": "V1Namespace", "Pod": "V1Pod"}


@pytest.mark.parametrize("manifest", list(MANIFESTS), ids=lambda m: m["kind"])
def test_realistic_manifests_have_no_problems(manifest: dict[str, Any]) -> None:
    schema = schema_for_model(MODELS[manifest["kind"]])
    assert find_unknown_fields(manifest, schema) == []
    assert find_type_errors(manifest, schema) == []
    pruned, problems = prune_unknown_fields(manifest, schema)
    assert pruned == manifest and problems == []


def _deployment(**container_extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"spec": {"containers": [
                     {"name": "a", "image": "x"}, {"name": "b", "image": "y", **container_extra}]}}},
    }


@pytest.mark.parametrize(
    ("model", "obj", "paths"),
    [
        ("V1Deployment", _deployment(imagePullPolcy="Always"),
         ["spec.template.spec.containers[1].imagePullPolcy"]),
        ("V1Deployment", {"spec": {"foo": 1, "bar": {"x": 1}}}, ["spec.foo", "spec.bar"]),
        ("V1Deployment", {"metadata": {"name": "x", "nmae": "y"}}, ["metadata.nmae"]),
        ("V1Deployment", {"apiVersion": "apps/v1", "kind": "Deployment", "extra": True}, ["extra"]),
        ("V1Pod", {"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80, "hostIp": "x"}]}]}},
         ["spec.containers[0].ports[0].hostIp"]),
        ("V1Pod", {"status": {"conditions": [{"type": "Ready", "staus": "True"}]}},
         ["status.conditions[0].staus"]),
        # free-form subtrees are not descended
        ("V1Pod", {"metadata": {"managedFields": [{"fieldsV1": {"f:anything": {"x": 1}}}]}}, []),
        ("V1Pod", {"metadata": {"labels": {"anything.example.com/goes": "x"}}}, []),
        # wrong types are find_type_errors' business, not reported here
        ("V1Pod", {"spec": {"containers": "oops"}}, []),
    ],
)
def test_unknown_fields(model: str, obj: dict[str, Any], paths: list[str]) -> None:
    problems = find_unknown_fields(obj, schema_for_model(model))
    assert [p.path for p in problems] == paths
    assert [p.message for p in problems] == [f'unknown field "{path}"' for path in paths]


def test_unknown_field_messages_join_like_the_real_server() -> None:
    problems = find_unknown_fields({"spec": {"foo": 1, "bar": 2}}, schema_for_model("V1Deployment"))
    joined = "strict decoding error: " + ", ".join(p.message for p in problems)
    assert joined == 'strict decoding error: unknown field "spec.foo", unknown field "spec.bar"'


def test_top_level_fields_known_even_if_the_schema_lacks_them() -> None:
    schema = schema_for_model("V1PodSpec")  # has no apiVersion/kind/metadata
    obj = {"apiVersion": "v1", "kind": "X", "metadata": {"name": "n", "bogus": 1}, "containers": []}
    assert find_unknown_fields(obj, schema) == [FieldProblem("metadata.bogus", 'unknown field "metadata.bogus"')]


@pytest.mark.parametrize(
    ("model", "obj", "paths"),
    [
        ("V1Deployment", {"spec": {"replicas": "3"}}, ["spec.replicas"]),
        ("V1Deployment", {"spec": {"replicas": True}}, ["spec.replicas"]),
        ("V1Deployment", {"spec": {"replicas": 2.5}}, ["spec.replicas"]),
        ("V1Deployment", {"spec": {"replicas": 2.0}}, []),
        ("V1Deployment", {"spec": {"replicas": None, "template": None}}, []),
        ("V1Deployment", {"spec": {"paused": "yes"}}, ["spec.paused"]),
        ("V1Deployment", {"spec": "nope"}, ["spec"]),
        ("V1Deployment", {"metadata": {"labels": {"a": 1}}}, ["metadata.labels.a"]),
        ("V1Deployment", {"metadata": {"labels": ["a"]}}, ["metadata.labels"]),
        ("V1Deployment", {"spec": {"strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}}}}, []),
        ("V1Deployment", {"spec": {"strategy": {"rollingUpdate": {"maxSurge": True}}}},
         ["spec.strategy.rollingUpdate.maxSurge"]),
        ("V1Deployment", {"spec": {"strategy": {"rollingUpdate": {"maxSurge": 1.5}}}},
         ["spec.strategy.rollingUpdate.maxSurge"]),
        ("V1Pod", {"spec": {"containers": [{"name": 5}]}}, ["spec.containers[0].name"]),
        ("V1Pod", {"spec": {"containers": {"name": "a"}}}, ["spec.containers"]),
        ("V1Pod", {"spec": {"containers": [{"resources": {"limits": {"cpu": "1", "memory": 1024, "x": 0.5}}}]}},
         []),
        ("V1Pod", {"spec": {"containers": [{"resources": {"limits": {"cpu": True, "memory": []}}}]}},
         ["spec.containers[0].resources.limits.cpu", "spec.containers[0].resources.limits.memory"]),
        ("V1Pod", {"metadata": {"creationTimestamp": 5}}, ["metadata.creationTimestamp"]),
        ("V1Pod", {"metadata": {"managedFields": [{"fieldsV1": ["anything", 1]}]}}, []),
        ("V1Pod", {"spec": {"bogus": "unknown fields are skipped here"}}, []),
    ],
)
def test_type_errors(model: str, obj: dict[str, Any], paths: list[str]) -> None:
    assert [p.path for p in find_type_errors(obj, schema_for_model(model))] == paths


def test_type_error_message() -> None:
    [problem] = find_type_errors({"spec": {"replicas": "3"}}, schema_for_model("V1Deployment"))
    assert problem == FieldProblem("spec.replicas", 'spec.replicas in body must be of type integer: "string"')


def test_type_error_at_the_root() -> None:
    [problem] = find_type_errors(["not", "an", "object"], schema_for_model("V1Pod"))
    assert problem.path == ""
    assert "must be of type object" in problem.message


def test_prune_returns_a_pruned_deep_copy() -> None:
    original = _deployment(imagePullPolcy="Always", resources={"limits": {"cpu": "1"}})
    original["metadata"]["managedFields"] = [{"fieldsV1": {"f:x": {}}}]
    before = copy.deepcopy(original)
    pruned, problems = prune_unknown_fields(original, schema_for_model("V1Deployment"))
    assert original == before
    assert [p.path for p in problems] == ["spec.template.spec.containers[1].imagePullPolcy"]
    assert "imagePullPolcy" not in pruned["spec"]["template"]["spec"]["containers"][1]
    assert pruned["spec"]["template"]["spec"]["containers"][1]["resources"] == {"limits": {"cpu": "1"}}
    # the copy shares nothing mutable with the input, free-form subtrees included
    pruned["metadata"]["managedFields"][0]["fieldsV1"]["f:y"] = {}
    pruned["spec"]["selector"]["matchLabels"]["z"] = "1"
    assert original == before


def test_prune_keeps_values_of_the_wrong_type() -> None:
    pruned, problems = prune_unknown_fields({"spec": {"replicas": "3"}}, schema_for_model("V1Deployment"))
    assert pruned == {"spec": {"replicas": "3"}} and problems == []


RANGE_CASES = [
    ("V1Deployment", {"spec": {"replicas": 2**31 - 1}}, None),
    ("V1Deployment", {"spec": {"replicas": -(2**31)}}, None),
    ("V1Deployment", {"spec": {"replicas": 2**31}},
     "json: cannot unmarshal number 2147483648 into Go struct field DeploymentSpec.spec.replicas "
     "of type int32"),
    ("V1Deployment", {"spec": {"replicas": 9223372036854775808}},
     "json: cannot unmarshal number 9223372036854775808 into Go struct field "
     "DeploymentSpec.spec.replicas of type int32"),
    ("V1Pod", {"spec": {"terminationGracePeriodSeconds": 2**40}}, None),
    ("V1Pod", {"spec": {"terminationGracePeriodSeconds": 2**63}},
     "json: cannot unmarshal number 9223372036854775808 into Go struct field "
     "PodSpec.spec.terminationGracePeriodSeconds of type int64"),
    ("V1Pod", {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": -(2**31) - 1}]}]}},
     "json: cannot unmarshal number -2147483649 into Go struct field "
     "ContainerPort.spec.containers.ports.containerPort of type int32"),
    ("V1Pod", {"spec": {"securityContext": {"supplementalGroups": [2**40, 2**64]}}},
     "json: cannot unmarshal number 18446744073709551616 into Go struct field "
     "PodSecurityContext.spec.securityContext.supplementalGroups of type int64"),
    ("V1Service", {"spec": {"ports": [{"port": 80, "targetPort": 2**31}]}},
     "json: cannot unmarshal number 2147483648 into Go struct field "
     "ServicePort.spec.ports.targetPort of type int32"),
    ("V1ConfigMap", {"metadata": {"generation": 2**63}},
     "json: cannot unmarshal number 9223372036854775808 into Go struct field "
     "ObjectMeta.metadata.generation of type int64"),
]


@pytest.mark.parametrize(("model", "obj", "message"), RANGE_CASES)
def test_integers_must_fit_their_go_type(model: str, obj: dict[str, Any], message: str | None) -> None:
    overflows = [p for p in find_type_errors(obj, schema_for_model(model)) if p.overflow]
    assert [p.message for p in overflows] == ([message] if message else [])
