"""Tests for apiserver.schema: the field tree derived from the kubernetes client models."""

from __future__ import annotations

import pytest

from apiserver.integer_formats import INT64_FIELDS
from apiserver.schema import (
    INT_OR_STRING_FIELDS,
    PATCH_TAGS,
    QUANTITY_FIELDS,
    SCHEMA_TYPES,
    FieldSchema,
    schema_for_model,
    schema_for_resource,
)
from tinykube.api.resources import INDEX, RESOURCES


def walk(schema: FieldSchema, path: str) -> FieldSchema:
    """Follow a dotted path; `[]` steps into array items and map values."""
    for part in path.split("."):
        if part == "[]":
            assert schema.items is not None, path
            schema = schema.items
        else:
            schema = schema.fields[part]
    return schema


@pytest.mark.parametrize(
    ("model", "path", "strategy", "merge_key", "list_type", "map_keys"),
    [
        ("V1PodSpec", "containers", "merge", "name", "map", ("name",)),
        ("V1PodSpec", "initContainers", "merge", "name", "map", ("name",)),
        ("V1PodSpec", "ephemeralContainers", "merge", "name", "map", ("name",)),
        ("V1PodSpec", "volumes", "merge,retainKeys", "name", "map", ("name",)),
        ("V1PodSpec", "imagePullSecrets", "merge", "name", "map", ("name",)),
        ("V1PodSpec", "hostAliases", "merge", "ip", "map", ("ip",)),
        ("V1PodSpec", "tolerations", None, None, "atomic", ()),
        ("V1Container", "env", "merge", "name", "map", ("name",)),
        ("V1Container", "ports", "merge", "containerPort", "map", ("containerPort", "protocol")),
        ("V1Container", "volumeMounts", "merge", "mountPath", "map", ("mountPath",)),
        ("V1Container", "volumeDevices", "merge", "devicePath", "map", ("devicePath",)),
        ("V1Container", "envFrom", None, None, "atomic", ()),
        ("V1ServiceSpec", "ports", "merge", "port", "map", ("port", "protocol")),
        ("V1ObjectMeta", "finalizers", "merge", None, "set", ()),
        ("V1ObjectMeta", "ownerReferences", "merge", "uid", "map", ("uid",)),
        ("V1PodStatus", "conditions", "merge", "type", "map", ("type",)),
        ("V1PodStatus", "containerStatuses", None, None, "atomic", ()),
        ("V1NodeStatus", "conditions", "merge", "type", "map", ("type",)),
        ("V1NodeStatus", "addresses", "merge", "type", "atomic", ()),
        ("V1NodeSpec", "taints", None, None, "atomic", ()),
        ("V1DeploymentStatus", "conditions", "merge", "type", "map", ("type",)),
        ("V1ReplicaSetStatus", "conditions", "merge", "type", "map", ("type",)),
        ("V1StatefulSetStatus", "conditions", "merge", "type", "map", ("type",)),
        ("V1DaemonSetStatus", "conditions", "merge", "type", "map", ("type",)),
        ("V1DeploymentSpec", "strategy", "retainKeys", None, None, ()),
        ("V1EndpointSubset", "addresses", None, None, "atomic", ()),
        ("V1EndpointSubset", "ports", None, None, "atomic", ()),
        ("V1PodSpec", "nodeSelector", None, None, None, ()),
    ],
)
def test_patch_tags(
    model: str, path: str, strategy: str | None, merge_key: str | None,
    list_type: str | None, map_keys: tuple[str, ...],
) -> None:
    field = walk(schema_for_model(model), path)
    assert (field.patch_strategy, field.patch_merge_key, field.list_type, field.list_map_keys) == (
        strategy, merge_key, list_type, map_keys,
    )


def test_pod_containers_merge_key_reached_from_the_resource() -> None:
    pod = schema_for_resource(INDEX.require("pods"))
    containers = walk(pod, "spec.containers")
    assert containers.type == "array"
    assert containers.patch_merge_key == "name"
    assert containers.items is not None and containers.items.model == "V1Container"


@pytest.mark.parametrize(
    ("model", "path", "type_", "item_type"),
    [
        ("V1Deployment", "spec.replicas", "integer", None),
        ("V1Deployment", "spec.paused", "boolean", None),
        ("V1Deployment", "spec.template.spec.containers", "array", "object"),
        ("V1Deployment", "spec.strategy.rollingUpdate.maxSurge", "int-or-string", None),
        ("V1Deployment", "spec.strategy.rollingUpdate.maxUnavailable", "int-or-string", None),
        ("V1Service", "spec.ports.[].targetPort", "int-or-string", None),
        ("V1Service", "spec.ports.[].port", "integer", None),
        ("V1Probe", "httpGet.port", "int-or-string", None),
        ("V1Probe", "tcpSocket.port", "int-or-string", None),
        ("V1Container", "resources.limits", "map", "quantity"),
        ("V1Container", "resources.requests", "map", "quantity"),
        ("V1Node", "status.capacity", "map", "quantity"),
        ("V1Node", "status.allocatable", "map", "quantity"),
        ("V1PersistentVolume", "spec.capacity", "map", "quantity"),
        ("V1PersistentVolumeClaim", "spec.resources.requests", "map", "quantity"),
        ("V1EmptyDirVolumeSource", "sizeLimit", "quantity", None),
        ("V1ObjectMeta", "creationTimestamp", "date-time", None),
        ("V1ObjectMeta", "deletionTimestamp", "date-time", None),
        ("V1ObjectMeta", "labels", "map", "string"),
        ("V1ObjectMeta", "finalizers", "array", "string"),
        ("V1ObjectMeta", "managedFields.[].fieldsV1", "any", None),
        ("V1Secret", "data", "map", "string"),
        ("V1ConfigMap", "data", "map", "string"),
        ("V1Deployment", "apiVersion", "string", None),
    ],
)
def test_field_types(model: str, path: str, type_: str, item_type: str | None) -> None:
    field = walk(schema_for_model(model), path)
    assert field.type == type_
    assert (field.items.type if field.items else None) == item_type


@pytest.mark.parametrize(
    ("model", "required"),
    [
        ("V1Container", {"name"}),
        ("V1ContainerPort", {"containerPort"}),
        ("V1DeploymentSpec", {"selector", "template"}),
        ("V1PodSpec", {"containers"}),
        ("V1ServicePort", {"port"}),
        ("V1ObjectMeta", set()),
        ("V1Pod", set()),
    ],
)
def test_required_fields(model: str, required: set[str]) -> None:
    assert set(schema_for_model(model).required) == required


def test_array_items_of_models_carry_required() -> None:
    items = walk(schema_for_model("V1PodSpec"), "containers").items
    assert items is not None and items.required == ("name",)


def test_descriptions() -> None:
    deployment = schema_for_model("V1Deployment")
    assert deployment.description.startswith("Deployment enables declarative updates")
    assert "Number of desired pods" in walk(deployment, "spec.replicas").description
    # The client drops descriptions of model-typed fields; they are filled in.
    assert walk(deployment, "metadata").description.startswith("Standard object's metadata")
    assert walk(deployment, "spec.selector").description


def test_recursive_models_terminate() -> None:
    props = walk(schema_for_model("V1JSONSchemaProps"), "properties")
    assert props.type == "map"
    assert props.items is not None
    assert walk(props.items, "properties.[].properties.[].type").type == "string"


def test_schema_for_model_is_cached_and_fields_are_read_only() -> None:
    assert schema_for_model("V1Pod") is schema_for_model("V1Pod")
    with pytest.raises(TypeError):
        schema_for_model("V1Pod").fields["foo"] = FieldSchema("string")  # type: ignore[index]


def test_unknown_model() -> None:
    with pytest.raises(KeyError):
        schema_for_model("V1NoSuchThing")


def test_scalars_have_no_fields() -> None:
    assert walk(schema_for_model("V1Deployment"), "spec.replicas").fields == {}


@pytest.mark.parametrize("info", RESOURCES, ids=lambda info: info.group_resource)
def test_every_resource_has_a_schema(info: object) -> None:
    schema = schema_for_resource(info)  # type: ignore[arg-type]
    assert schema.type == "object"
    assert {"apiVersion", "kind", "metadata"} <= set(schema.fields)
    assert schema.fields["metadata"].model == "V1ObjectMeta"


def _all_fields(schema: FieldSchema, seen: set[str]) -> list[FieldSchema]:
    found = [schema]
    if schema.items is not None:
        found += _all_fields(schema.items, seen)
    if schema.model and schema.model not in seen:
        seen.add(schema.model)
        for field in schema.fields.values():
            found += _all_fields(field, seen)
    return found


@pytest.mark.parametrize("info", RESOURCES, ids=lambda info: info.group_resource)
def test_every_type_is_in_the_closed_set(info: object) -> None:
    for field in _all_fields(schema_for_resource(info), set()):  # type: ignore[arg-type]
        assert field.type in SCHEMA_TYPES


@pytest.mark.parametrize(
    "key", sorted(INT_OR_STRING_FIELDS | QUANTITY_FIELDS | set(PATCH_TAGS)),
    ids=lambda key: ".".join(key),
)
def test_every_table_entry_names_a_real_field(key: tuple[str, str]) -> None:
    model, field = key
    assert field in schema_for_model(model).fields


def test_integer_fields_carry_their_go_format() -> None:
    deployment_spec = schema_for_model("V1DeploymentSpec").fields
    assert deployment_spec["replicas"].format == "int32"
    pod_spec = schema_for_model("V1PodSpec").fields
    assert pod_spec["terminationGracePeriodSeconds"].format == "int64"
    groups = schema_for_model("V1PodSecurityContext").fields["supplementalGroups"]
    assert groups.items is not None and groups.items.format == "int64"
    assert schema_for_model("V1ObjectMeta").fields["generation"].format == "int64"


def test_every_int64_field_in_the_table_is_an_integer_field_of_its_model() -> None:
    for model, names in INT64_FIELDS.items():
        fields = schema_for_model(model).fields
        for name in names:
            field = fields[name]
            leaf = field.items if field.type in ("array", "map") else field
            assert leaf is not None and leaf.type == "integer", (model, name)
