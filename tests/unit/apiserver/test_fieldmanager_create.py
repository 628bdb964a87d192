"""managedFields of a plain create, built in one walk, equal the general diff's.

`update_managed_fields(None, obj)` with no managedFields sent takes a shortcut
(`_created_fields_v1`); for objects of several kinds, with maps, sets,
associative lists, empty and null values, values of the wrong shape and
duplicate keys, the result must equal what the general path (the diff from an
empty object, then `paths_to_fields_v1`) gives, entry and key order included.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/endpoints/handlers/fieldmanager
(managedfields tests)
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from apiserver.fieldmanager import _diff, _root_schema, _tracked, update_managed_fields
from apiserver.fieldpath import paths_to_fields_v1
from apiserver.schema import schema_for_resource
from tinykube.api.resources import CONFIGMAPS, DEPLOYMENTS, PODS, SERVICES, ResourceInfo

NOW = "2026-01-01T00:00:00Z"

CASES: list[tuple[ResourceInfo, dict[str, Any]]] = [
    (CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "c", "namespace": "default", "labels": {"app": "x"}},
                  "data": {"key": "value", "index": "c"}}),
    (CONFIGMAPS, {"metadata": {"name": "empty", "labels": {}, "annotations": None},
                  "data": {}}),
    (CONFIGMAPS, {"metadata": {"name": "only-name"}}),
    (CONFIGMAPS, {"metadata": {"name": "f", "finalizers": ["a/b", "c/d"],
                               "ownerReferences": [{"uid": "u1", "kind": "X", "name": "n",
                                                    "apiVersion": "v1", "controller": True}]},
                  "data": {"k": "v"}, "binaryData": {"b": "AA=="}}),
    (CONFIGMAPS, {"metadata": {"name": "dup", "finalizers": ["a", "a"]}, "data": "not-a-map"}),
    (PODS, {"metadata": {"name": "p", "labels": {"a": "b"}},
            "spec": {"containers": [
                {"name": "app", "image": "nginx", "ports": [
                    {"containerPort": 80, "protocol": "TCP"}, {"containerPort": 53,
                                                              "protocol": "UDP"}],
                 "env": [{"name": "A", "value": "1"}, {"name": "B", "valueFrom": {
                     "fieldRef": {"fieldPath": "metadata.name"}}}],
                 "resources": {"limits": {"cpu": "1"}}, "args": ["x", "y"]},
                {"name": "side", "image": "busybox", "command": []}],
                "volumes": [{"name": "v", "emptyDir": {}}], "nodeSelector": {"k": "v"},
                "tolerations": [{"key": "k", "operator": "Exists"}]},
            "status": {"phase": "Pending"}}),
    (PODS, {"metadata": {"name": "dupe-containers"},
            "spec": {"containers": [{"name": "a"}, {"name": "a"}], "hostNetwork": None}}),
    (SERVICES, {"metadata": {"name": "s"},
                "spec": {"selector": {"app": "x"}, "type": "NodePort",
                         "ports": [{"port": 80, "targetPort": "http", "protocol": "TCP"},
                                   {"port": 443}]}}),
    (DEPLOYMENTS, {"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "d", "annotations": {"x": "y"}},
                   "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "d"}},
                            "strategy": {"type": "RollingUpdate",
                                         "rollingUpdate": {"maxSurge": "25%"}},
                            "template": {"metadata": {"labels": {"app": "d"}},
                                         "spec": {"containers": [{"name": "c",
                                                                  "image": "i"}]}}}}),
    (DEPLOYMENTS, {"metadata": {"name": "wrong-shape"}, "spec": ["not", "a", "struct"]}),
]


def general_path(info: ResourceInfo, obj: dict[str, Any]) -> dict[str, Any]:
    """The managedFields the general diff gives (what the shortcut replaces)."""
    diff = _diff({}, _tracked(obj, ""), _root_schema(schema_for_resource(info)))
    return paths_to_fields_v1(diff.added)


@pytest.mark.parametrize(("info", "obj"), CASES, ids=[o["metadata"]["name"] for _, o in CASES])
def test_create_shortcut_equals_the_general_diff(info: ResourceInfo, obj: dict[str, Any]) -> None:
    before = json.dumps(obj)
    result = update_managed_fields(None, obj, manager="m", api_version=info.api_version,
                                   schema=schema_for_resource(info), now=NOW)
    assert json.dumps(obj) == before  # the input is not changed
    expected = general_path(info, obj)
    if not expected:  # nothing but untracked fields (name): no entry at all
        assert "managedFields" not in result["metadata"]
        return
    [entry] = result["metadata"]["managedFields"]
    assert list(entry) == ["manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1"]
    assert (entry["manager"], entry["operation"], entry["time"]) == ("m", "Update", NOW)
    # json.dumps compares key order too: fieldsV1 children are sorted as upstream emits them
    assert json.dumps(entry["fieldsV1"]) == json.dumps(expected)


def test_nothing_tracked_means_no_managed_fields() -> None:
    result = update_managed_fields(None, {"kind": "ConfigMap", "metadata": {"name": "x",
                                                                           "managedFields": None}},
                                   manager="m", api_version="v1",
                                   schema=schema_for_resource(CONFIGMAPS), now=NOW)
    assert "managedFields" not in result["metadata"]


def test_managed_fields_sent_with_a_create_take_the_general_path() -> None:
    sent = [{"manager": "other", "operation": "Update", "apiVersion": "v1", "time": NOW,
             "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:a": {}}}}]
    result = update_managed_fields(None, {"metadata": {"name": "x", "managedFields": sent},
                                          "data": {"a": "1", "b": "2"}},
                                   manager="m", api_version="v1",
                                   schema=schema_for_resource(CONFIGMAPS), now=NOW)
    managers = {e["manager"]: e["fieldsV1"] for e in result["metadata"]["managedFields"]}
    assert managers == {"m": {"f:data": {".": {}, "f:a": {}, "f:b": {}}}}
