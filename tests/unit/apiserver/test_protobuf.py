"""Tests for apiserver.protobuf: Kubernetes protobuf bodies decode to the JSON form.

Bodies are built with a tiny protobuf encoder below (field numbers from k8s.io/api's
generated.proto), plus two bodies captured from a real kubectl 1.32.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from apiserver.protobuf import (MalformedProtobuf, UnsupportedProtobuf, decode_object,
                                encode_length_delimited, encode_varint, format_time)
from apiserver.protobuf_schema import ROOT_MESSAGES, SCALAR_MESSAGES, SCHEMA, WIRE_KINDS

# --- a tiny encoder ----------------------------------------------------------------


def field(number: int, value: int | bool | str | bytes) -> bytes:
    if isinstance(value, (bool, int)):
        return encode_varint(number << 3) + encode_varint(int(value))
    return encode_length_delimited(number, value.encode() if isinstance(value, str) else value)


def msg(*fields: bytes) -> bytes:
    return b"".join(fields)


def entries(number: int, mapping: dict[str, str | bytes]) -> bytes:
    return msg(*(field(number, msg(field(1, k), field(2, v))) for k, v in mapping.items()))


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = msg(field(1, api_version), field(2, kind))
    return b"k8s\x00" + msg(field(1, type_meta), field(2, raw), field(3, ""), field(4, ""))


def meta(name: str, *extra: bytes) -> bytes:
    # Go's encoder writes every non-pointer field, zero or not, as kubectl does.
    return msg(field(1, name), field(2, ""), field(3, ""), field(4, ""), field(5, ""),
               field(6, ""), field(7, 0), field(8, b""), *extra)


def int_or_string(value: int | str) -> bytes:
    if isinstance(value, int):
        return msg(field(1, 0), field(2, value), field(3, ""))
    return msg(field(1, 1), field(2, 0), field(3, value))


def quantity(text: str) -> bytes:
    return field(1, text)


# --- the table itself --------------------------------------------------------------


def test_every_field_type_is_known_or_reported_as_unsupported() -> None:
    kinds = {f.kind for fields in SCHEMA.values() for f in fields.values()}
    unsupported = kinds - set(SCHEMA) - SCALAR_MESSAGES - WIRE_KINDS
    assert all(name.endswith(("VolumeSource", "Projection", "Container", "Claim"))
               for name in unsupported), unsupported
    assert {root for root in ROOT_MESSAGES.values()} <= set(SCHEMA)


# --- kinds -------------------------------------------------------------------------


def test_namespace_captured_from_kubectl() -> None:
    body = bytes.fromhex(
        "6b3873000a0f0a02763112094e616d657370616365121d0a150a056361706e7312001a0022002a"
        "0032003800420012001a020a001a002200")
    assert decode_object(body) == {"apiVersion": "v1", "kind": "Namespace",
                                   "metadata": {"name": "capns"}, "spec": {}, "status": {}}


def test_deployment_captured_from_kubectl() -> None:
    body = bytes.fromhex(
        "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412af010a1f0a0363617012001a"
        "0022002a003200380042005a0a0a036170701203636170127e0801120c0a0a0a0361707012036361"
        "701a640a1c0a0012001a0022002a003200380042005a0a0a036170701203636170124412260a0762"
        "757379626f78120762757379626f782a0042006a007200800100880100900100a201001a00320042"
        "004a0052005800600068008201008a01009a0100c2010022020a00280038001a0c08001000180020"
        "00280038001a002200")
    assert decode_object(body) == {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "cap", "labels": {"app": "cap"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "cap"}},
                 "template": {"metadata": {"labels": {"app": "cap"}},
                              "spec": {"containers": [{"name": "busybox", "image": "busybox",
                                                       "resources": {}}]}},
                 "strategy": {}},
        "status": {}}


def test_object_meta_times_owners_and_pointer_zero() -> None:
    owner = msg(field(1, "ReplicaSet"), field(3, "rs"), field(4, "uid-1"), field(5, "apps/v1"),
                field(6, True), field(7, False))
    managed = msg(field(1, "kubectl"), field(2, "Update"), field(3, "v1"),
                  field(4, msg(field(1, 1700000000))), field(6, "FieldsV1"),
                  field(7, msg(field(1, b'{"f:data":{}}'))))
    raw = msg(field(1, meta("c", field(9, msg(field(1, 1700000000), field(2, 0))),
                            field(10, 0), entries(12, {"note": ""}), field(13, owner),
                            field(14, "example.com/f"), field(17, managed))))
    obj = decode_object(envelope("v1", "ConfigMap", raw))
    assert obj["metadata"] == {
        "name": "c", "deletionTimestamp": "2023-11-14T22:13:20Z",
        "deletionGracePeriodSeconds": 0, "annotations": {"note": ""},
        "ownerReferences": [{"kind": "ReplicaSet", "name": "rs", "uid": "uid-1",
                             "apiVersion": "apps/v1", "controller": True,
                             "blockOwnerDeletion": False}],
        "finalizers": ["example.com/f"],
        "managedFields": [{"manager": "kubectl", "operation": "Update", "apiVersion": "v1",
                           "time": "2023-11-14T22:13:20Z", "fieldsType": "FieldsV1",
                           "fieldsV1": {"f:data": {}}}]}


def test_configmap_binary_data_is_base64_and_empty_values_stay() -> None:
    raw = msg(field(1, meta("c")), entries(2, {"a": "b", "empty": ""}),
              entries(3, {"bin": b"\x00\xff"}), field(4, False))
    assert decode_object(envelope("v1", "ConfigMap", raw)) == {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
        "data": {"a": "b", "empty": ""}, "binaryData": {"bin": "AP8="}, "immutable": False}


def test_secret_data_is_base64() -> None:
    raw = msg(field(1, meta("s")), entries(2, {"password": b"s3cr3t"}),
              field(3, "Opaque"), entries(4, {"plain": "text"}))
    obj = decode_object(envelope("v1", "Secret", raw))
    assert obj["data"] == {"password": base64.b64encode(b"s3cr3t").decode()}
    assert obj["stringData"] == {"plain": "text"}
    assert obj["type"] == "Opaque"


def test_service_ports_and_int_or_string() -> None:
    http = msg(field(1, "http"), field(2, "TCP"), field(3, 80), field(4, int_or_string(8080)),
               field(5, 0))
    named = msg(field(1, "web"), field(2, "TCP"), field(3, 443), field(4, int_or_string("https")),
                field(5, 30443), field(6, "kubernetes.io/h2c"))
    spec = msg(field(1, http), field(1, named), entries(2, {"app": "web"}), field(3, ""),
               field(4, "NodePort"), field(7, "ClientIP"),
               field(14, msg(field(1, msg(field(1, 600))))), field(17, "SingleStack"))
    status = msg(field(1, msg()))
    raw = msg(field(1, meta("web")), field(2, spec), field(3, status))
    assert decode_object(envelope("v1", "Service", raw)) == {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080},
                           {"name": "web", "protocol": "TCP", "port": 443,
                            "targetPort": "https", "nodePort": 30443,
                            "appProtocol": "kubernetes.io/h2c"}],
                 "selector": {"app": "web"}, "type": "NodePort", "sessionAffinity": "ClientIP",
                 "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 600}},
                 "ipFamilyPolicy": "SingleStack"},
        "status": {"loadBalancer": {}}}


def test_service_account() -> None:
    raw = msg(field(1, meta("robot")), field(2, msg(field(3, "tok"))),
              field(3, msg(field(1, "reg"))), field(4, False))
    assert decode_object(envelope("v1", "ServiceAccount", raw)) == {
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"},
        "secrets": [{"name": "tok"}], "imagePullSecrets": [{"name": "reg"}],
        "automountServiceAccountToken": False}


def pod_template() -> bytes:
    env_from_secret = msg(field(1, "PASSWORD"), field(2, ""), field(3, msg(
        field(4, msg(field(1, msg(field(1, "db"))), field(2, "password"), field(3, True))))))
    resources = msg(entries(1, {}), field(1, msg(field(1, "cpu"), field(2, quantity("500m")))),
                    field(2, msg(field(1, "memory"), field(2, quantity("64Mi")))))
    probe = msg(field(1, msg(field(2, msg(field(1, "/healthz"), field(2, int_or_string(8080)),
                                          field(4, "HTTP"))))),
                field(2, 5), field(3, 0), field(6, 3))
    container = msg(
        field(1, "app"), field(2, "busybox:1.36"), field(3, "sh"), field(4, "-c"),
        field(4, "sleep 3600"), field(5, ""),
        field(6, msg(field(1, ""), field(2, 0), field(3, 8080), field(4, "TCP"), field(5, ""))),
        field(7, env_from_secret), field(7, msg(field(1, "MODE"), field(2, "fast"))),
        field(8, resources),
        field(9, msg(field(1, "config"), field(2, True), field(3, "/etc/app"))),
        field(10, probe), field(14, "IfNotPresent"),
        field(15, msg(field(5, False), field(6, True))), field(16, False), field(18, False))
    volume = msg(field(1, "config"), field(2, msg(field(19, msg(
        field(1, msg(field(1, "app-config"))), field(3, 420))))))
    spec = msg(field(1, volume), field(2, container), field(3, "Always"), field(4, 30),
               field(11, False), field(25, 0), field(22, msg(field(1, "dedicated"),
                                                              field(2, "Exists"),
                                                              field(4, "NoSchedule"))))
    return msg(field(1, meta("", entries(11, {"app": "web"}))), field(2, spec))


POD_TEMPLATE_JSON: dict[str, Any] = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {
        "volumes": [{"name": "config", "configMap": {"name": "app-config", "defaultMode": 420}}],
        "containers": [{
            "name": "app", "image": "busybox:1.36", "command": ["sh"],
            "args": ["-c", "sleep 3600"],
            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
            "env": [{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {
                "name": "db", "key": "password", "optional": True}}},
                    {"name": "MODE", "value": "fast"}],
            "resources": {"limits": {"cpu": "500m"}, "requests": {"memory": "64Mi"}},
            "volumeMounts": [{"name": "config", "readOnly": True, "mountPath": "/etc/app"}],
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
                              "initialDelaySeconds": 5, "failureThreshold": 3},
            "imagePullPolicy": "IfNotPresent",
            "securityContext": {"runAsNonRoot": False, "readOnlyRootFilesystem": True}}],
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "priority": 0,
        "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}]}}


def test_deployment_with_a_full_pod_template() -> None:
    strategy = msg(field(1, "RollingUpdate"), field(2, msg(field(1, int_or_string(0)),
                                                            field(2, int_or_string("25%")))))
    selector = msg(entries(1, {"app": "web"}),
                   field(2, msg(field(1, "tier"), field(2, "In"), field(3, "front"))))
    spec = msg(field(1, 0), field(2, selector), field(3, pod_template()), field(4, strategy),
               field(5, 0), field(6, 5), field(7, False), field(9, 600))
    status = msg(field(1, 0), field(2, 0), field(3, 0), field(4, 0), field(5, 0), field(7, 0))
    raw = msg(field(1, meta("web")), field(2, spec), field(3, status))
    assert decode_object(envelope("apps/v1", "Deployment", raw)) == {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 0,
                 "selector": {"matchLabels": {"app": "web"}, "matchExpressions": [
                     {"key": "tier", "operator": "In", "values": ["front"]}]},
                 "template": POD_TEMPLATE_JSON,
                 "strategy": {"type": "RollingUpdate",
                              "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
                 "revisionHistoryLimit": 5, "progressDeadlineSeconds": 600},
        "status": {}}


@pytest.mark.parametrize(("kind", "spec", "expected"), [
    ("ReplicaSet", msg(field(1, 3), field(3, pod_template())),
     {"replicas": 3, "template": POD_TEMPLATE_JSON}),
    ("StatefulSet", msg(field(1, 2), field(3, pod_template()), field(5, "db"),
                        field(7, msg(field(1, "RollingUpdate"),
                                     field(2, msg(field(1, 0)))))),
     {"replicas": 2, "template": POD_TEMPLATE_JSON, "serviceName": "db",
      "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}}),
    ("DaemonSet", msg(field(2, pod_template()), field(3, msg(field(1, "OnDelete")))),
     {"template": POD_TEMPLATE_JSON, "updateStrategy": {"type": "OnDelete"}}),
])
def test_other_workloads(kind: str, spec: bytes, expected: dict[str, Any]) -> None:
    obj = decode_object(envelope("apps/v1", kind, msg(field(1, meta("w")), field(2, spec))))
    assert obj == {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "w"},
                   "spec": expected}


def test_ingress_rules_inline_their_rule_value() -> None:
    def backend(name: str, port: bytes) -> bytes:
        return msg(field(4, msg(field(1, name), field(2, port))))
    path = msg(field(1, "/api"), field(2, backend("api", msg(field(1, ""), field(2, 8080)))),
               field(3, "Prefix"))
    rule = msg(field(1, "a.example.com"), field(2, msg(field(1, msg(field(1, path))))))
    spec = msg(field(1, backend("web", msg(field(1, "http"), field(2, 0)))),
               field(2, msg(field(1, "a.example.com"), field(2, "tls-a"))), field(3, rule),
               field(4, "nginx"))
    raw = msg(field(1, meta("ing")), field(2, spec), field(3, msg(field(1, msg()))))
    assert decode_object(envelope("networking.k8s.io/v1", "Ingress", raw))["spec"] == {
        "defaultBackend": {"service": {"name": "web", "port": {"name": "http"}}},
        "tls": [{"hosts": ["a.example.com"], "secretName": "tls-a"}],
        "rules": [{"host": "a.example.com", "http": {"paths": [
            {"path": "/api", "backend": {"service": {"name": "api", "port": {"number": 8080}}},
             "pathType": "Prefix"}]}}],
        "ingressClassName": "nginx"}


# --- what is refused, and how ------------------------------------------------------


def test_unknown_field_names_message_and_number() -> None:
    raw = msg(field(1, meta("c", field(99, "surprise"))))
    with pytest.raises(UnsupportedProtobuf, match=r"field 99 .* of message ObjectMeta"):
        decode_object(envelope("v1", "ConfigMap", raw))


def test_unsupported_volume_type_names_the_field() -> None:
    volume = msg(field(1, "data"), field(2, msg(field(7, msg(field(1, "nfs.example.com"))))))
    spec = msg(field(1, volume))
    raw = msg(field(1, meta("d")), field(2, msg(field(3, msg(field(2, spec))))))
    with pytest.raises(UnsupportedProtobuf, match=r"VolumeSource\.nfs \(field 7\)"):
        decode_object(envelope("apps/v1", "Deployment", raw))


def test_kind_not_served_is_refused() -> None:
    with pytest.raises(UnsupportedProtobuf, match="batch/v1beta1 Job"):
        decode_object(envelope("batch/v1beta1", "Job", msg(field(1, meta("j")))))


@pytest.mark.parametrize(("body", "why"), [
    (b'{"kind": "ConfigMap"}', "prefix"),
    (envelope("v1", "ConfigMap", msg(field(1, meta("c"))))[:-9], "ends inside"),
    (envelope("v1", "ConfigMap", msg(field(1, 7))), "expected length-delimited"),
    (envelope("v1", "ConfigMap", msg(field(1, b"\x0a\x02\xff\xfe"))), "UTF-8"),
    (b"k8s\x00" + encode_varint(1 << 3 | 3), "wire type 3"),
])
def test_malformed_bodies(body: bytes, why: str) -> None:
    with pytest.raises(MalformedProtobuf, match=why):
        decode_object(body)


def test_negative_int32_is_decoded_from_ten_byte_varint() -> None:
    raw = msg(field(1, meta("d")), field(2, msg(field(1, -1))))
    assert encode_varint(-1) == b"\xff" * 9 + b"\x01"
    assert decode_object(envelope("apps/v1", "Deployment", raw))["spec"] == {"replicas": -1}


@pytest.mark.parametrize(("seconds", "nanos", "micro", "text"), [
    (0, 0, False, "1970-01-01T00:00:00Z"),
    (1700000000, 123456789, False, "2023-11-14T22:13:20Z"),
    (1700000000, 123456789, True, "2023-11-14T22:13:20.123456Z"),
])
def test_format_time(seconds: int, nanos: int, micro: bool, text: str) -> None:
    assert format_time(seconds, nanos, micro) == text
