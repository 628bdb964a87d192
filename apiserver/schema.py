"""The field schema of every served kind, derived from the official Python client.

The `kubernetes` package ships one pydantic model per API type; each has
`openapi_types` (python attribute -> type string such as 'List[V1Container]') and
`attribute_map` (python attribute -> camelCase JSON name), and its pydantic fields
carry the descriptions and which fields are required. That is almost the whole
OpenAPI schema. The client's types lose a few facts, which small commented tables
below restore: IntOrString and Quantity fields, and the strategic-merge-patch and
list-type tags that Kubernetes writes as Go struct tags in `types.go`.

Field validation (`fieldvalidation.py`), OpenAPI documents (`openapi.py`), strategic
merge patch and server-side apply all read this one tree. Schemas are immutable and
cached; recursive types are fine because an object's `fields` are built lazily.

The Kubernetes API server gets the same tree from code generated out of the Go types.

Kubernetes counterpart: pkg/generated/openapi/zz_generated.openapi.go
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import kubernetes.client.models as client_models

from apiserver.integer_formats import integer_format
from tinykube.api.resources import ResourceInfo

# The closed set of FieldSchema.type values.
SCHEMA_TYPES = frozenset({
    "object", "array", "map", "string", "integer", "number", "boolean",
    "int-or-string", "quantity", "date-time", "any",
})


@dataclass(frozen=True, eq=False)
class FieldSchema:
    """The schema of one field (or of a whole kind, for a top-level model).

    - `items` is the element schema of an "array" and the value schema of a "map".
    - `fields` exists only for "object" schemas with a `model`; it is built on first
      use and shared by every schema of that model, so recursive types terminate.
    - Patch tags (`patch_strategy`, `patch_merge_key`, `list_type`, `list_map_keys`)
      describe the field itself, so they sit on the array schema, not on its items.
    """

    type: str
    model: str | None = None
    description: str = ""
    items: FieldSchema | None = None
    patch_strategy: str | None = None
    patch_merge_key: str | None = None
    list_type: str | None = None
    list_map_keys: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    format: str | None = None  # "int32" or "int64" for an "integer"

    @property
    def fields(self) -> Mapping[str, FieldSchema]:
        """camelCase JSON name -> schema; empty for anything but a model object."""
        if self.type != "object" or self.model is None:
            return _EMPTY
        return _model_fields(self.model)


_EMPTY: Mapping[str, FieldSchema] = MappingProxyType({})

# --- Facts the Python client loses -------------------------------------------------

# IntOrString (k8s.io/apimachinery/pkg/util/intstr): the client types these as
# 'object'. They accept a number or a string such as "http" or "25%".
INT_OR_STRING_FIELDS: frozenset[tuple[str, str]] = frozenset({
    ("V1ServicePort", "targetPort"),
    ("V1HTTPGetAction", "port"),
    ("V1TCPSocketAction", "port"),
    ("V1RollingUpdateDeployment", "maxSurge"),
    ("V1RollingUpdateDeployment", "maxUnavailable"),
    ("V1RollingUpdateDaemonSet", "maxSurge"),
    ("V1RollingUpdateDaemonSet", "maxUnavailable"),
    ("V1RollingUpdateStatefulSetStrategy", "maxUnavailable"),
    ("V1PodDisruptionBudgetSpec", "minAvailable"),
    ("V1PodDisruptionBudgetSpec", "maxUnavailable"),
    ("V1NetworkPolicyPort", "port"),
})

# resource.Quantity (k8s.io/apimachinery/pkg/api/resource): the client types these
# as 'str' (or as 'Dict[str, str]' for ResourceList maps, where the values are the
# quantities). The wire accepts "500m", "1Gi", or a bare number.
QUANTITY_FIELDS: frozenset[tuple[str, str]] = frozenset({
    ("V1ResourceRequirements", "limits"),
    ("V1ResourceRequirements", "requests"),
    ("V1VolumeResourceRequirements", "limits"),
    ("V1VolumeResourceRequirements", "requests"),
    ("V1NodeStatus", "capacity"),
    ("V1NodeStatus", "allocatable"),
    ("V1PersistentVolumeSpec", "capacity"),
    ("V1PersistentVolumeClaimStatus", "capacity"),
    ("V1PersistentVolumeClaimStatus", "allocatedResources"),
    ("V1ContainerStatus", "allocatedResources"),
    ("V1PodStatus", "allocatedResources"),
    ("V1EmptyDirVolumeSource", "sizeLimit"),
    ("V1ResourceFieldSelector", "divisor"),
    ("V1ResourceQuotaSpec", "hard"),
    ("V1ResourceQuotaStatus", "hard"),
    ("V1ResourceQuotaStatus", "used"),
    ("V1LimitRangeItem", "default"),
    ("V1LimitRangeItem", "defaultRequest"),
    ("V1LimitRangeItem", "max"),
    ("V1LimitRangeItem", "min"),
    ("V1LimitRangeItem", "maxLimitRequestRatio"),
    ("V1Overhead", "podFixed"),
    ("V1PodSpec", "overhead"),
    ("V2MetricTarget", "value"),
    ("V2MetricTarget", "averageValue"),
    ("V2MetricValueStatus", "value"),
    ("V2MetricValueStatus", "averageValue"),
})


@dataclass(frozen=True)
class _PatchTags:
    """The `patchStrategy`, `patchMergeKey` and `+listType`/`+listMapKey` of a field."""

    strategy: str | None = None
    merge_key: str | None = None
    list_type: str | None = None
    list_map_keys: tuple[str, ...] = ()


def _keyed(key: str, *more_keys: str, strategy: str = "merge") -> _PatchTags:
    """A list merged by key: `patchStrategy:"merge" patchMergeKey:"<key>"` + listType=map."""
    return _PatchTags(strategy, key, "map", (key, *more_keys))


_ATOMIC = _PatchTags(list_type="atomic")

# (model, json field) -> tags, as the struct tags in k8s.io/api/*/types.go give them.
# Strategic merge patch (kubectl apply) reads strategy/merge key; server-side apply
# reads list type/keys. A list without an entry here is replaced whole.
PATCH_TAGS: Mapping[tuple[str, str], _PatchTags] = MappingProxyType({
    # core/v1 PodSpec
    ("V1PodSpec", "containers"): _keyed("name"),
    ("V1PodSpec", "initContainers"): _keyed("name"),
    ("V1PodSpec", "ephemeralContainers"): _keyed("name"),
    ("V1PodSpec", "volumes"): _keyed("name", strategy="merge,retainKeys"),
    ("V1PodSpec", "imagePullSecrets"): _keyed("name"),
    ("V1PodSpec", "hostAliases"): _keyed("ip"),
    ("V1PodSpec", "tolerations"): _ATOMIC,
    ("V1PodSpec", "readinessGates"): _ATOMIC,
    ("V1PodSpec", "topologySpreadConstraints"): _keyed("topologyKey", "whenUnsatisfiable"),
    ("V1PodSpec", "schedulingGates"): _keyed("name"),
    ("V1PodSpec", "resourceClaims"): _keyed("name", strategy="merge,retainKeys"),
    # core/v1 Container (EphemeralContainer shares the same Go struct tags)
    **{
        (container, field): tags
        for container in ("V1Container", "V1EphemeralContainer")
        for field, tags in {
            "env": _keyed("name"),
            "envFrom": _ATOMIC,
            # Two ports may share a number with different protocols: the SMP key is
            # containerPort alone, the SSA key is (containerPort, protocol).
            "ports": _keyed("containerPort", "protocol"),
            "volumeMounts": _keyed("mountPath"),
            "volumeDevices": _keyed("devicePath"),
            "command": _ATOMIC,
            "args": _ATOMIC,
            "resizePolicy": _ATOMIC,
        }.items()
    },
    # core/v1 PodStatus and friends
    ("V1PodStatus", "conditions"): _keyed("type"),
    ("V1PodStatus", "podIPs"): _keyed("ip"),
    ("V1PodStatus", "hostIPs"): _keyed("ip"),
    ("V1PodStatus", "containerStatuses"): _ATOMIC,
    ("V1PodStatus", "initContainerStatuses"): _ATOMIC,
    ("V1PodStatus", "ephemeralContainerStatuses"): _ATOMIC,
    # core/v1 Service
    ("V1ServiceSpec", "ports"): _keyed("port", "protocol"),
    ("V1ServiceSpec", "clusterIPs"): _ATOMIC,
    ("V1ServiceSpec", "externalIPs"): _ATOMIC,
    ("V1ServiceSpec", "ipFamilies"): _ATOMIC,
    ("V1ServiceStatus", "conditions"): _keyed("type"),
    # core/v1 Endpoints: subsets are recomputed whole by the endpoints controller.
    ("V1Endpoints", "subsets"): _ATOMIC,
    ("V1EndpointSubset", "addresses"): _ATOMIC,
    ("V1EndpointSubset", "notReadyAddresses"): _ATOMIC,
    ("V1EndpointSubset", "ports"): _ATOMIC,
    # core/v1 Node: addresses keep SMP's merge key but are atomic for SSA,
    # because a node may report two addresses of one type.
    ("V1NodeSpec", "taints"): _ATOMIC,
    ("V1NodeSpec", "podCIDRs"): _PatchTags("merge", None, "set"),
    ("V1NodeStatus", "conditions"): _keyed("type"),
    ("V1NodeStatus", "addresses"): _PatchTags("merge", "type", "atomic"),
    ("V1NodeStatus", "images"): _ATOMIC,
    ("V1NamespaceStatus", "conditions"): _keyed("type"),
    ("V1PersistentVolumeClaimSpec", "accessModes"): _ATOMIC,
    ("V1PersistentVolumeClaimStatus", "conditions"): _keyed("type"),
    ("V1PersistentVolumeSpec", "accessModes"): _ATOMIC,
    # meta/v1 ObjectMeta: finalizers are a set of strings merged item by item.
    ("V1ObjectMeta", "finalizers"): _PatchTags("merge", None, "set"),
    ("V1ObjectMeta", "ownerReferences"): _keyed("uid"),
    ("V1ObjectMeta", "managedFields"): _ATOMIC,
    ("V1LabelSelector", "matchExpressions"): _ATOMIC,
    # apps/v1
    ("V1DeploymentSpec", "strategy"): _PatchTags("retainKeys"),
    ("V1DeploymentStatus", "conditions"): _keyed("type"),
    ("V1ReplicaSetStatus", "conditions"): _keyed("type"),
    ("V1StatefulSetStatus", "conditions"): _keyed("type"),
    ("V1StatefulSetSpec", "volumeClaimTemplates"): _ATOMIC,
    ("V1DaemonSetStatus", "conditions"): _keyed("type"),
    # networking.k8s.io/v1, autoscaling/v2
    ("V1IngressSpec", "rules"): _ATOMIC,
    ("V1IngressSpec", "tls"): _ATOMIC,
    ("V2HorizontalPodAutoscalerSpec", "metrics"): _ATOMIC,
    ("V2HorizontalPodAutoscalerStatus", "conditions"): _keyed("type"),
})

# --- Building the tree -------------------------------------------------------------

_PRIMITIVES: Mapping[str, str] = MappingProxyType({
    "str": "string",
    "bytes": "string",  # base64 on the wire (Secret data)
    "date": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "datetime": "date-time",  # metav1.Time and MicroTime: RFC 3339 strings
    "object": "any",  # RawExtension, FieldsV1, JSON: free-form
})
_API_CONVENTIONS = "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md"
_STANDARD_DESCRIPTIONS: Mapping[str, str] = MappingProxyType({
    "metadata": f"Standard object's metadata. More info: {_API_CONVENTIONS}#metadata",
    "spec": f"Specification of the desired behavior. More info: {_API_CONVENTIONS}#spec-and-status",
    "status": f"Most recently observed status. Populated by the system. Read-only. "
              f"More info: {_API_CONVENTIONS}#spec-and-status",
})
_LIST = re.compile(r"^List\[(.+)\]$")
_DICT = re.compile(r"^Dict\[str, (.+)\]$")


def model_class(model: str) -> type[Any]:
    """The client class for a model name; KeyError if the client has no such model."""
    cls = getattr(client_models, model, None)
    if cls is None or not hasattr(cls, "openapi_types"):
        raise KeyError(f"no model {model!r} in kubernetes.client.models")
    return cls


def is_model(type_name: str) -> bool:
    """Whether a type string names a client model (not 'str', 'List', 'Dict', ...)."""
    if type_name in _PRIMITIVES:
        return False
    return hasattr(getattr(client_models, type_name, None), "openapi_types")


@functools.cache
def schema_for_model(model: str) -> FieldSchema:
    """The schema of a whole model, e.g. "V1PodSpec" (cached; one object per model)."""
    cls = model_class(model)
    required = tuple(
        cls.attribute_map[attr]
        for attr, info in cls.model_fields.items()
        if info.is_required() and attr in cls.attribute_map
    )
    return FieldSchema("object", model, _class_description(cls), required=required)


def schema_for_resource(info: ResourceInfo) -> FieldSchema:
    """The schema of a served resource's objects, e.g. V1Deployment for deployments."""
    return schema_for_model(info.model)


def build_schemas(infos: list[ResourceInfo]) -> int:
    """Build every model's fields under these kinds now; returns how many models.

    Fields are built on first use, which for a whole Pod tree is seconds of pure
    Python. The API server calls this once, in a thread, before it says ready, so
    no request pays for it on the event loop."""
    seen: set[str] = set()
    pending = [info.model for info in infos]
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        for field in schema_for_model(model).fields.values():
            while field.items is not None:
                field = field.items
            if field.model is not None:
                pending.append(field.model)
    return len(seen)


@functools.cache
def _model_fields(model: str) -> Mapping[str, FieldSchema]:
    cls = model_class(model)
    fields: dict[str, FieldSchema] = {}
    for attr, type_name in cls.openapi_types.items():
        json_name = cls.attribute_map[attr]
        info = cls.model_fields.get(attr)
        description = (info.description or "") if info is not None else ""
        fields[json_name] = _field_schema(model, json_name, type_name, description)
    return MappingProxyType(fields)


def _field_schema(model: str, json_name: str, type_name: str, description: str) -> FieldSchema:
    key = (model, json_name)
    tags = PATCH_TAGS.get(key, _PatchTags())
    if key in INT_OR_STRING_FIELDS:
        return FieldSchema("int-or-string", description=description)
    leaf = "quantity" if key in QUANTITY_FIELDS else None
    shape = _parse_type(type_name, leaf, integer_format(model, json_name))
    if not description and shape.model is not None:
        # The client drops descriptions of fields whose type is another model.
        description = _STANDARD_DESCRIPTIONS.get(json_name) or schema_for_model(shape.model).description
    return FieldSchema(
        shape.type, shape.model, description, shape.items,
        tags.strategy, tags.merge_key, tags.list_type, tags.list_map_keys, shape.required,
        shape.format,
    )


def _parse_type(type_name: str, leaf: str | None, int_format: str) -> FieldSchema:
    """Turn a client type string into a description-less schema.

    `leaf` replaces the innermost primitive type (used for Quantity maps);
    `int_format` is the format of the innermost integer ("int32" or "int64").
    """
    if match := _LIST.match(type_name):
        return FieldSchema("array", items=_parse_type(match.group(1), leaf, int_format))
    if match := _DICT.match(type_name):
        return FieldSchema("map", items=_parse_type(match.group(1), leaf, int_format))
    if type_name in _PRIMITIVES:
        primitive = leaf or _PRIMITIVES[type_name]
        return FieldSchema(primitive, format=int_format if primitive == "integer" else None)
    model = schema_for_model(type_name)
    return FieldSchema("object", type_name, required=model.required)


def _class_description(cls: type[Any]) -> str:
    """The first paragraph of the generated class docstring (before "Attributes:")."""
    doc = (cls.__doc__ or "").strip()
    head = doc.split("Attributes:", 1)[0]
    return " ".join(head.split())
