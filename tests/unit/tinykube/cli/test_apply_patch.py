"""kubectl's three-way strategic merge patch, on a schema shaped like the server's."""

from __future__ import annotations

import json
from typing import Any

from tinykube.cli.apply import (
    LAST_APPLIED_ANNOTATION, PatchSchema, create_three_way_json_merge_patch,
    create_three_way_merge_patch, last_applied_configuration, modified_configuration,
)

REF = "#/components/schemas/"
SCHEMAS: dict[str, Any] = {
    "Deployment": {"x-kubernetes-group-version-kind": [{"group": "apps", "version": "v1",
                                                        "kind": "Deployment"}],
                   "properties": {"spec": {"$ref": REF + "DeploymentSpec"}}},
    "DeploymentSpec": {"properties": {
        "strategy": {"allOf": [{"$ref": REF + "Strategy"}], "x-kubernetes-patch-strategy": "retainKeys"},
        "template": {"$ref": REF + "PodTemplate"}}},
    "Strategy": {"properties": {"type": {"type": "string"}, "rollingUpdate": {"type": "object"}}},
    "PodTemplate": {"properties": {"spec": {"$ref": REF + "PodSpec"}}},
    "PodSpec": {"properties": {"containers": {
        "type": "array", "items": {"$ref": REF + "Container"},
        "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"}}},
    "Container": {"properties": {
        "env": {"type": "array", "items": {"$ref": REF + "EnvVar"},
                "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"},
        "args": {"type": "array", "items": {"type": "string"}}}},
    "EnvVar": {"properties": {"name": {"type": "string"}, "value": {"type": "string"}}},
}
SCHEMA = PatchSchema.for_kind({"components": {"schemas": SCHEMAS}}, "apps", "v1", "Deployment")


def deployment(containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {**spec, "template": {"spec": {"containers": containers}}}}


def patch_for(original: dict[str, Any], modified: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    assert SCHEMA is not None
    return create_three_way_merge_patch(original, modified, current, SCHEMA)


def test_nothing_changed_is_an_empty_patch_even_with_server_defaults() -> None:
    obj = deployment([{"name": "a", "image": "x"}])
    current = deployment([{"name": "a", "image": "x", "imagePullPolicy": "Always"}], replicas=1)
    assert patch_for(obj, obj, current) == {}


def test_removed_fields_become_null_and_removed_elements_delete_directives() -> None:
    original = deployment([{"name": "a", "image": "x", "env": [{"name": "A", "value": "1"},
                                                               {"name": "B", "value": "2"}]},
                           {"name": "b", "image": "y"}], replicas=2)
    modified = deployment([{"name": "a", "image": "x", "env": [{"name": "B", "value": "2"}]}])
    patch = patch_for(original, modified, original)
    assert patch["spec"]["replicas"] is None
    spec = patch["spec"]["template"]["spec"]
    assert spec["$setElementOrder/containers"] == [{"name": "a"}]
    assert spec["containers"] == [
        {"name": "a", "env": [{"name": "A", "$patch": "delete"}], "$setElementOrder/env": [{"name": "B"}]},
        {"name": "b", "$patch": "delete"}]


def test_changes_keep_other_writers_fields_and_follow_file_order() -> None:
    original = deployment([{"name": "a", "image": "x"}])
    modified = deployment([{"name": "c", "image": "z"}, {"name": "a", "image": "x2", "args": ["--v"]}])
    current = deployment([{"name": "a", "image": "x", "resources": {"cpu": "1"}}])
    spec = patch_for(original, modified, current)["spec"]["template"]["spec"]
    assert spec["$setElementOrder/containers"] == [{"name": "c"}, {"name": "a"}]
    # The server requires patch elements in $setElementOrder's order.
    assert spec["containers"] == [{"name": "c", "image": "z"},
                                  {"name": "a", "image": "x2", "args": ["--v"]}]


def test_retain_keys_lists_the_fields_to_keep() -> None:
    original = deployment([], strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}})
    modified = deployment([], strategy={"type": "Recreate"})
    assert patch_for(original, modified, original)["spec"]["strategy"] == {
        "$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": None}


def test_json_merge_patch_replaces_lists() -> None:
    original = {"spec": {"a": [1, 2], "b": 1}}
    modified = {"spec": {"a": [1]}}
    assert create_three_way_json_merge_patch(original, modified, {"spec": {"a": [1, 2], "b": 1, "c": 3}}) \
        == {"spec": {"a": [1], "b": None}}


def test_annotation_is_byte_identical_to_kubectls() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "d"},
           "data": {"html": "<b>&</b>", "z": "ü"}}
    text = last_applied_configuration(obj)
    assert text == ('{"apiVersion":"v1","data":{"html":"\\u003cb\\u003e\\u0026\\u003c/b\\u003e",'
                    '"z":"ü"},"kind":"ConfigMap","metadata":{"annotations":{},"name":"c",'
                    '"namespace":"d"}}\n')
    annotated = modified_configuration(obj)
    assert json.loads(annotated["metadata"]["annotations"][LAST_APPLIED_ANNOTATION]) == {
        **obj, "metadata": {**obj["metadata"], "annotations": {}}}
    # Applying the annotated object again does not nest the annotation.
    assert last_applied_configuration(annotated) == text
