"""Tests for apiserver.openapi: the /openapi/v3 documents kubectl apply and explain read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from apiserver.openapi import (
    PATCH_CONTENT_TYPES,
    definition_name,
    document_hash,
    openapi_v3_document,
    openapi_v3_root,
)
from tinykube.api.resources import INDEX, RESOURCES, ResourceInfo

SCHEMAS = "#/components/schemas/"


def kubectl_supports_field_validation(document: dict[str, Any], info: ResourceInfo) -> bool:
    """kubectl's check: a `patch` operation with this GVK and its own `fieldValidation` param."""
    gvk = {"group": info.group, "version": info.version, "kind": info.kind}
    for path_item in document["paths"].values():
        patch = path_item.get("patch")
        if not patch or patch.get("x-kubernetes-group-version-kind") != gvk:
            continue
        if any(p.get("name") == "fieldValidation" and p.get("in") == "query" for p in patch["parameters"]):
            return True
    return False


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):  # not JSONSchemaProps' "$ref" property
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def component(info: ResourceInfo, name: str) -> dict[str, Any]:
    document = openapi_v3_document(info.group, info.version)
    assert document is not None
    return document["components"]["schemas"][name]


def test_root_lists_every_group_version_with_its_hash() -> None:
    root = openapi_v3_root()
    expected = {f"apis/{g}/{v}" if g else f"api/{v}" for g, v in INDEX.group_versions()}
    assert set(root["paths"]) == expected
    assert root["paths"]["api/v1"]["serverRelativeURL"] == f"/openapi/v3/api/v1?hash={document_hash('', 'v1')}"
    assert root["paths"]["apis/apps/v1"]["serverRelativeURL"].startswith("/openapi/v3/apis/apps/v1?hash=")


def test_unserved_group_version() -> None:
    assert openapi_v3_document("batch", "v1beta1") is None
    assert openapi_v3_document("apps", "v1beta1") is None


def test_documents_are_cached_and_hashes_stable() -> None:
    assert openapi_v3_document("apps", "v1") is openapi_v3_document("apps", "v1")
    assert document_hash("apps", "v1") == document_hash("apps", "v1")
    assert document_hash("apps", "v1") != document_hash("", "v1")


@pytest.mark.parametrize(("group", "version"), INDEX.group_versions())
def test_document_shape(group: str, version: str) -> None:
    document = openapi_v3_document(group, version)
    assert document is not None
    assert document["openapi"] == "3.0.0"
    assert {"title", "version"} <= set(document["info"])
    json.dumps(document)  # serializable as is
    schemas = document["components"]["schemas"]
    for ref in refs(document):
        assert ref.startswith(SCHEMAS)
        assert ref[len(SCHEMAS):] in schemas, ref


@pytest.mark.parametrize("info", RESOURCES, ids=lambda info: info.group_resource)
def test_kubectl_field_validation_lookup(info: ResourceInfo) -> None:
    document = openapi_v3_document(info.group, info.version)
    assert document is not None
    assert kubectl_supports_field_validation(document, info)


@pytest.mark.parametrize("info", RESOURCES, ids=lambda info: info.group_resource)
def test_paths_and_patch_content_types(info: ResourceInfo) -> None:
    document = openapi_v3_document(info.group, info.version)
    assert document is not None
    item = info.base_path("{namespace}") + "/{name}"
    assert set(document["paths"][item]) >= {"get", "put", "patch", "delete", "parameters"}
    assert set(document["paths"][info.base_path("{namespace}")]) >= {"get", "post", "delete"}
    assert tuple(document["paths"][item]["patch"]["requestBody"]["content"]) == PATCH_CONTENT_TYPES
    if info.has_status:
        assert "patch" in document["paths"][item + "/status"]
    if "scale" in info.subresources:
        scale = document["paths"][item + "/scale"]["patch"]
        assert scale["x-kubernetes-group-version-kind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}


@pytest.mark.parametrize("info", RESOURCES, ids=lambda info: info.group_resource)
def test_kinds_carry_a_gvk_array(info: ResourceInfo) -> None:
    schema = component(info, definition_name(info.model))
    assert schema["x-kubernetes-group-version-kind"] == [
        {"group": info.group, "kind": info.kind, "version": info.version},
    ]
    assert {"apiVersion", "kind", "metadata"} <= set(schema["properties"])


@pytest.mark.parametrize(
    ("model", "name"),
    [
        ("V1Pod", "io.k8s.api.core.v1.Pod"),
        ("V1PodTemplateSpec", "io.k8s.api.core.v1.PodTemplateSpec"),
        ("CoreV1Event", "io.k8s.api.core.v1.Event"),
        ("V1Deployment", "io.k8s.api.apps.v1.Deployment"),
        ("V1RollingUpdateDeployment", "io.k8s.api.apps.v1.RollingUpdateDeployment"),
        ("V1Ingress", "io.k8s.api.networking.v1.Ingress"),
        ("V2HorizontalPodAutoscaler", "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler"),
        ("V1Lease", "io.k8s.api.coordination.v1.Lease"),
        ("V1StorageClass", "io.k8s.api.storage.v1.StorageClass"),
        ("V1TopologySelectorTerm", "io.k8s.api.core.v1.TopologySelectorTerm"),
        ("V1Scale", "io.k8s.api.autoscaling.v1.Scale"),
        ("V1ObjectMeta", "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        ("V1OwnerReference", "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference"),
        ("V1LabelSelector", "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"),
        ("V1Condition", "io.k8s.apimachinery.pkg.apis.meta.v1.Condition"),
        ("V1Status", "io.k8s.apimachinery.pkg.apis.meta.v1.Status"),
    ],
)
def test_definition_names(model: str, name: str) -> None:
    assert definition_name(model) == name


@pytest.mark.parametrize(
    ("group", "version", "name"),
    [
        ("", "v1", "io.k8s.api.core.v1.Pod"),
        ("", "v1", "io.k8s.api.core.v1.PodList"),
        ("", "v1", "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        ("", "v1", "io.k8s.apimachinery.pkg.apis.meta.v1.Time"),
        ("", "v1", "io.k8s.apimachinery.pkg.util.intstr.IntOrString"),
        ("", "v1", "io.k8s.apimachinery.pkg.api.resource.Quantity"),
        ("", "v1", "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"),
        ("apps", "v1", "io.k8s.api.apps.v1.Deployment"),
        ("apps", "v1", "io.k8s.api.core.v1.PodTemplateSpec"),
        ("apps", "v1", "io.k8s.api.autoscaling.v1.Scale"),
    ],
)
def test_components_present(group: str, version: str, name: str) -> None:
    document = openapi_v3_document(group, version)
    assert document is not None
    assert name in document["components"]["schemas"]


def _property(group: str, version: str, schema: str, prop: str) -> dict[str, Any]:
    document = openapi_v3_document(group, version)
    assert document is not None
    return document["components"]["schemas"][schema]["properties"][prop]


@pytest.mark.parametrize(
    ("schema", "prop", "extensions"),
    [
        ("io.k8s.api.core.v1.PodSpec", "containers", {
            "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge",
            "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]}),
        ("io.k8s.api.core.v1.PodSpec", "volumes", {
            "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge,retainKeys"}),
        ("io.k8s.api.core.v1.ServiceSpec", "ports", {
            "x-kubernetes-patch-merge-key": "port", "x-kubernetes-list-map-keys": ["port", "protocol"]}),
        ("io.k8s.api.core.v1.PodSpec", "tolerations", {"x-kubernetes-list-type": "atomic"}),
        ("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers", {
            "x-kubernetes-patch-strategy": "merge", "x-kubernetes-list-type": "set"}),
    ],
)
def test_patch_extensions(schema: str, prop: str, extensions: dict[str, Any]) -> None:
    field = _property("", "v1", schema, prop)
    assert {key: field.get(key) for key in extensions} == extensions
    if prop in ("finalizers", "tolerations"):
        assert "x-kubernetes-patch-merge-key" not in field


def test_deployment_strategy_retain_keys() -> None:
    strategy = _property("apps", "v1", "io.k8s.api.apps.v1.DeploymentSpec", "strategy")
    assert strategy["x-kubernetes-patch-strategy"] == "retainKeys"
    assert strategy["allOf"] == [{"$ref": SCHEMAS + "io.k8s.api.apps.v1.DeploymentStrategy"}]


@pytest.mark.parametrize(
    ("schema", "prop", "expected"),
    [
        ("io.k8s.api.core.v1.Pod", "metadata",
         {"allOf": [{"$ref": SCHEMAS + "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]}),
        ("io.k8s.api.core.v1.ServicePort", "targetPort",
         {"allOf": [{"$ref": SCHEMAS + "io.k8s.apimachinery.pkg.util.intstr.IntOrString"}]}),
        ("io.k8s.api.core.v1.ResourceRequirements", "limits",
         {"type": "object", "additionalProperties": {"$ref": SCHEMAS + "io.k8s.apimachinery.pkg.api.resource.Quantity"}}),
        ("io.k8s.api.core.v1.PodSpec", "containers",
         {"type": "array", "items": {"$ref": SCHEMAS + "io.k8s.api.core.v1.Container"}}),
        ("io.k8s.api.core.v1.PodSpec", "nodeSelector",
         {"type": "object", "additionalProperties": {"type": "string"}}),
        ("io.k8s.api.core.v1.PodSpec", "hostNetwork", {"type": "boolean"}),
        ("io.k8s.api.core.v1.ContainerPort", "containerPort", {"type": "integer"}),
    ],
)
def test_property_shapes(schema: str, prop: str, expected: dict[str, Any]) -> None:
    field = _property("", "v1", schema, prop)
    assert {key: field[key] for key in expected} == expected
    assert field["description"]


def test_required_and_descriptions_for_explain() -> None:
    document = openapi_v3_document("", "v1")
    assert document is not None
    container = document["components"]["schemas"]["io.k8s.api.core.v1.Container"]
    assert container["required"] == ["name"]
    assert container["type"] == "object"
    assert container["description"].startswith("A single application container")
