"""StatefulSet API rules: defaults, spec checks and the fields an update may change."""

from __future__ import annotations

import copy
from typing import Any

from apiserver.strategies.statefulset import (
    FORBIDDEN_UPDATE, validate_stateful_set_spec, validate_stateful_set_update,
)

SPEC: dict[str, Any] = {
    "replicas": 1, "serviceName": "db", "podManagementPolicy": "OrderedReady",
    "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
    "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
    "template": {"spec": {"restartPolicy": "Always", "containers": [{"name": "c", "image": "db"}]}},
}


def spec(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(SPEC), **changes}


def messages(errs: list[Any]) -> list[str]:
    return [str(e) for e in errs]


def test_a_defaulted_spec_is_valid() -> None:
    assert validate_stateful_set_spec(spec()) == []


def test_bad_values_are_refused_with_kubernetes_messages() -> None:
    errs = messages(validate_stateful_set_spec(spec(
        podManagementPolicy="Random", updateStrategy={"type": "OnDelete", "rollingUpdate": {"partition": 1}},
        persistentVolumeClaimRetentionPolicy={"whenDeleted": "Keep", "whenScaled": "Retain"})))
    assert any("spec.podManagementPolicy" in m and "must be 'OrderedReady' or 'Parallel'" in m for m in errs)
    assert any("spec.updateStrategy.rollingUpdate" in m and "only allowed for updateStrategy 'RollingUpdate'" in m
               for m in errs)
    assert any("spec.persistentVolumeClaimRetentionPolicy.whenDeleted" in m and "Unsupported value" in m
               for m in errs)
    assert len(errs) == 3


def test_only_the_mutable_fields_may_change() -> None:
    old = {"spec": spec()}
    assert validate_stateful_set_update({"spec": spec(replicas=5, minReadySeconds=3)}, old) == []
    errs = messages(validate_stateful_set_update({"spec": spec(serviceName="other")}, old))
    assert errs == [f"spec: Forbidden: {FORBIDDEN_UPDATE}"]
