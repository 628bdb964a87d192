"""Empty optional lists and maps, and nulls, are dropped like Go's omitempty does."""

from __future__ import annotations

from apiserver.omitempty import drop_empty_optional
from apiserver.schema import schema_for_model


def test_empty_maps_lists_and_nulls_of_optional_fields_are_dropped() -> None:
    pod = {"metadata": {"name": "p", "labels": {}, "annotations": None, "finalizers": []},
           "spec": {"containers": [{"name": "c", "args": [], "env": [{"name": "A", "value": "1"}],
                                    "resources": {}, "securityContext": {}}]}}
    drop_empty_optional(pod, schema_for_model("V1Pod"))
    assert pod == {"metadata": {"name": "p"},
                   "spec": {"containers": [{"name": "c", "env": [{"name": "A", "value": "1"}],
                                            "resources": {}, "securityContext": {}}]}}


def test_required_and_non_omitempty_fields_stay_empty() -> None:
    pod = {"spec": {"containers": []}}
    drop_empty_optional(pod, schema_for_model("V1Pod"))
    assert pod == {"spec": {"containers": []}}
    role = {"metadata": {"name": "r"}, "rules": []}
    drop_empty_optional(role, schema_for_model("V1ClusterRole"))
    assert role == {"metadata": {"name": "r"}, "rules": []}


def test_values_inside_free_form_maps_are_not_touched() -> None:
    config_map = {"data": {"empty": ""}, "binaryData": {}}
    drop_empty_optional(config_map, schema_for_model("V1ConfigMap"))
    assert config_map == {"data": {"empty": ""}}
