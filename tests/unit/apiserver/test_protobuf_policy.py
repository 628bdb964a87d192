"""Protobuf bodies of kubectl's DELETEs (DeleteOptions) and `kubectl drain` (Eviction).

The bytes are built by hand, field by field, as Go's generated marshallers write them
(k8s.io/apimachinery meta/v1 and k8s.io/api policy/v1 generated.proto): pointer fields
only when set, non-pointer fields always, in field-number order.
"""

from __future__ import annotations

from test_protobuf import envelope, field, int_or_string, meta, msg

from apiserver.protobuf import decode_object


def test_kubectl_delete_options() -> None:
    # kubectl delete pod web --grace-period=5: propagationPolicy Background, grace 5,
    # a uid precondition and dryRun.
    preconditions = msg(field(1, "uid-1"))
    raw = msg(field(1, 5), field(2, preconditions), field(4, "Background"), field(5, "All"))
    assert decode_object(envelope("v1", "DeleteOptions", raw)) == {
        "apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 5,
        "preconditions": {"uid": "uid-1"}, "propagationPolicy": "Background", "dryRun": ["All"]}


def test_delete_options_keep_a_zero_grace_period_and_any_group_version() -> None:
    raw = msg(field(1, 0), field(3, False))  # both pointers: zero is a value
    assert decode_object(envelope("apps/v1", "DeleteOptions", raw)) == {
        "apiVersion": "apps/v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
        "orphanDependents": False}
    assert decode_object(envelope("meta.k8s.io/v1", "DeleteOptions", b""))["kind"] == \
        "DeleteOptions"


def test_drain_eviction() -> None:
    # kubectl drain: Eviction{ObjectMeta{Name, Namespace}, DeleteOptions: &{}}.
    raw = msg(field(1, meta("web-1", field(3, "default"))), field(2, b""))
    assert decode_object(envelope("policy/v1", "Eviction", raw)) == {
        "apiVersion": "policy/v1", "kind": "Eviction",
        "metadata": {"name": "web-1", "namespace": "default"}, "deleteOptions": {}}


def test_eviction_with_grace_period() -> None:
    raw = msg(field(1, meta("web-1")), field(2, msg(field(1, 30))))
    assert decode_object(envelope("policy/v1", "Eviction", raw))["deleteOptions"] == {
        "gracePeriodSeconds": 30}


def test_pod_disruption_budget() -> None:
    selector = msg(field(1, msg(field(1, "app"), field(2, "web"))))
    spec = msg(field(1, int_or_string("50%")), field(2, selector))
    raw = msg(field(1, meta("web")), field(2, spec), field(3, b""))
    assert decode_object(envelope("policy/v1", "PodDisruptionBudget", raw)) == {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
        "spec": {"minAvailable": "50%", "selector": {"matchLabels": {"app": "web"}}},
        "status": {}}
