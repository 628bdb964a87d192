"""Required node affinity and untolerated taints: table tests."""

from __future__ import annotations

from typing import Any

import pytest

from tinykube.api.core import Node, PodSpec, Taint, Toleration
from tinykube.api.nodeaffinity import RequiredNodeAffinity, find_matching_untolerated_taint

NODE = Node.from_dict({"metadata": {"name": "n1", "labels": {"zone": "a", "cores": "8"}}})


def spec(node_selector: dict[str, str] | None = None, *terms: dict[str, Any]) -> PodSpec:
    data: dict[str, Any] = {"containers": []}
    if node_selector:
        data["nodeSelector"] = node_selector
    if terms:
        data["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": list(terms)}}}
    return PodSpec.from_dict(data)


def expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    return {"matchExpressions": [{"key": key, "operator": operator, "values": list(values)}]}


@pytest.mark.parametrize(("pod_spec", "matches"), [
    (spec(), True),
    (spec({"zone": "a"}), True),
    (spec({"zone": "b"}), False),
    (spec(None, expr("zone", "In", "a", "b")), True),
    (spec(None, expr("zone", "NotIn", "a")), False),
    (spec(None, expr("gpu", "DoesNotExist")), True),
    (spec(None, expr("cores", "Gt", "4")), True),
    (spec(None, expr("cores", "Lt", "4")), False),
    (spec(None, expr("zone", "In", "b"), expr("zone", "Exists")), True),  # terms are ORed
    (spec(None, {}), False),  # an empty term matches nothing
    (spec(None, {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}), True),
    (spec(None, {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n2"]}]}), False),
    (spec({"zone": "b"}, expr("zone", "Exists")), False),  # nodeSelector ANDed with the terms
])
def test_required_node_affinity(pod_spec: PodSpec, matches: bool) -> None:
    assert RequiredNodeAffinity.from_pod_spec(pod_spec).match(NODE) is matches


def test_untolerated_taint_of_the_given_effects() -> None:
    taints = [Taint(key="soft", effect="PreferNoSchedule"), Taint(key="db", value="x", effect="NoSchedule"),
              Taint(key="gone", effect="NoExecute")]
    tolerate_db = [Toleration(key="db", operator="Equal", value="x", effect="NoSchedule")]
    assert find_matching_untolerated_taint(taints, [], ("NoSchedule", "NoExecute")) == taints[1]
    assert find_matching_untolerated_taint(taints, tolerate_db, ("NoSchedule", "NoExecute")) == taints[2]
    assert find_matching_untolerated_taint(taints, tolerate_db, ("NoSchedule",)) is None
