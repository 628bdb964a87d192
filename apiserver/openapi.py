"""OpenAPI v3 documents: what `kubectl apply` and `kubectl explain` read.

`GET /openapi/v3` lists one document per group-version with a content hash in its
URL; each document has the REST paths of that group-version and the schemas of
every type they reach, built from `apiserver.schema`. kubectl uses them to:

- decide it may skip client-side validation: some path's `patch` operation carries
  `x-kubernetes-group-version-kind` equal to the object's GVK and lists a query
  parameter named `fieldValidation` among its own parameters;
- build a strategic merge patch from the `x-kubernetes-patch-*` extensions, when
  that operation's request body accepts `application/strategic-merge-patch+json`;
- print `kubectl explain` from `components.schemas` (kinds carry a GVK array).

Schema names follow Kubernetes (`io.k8s.api.apps.v1.Deployment`). Documents are
static, so they and their hashes are computed once; callers must not mutate them.

Kubernetes counterpart: staging/src/k8s.io/kube-openapi/pkg/handler3/handler.go and pkg/builder3/openapi.go
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import re
from collections.abc import Iterable
from typing import Any

from apiserver.schema import FieldSchema, is_model, model_class, schema_for_model
from tinykube.api.resources import INDEX, RESOURCES, ResourceInfo

INFO_VERSION = "v1.32.0+tinykube"
SCHEMA_PREFIX = "#/components/schemas/"

_META = "io.k8s.apimachinery.pkg.apis.meta.v1"
TIME = f"{_META}.Time"
PATCH = f"{_META}.Patch"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"

# Types that live in k8s.io/apimachinery, not k8s.io/api/<group>/<version>.
APIMACHINERY_MODELS: dict[str, str] = {
    f"V1{name}": f"{_META}.{name}"
    for name in (
        "ObjectMeta", "ListMeta", "OwnerReference", "ManagedFieldsEntry", "LabelSelector",
        "LabelSelectorRequirement", "Condition", "Status", "StatusDetails", "StatusCause",
        "DeleteOptions", "Preconditions", "WatchEvent",
    )
}
# Models the package rule below would place wrongly: Scale is autoscaling/v1 wherever
# it is served, and the topology selector types are core/v1 although only
# StorageClass uses them.
MODEL_PACKAGE_OVERRIDES: dict[str, str] = {
    "V1Scale": "io.k8s.api.autoscaling.v1",
    "V1ScaleSpec": "io.k8s.api.autoscaling.v1",
    "V1ScaleStatus": "io.k8s.api.autoscaling.v1",
    "V1TopologySelectorTerm": "io.k8s.api.core.v1",
    "V1TopologySelectorLabelRequirement": "io.k8s.api.core.v1",
}
# Leaf types with names of their own in Kubernetes' documents. Like Kubernetes' v3
# documents, IntOrString and Quantity have `oneOf` and no `type`, so kubectl explain
# prints them as <IntOrString> and <Quantity>; Time prints as <string>.
_LEAF_TYPES: dict[str, tuple[str, dict[str, Any]]] = {
    "date-time": (TIME, {
        "description": "Time is a wrapper around time.Time which supports correct marshaling "
                       "to YAML and JSON. RFC 3339 format.",
        "type": "string", "format": "date-time",
    }),
    "int-or-string": (INT_OR_STRING, {
        "description": "IntOrString is a type that can hold an int32 or a string.",
        "format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}],
    }),
    "quantity": (QUANTITY, {
        "description": "Quantity is a fixed-point representation of a number, e.g. "
                       "\"500m\", \"1Gi\" or 2.",
        "oneOf": [{"type": "string"}, {"type": "number"}],
    }),
}
PATCH_CONTENT_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
)
_RESPONSE_CONTENT_TYPES = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
_VERSION_PREFIX = re.compile(r"^(?:[A-Z][a-z]+)*?V\d+(?:(?:alpha|beta)\d+)?(?=[A-Z])")


# --- Public API ----------------------------------------------------------------------


def openapi_v3_root() -> dict[str, Any]:
    """The `GET /openapi/v3` body: each group-version's document URL with its hash."""
    paths = {}
    for group, version in INDEX.group_versions():
        key = _document_key(group, version)
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={document_hash(group, version)}"}
    return {"paths": paths}


def openapi_v3_document(group: str, version: str) -> dict[str, Any] | None:
    """The document for one group-version ("" is core), or None if it is not served.
    Custom resources' documents change with their CRDs (`custom_document`)."""
    from apiserver.apiextensions.openapi import custom_document

    return custom_document(group, version) or builtin_document(group, version)


@functools.cache
def builtin_document(group: str, version: str) -> dict[str, Any] | None:
    """The (static) document of a built-in group-version, None for any other."""
    resources = [r for r in RESOURCES if (r.group, r.version) == (group, version)]
    if not resources:
        return None
    return _DocumentBuilder(group, version, resources).build()


def document_hash(group: str, version: str) -> str:
    """A stable hash of the serialized document; changes whenever the document does."""
    builtin = builtin_document(group, version)
    if builtin is not None:
        return _builtin_hash(group, version)
    return _hash(openapi_v3_document(group, version))


@functools.cache
def _builtin_hash(group: str, version: str) -> str:
    return _hash(builtin_document(group, version))


def _hash(document: dict[str, Any] | None) -> str:
    serialized = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha512(serialized).hexdigest().upper()


def definition_name(model: str) -> str:
    """The Kubernetes schema name of a client model: V1Deployment -> io.k8s.api.apps.v1.Deployment."""
    if model in APIMACHINERY_MODELS:
        return APIMACHINERY_MODELS[model]
    package = MODEL_PACKAGE_OVERRIDES.get(model) or _model_packages().get(model, "io.k8s.api.core.v1")
    return f"{package}.{_VERSION_PREFIX.sub('', model)}"


def _document_key(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _package(group: str, version: str) -> str:
    if group == "apiextensions.k8s.io":  # served by kube-apiserver's apiextensions-apiserver
        return f"io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.{version}"
    return f"io.k8s.api.{group.split('.')[0] if group else 'core'}.{version}"


@functools.cache
def _model_packages() -> dict[str, str]:
    """model -> package for every model reachable from a served resource.

    The Python client's names drop the API group, so derive it: everything reachable
    from the core/v1 API is core/v1 (that covers PodTemplateSpec inside a Deployment);
    the rest belongs to the group of the served resource that reaches it.
    """
    core = _reachable(
        name for name, value in vars(importlib.import_module("kubernetes.client.api.core_v1_api")).items()
        if isinstance(value, type) and hasattr(value, "openapi_types")
    )
    packages: dict[str, str] = {}
    for info in RESOURCES:
        for model in _reachable([info.model]):
            if model in MODEL_PACKAGE_OVERRIDES:
                packages[model] = MODEL_PACKAGE_OVERRIDES[model]
            elif model in core:
                packages[model] = "io.k8s.api.core.v1"
            else:
                packages.setdefault(model, _package(info.group, info.version))
    return packages


def _reachable(roots: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        model = stack.pop()
        if model in seen:
            continue
        seen.add(model)
        for type_name in model_class(model).openapi_types.values():
            stack.extend(name for name in re.findall(r"\w+", type_name) if is_model(name))
    return seen


# --- Building one document -----------------------------------------------------------


class _DocumentBuilder:
    """Builds paths first; every `$ref` it hands out queues that schema for `components`."""

    def __init__(self, group: str, version: str, resources: list[ResourceInfo]) -> None:
        self.group = group
        self.version = version
        self.resources = resources
        self.schemas: dict[str, dict[str, Any]] = {}
        self.pending: list[str] = []
        self.kinds: dict[str, dict[str, str]] = {}  # model -> its GVK, for top-level types
        for info in resources:
            self.kinds[info.model] = _gvk(info.group, info.version, info.kind)
            if is_model(info.model + "List"):
                self.kinds[info.model + "List"] = _gvk(info.group, info.version, info.kind + "List")
        self.kinds["V1Scale"] = _gvk("autoscaling", "v1", "Scale")

    def build(self) -> dict[str, Any]:
        paths: dict[str, Any] = {}
        for info in self.resources:
            paths.update(_paths_for(info, self))
        for model in ("V1Status", "V1DeleteOptions"):
            self.ref(model)
        self.schemas[PATCH] = {
            "description": "Patch is provided to give a concrete name and type to the "
                           "Kubernetes PATCH request body.",
            "type": "object",
        }
        while self.pending:
            self._add_component(self.pending.pop())
        title = f"Kubernetes {_document_key(self.group, self.version)}"
        return {
            "openapi": "3.0.0",
            "info": {"title": title, "version": INFO_VERSION},
            "paths": paths,
            "components": {"schemas": dict(sorted(self.schemas.items()))},
        }

    def ref(self, model: str) -> dict[str, str]:
        name = definition_name(model)
        if name not in self.schemas:
            self.schemas[name] = {}  # placeholder, filled when the queue drains
            self.pending.append(model)
        return {"$ref": SCHEMA_PREFIX + name}

    def ref_patch(self) -> dict[str, str]:
        return {"$ref": SCHEMA_PREFIX + PATCH}

    def leaf_ref(self, schema_type: str) -> dict[str, str]:
        name, body = _LEAF_TYPES[schema_type]
        self.schemas.setdefault(name, body)
        return {"$ref": SCHEMA_PREFIX + name}

    def _add_component(self, model: str) -> None:
        schema = schema_for_model(model)
        component: dict[str, Any] = {"description": schema.description, "type": "object"}
        component["properties"] = {
            name: self.property(field) for name, field in sorted(schema.fields.items())
        }
        if schema.required:
            component["required"] = list(schema.required)
        if model in self.kinds:
            component["x-kubernetes-group-version-kind"] = [self.kinds[model]]
        self.schemas[definition_name(model)] = component

    def property(self, field: FieldSchema) -> dict[str, Any]:
        """One property, shaped as Kubernetes' own v3 documents shape it."""
        extras: dict[str, Any] = {}
        # A description equal to the referenced type's own (schema.py's fallback when
        # the client lost the field's) would print twice in kubectl explain.
        if field.description and not (
            field.model and field.description == schema_for_model(field.model).description
        ):
            extras["description"] = field.description
        if field.list_type:
            extras["x-kubernetes-list-type"] = field.list_type
        if field.list_map_keys and field.list_type == "map":
            extras["x-kubernetes-list-map-keys"] = list(field.list_map_keys)
        if field.patch_merge_key:
            extras["x-kubernetes-patch-merge-key"] = field.patch_merge_key
        if field.patch_strategy:
            extras["x-kubernetes-patch-strategy"] = field.patch_strategy
        out = self.schema_of(field)
        if "$ref" in out and extras:
            out = {"allOf": [out]}  # a $ref has no siblings in OpenAPI 3.0: wrap it
        return {**out, **extras}

    def schema_of(self, field: FieldSchema) -> dict[str, Any]:
        if field.type == "object" and field.model:
            return self.ref(field.model)
        if field.type in _LEAF_TYPES:
            return self.leaf_ref(field.type)
        if field.type == "array" and field.items is not None:
            return {"type": "array", "items": self.schema_of(field.items)}
        if field.type == "map" and field.items is not None:
            return {"type": "object", "additionalProperties": self.schema_of(field.items)}
        if field.type == "number":
            return {"type": "number", "format": "double"}
        if field.type == "integer":
            return {"type": "integer", "format": field.format or "int32"}
        if field.type in ("string", "boolean"):
            return {"type": field.type}
        return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}  # "any"


def _gvk(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "kind": kind, "version": version}


# --- Paths and operations ------------------------------------------------------------

# Query parameters, inlined into each operation as Kubernetes' v3 documents do;
# kubectl looks for `fieldValidation` in the patch operation's own list.
_QUERY_PARAMETERS: dict[str, tuple[str, str]] = {
    "allowWatchBookmarks": ("boolean", "Ask for BOOKMARK events on a watch."),
    "continue": ("string", "The continue token from a previous page of a list."),
    "fieldSelector": ("string", "Restrict the returned objects by their fields."),
    "labelSelector": ("string", "Restrict the returned objects by their labels."),
    "limit": ("integer", "The maximum number of objects in one page of a list."),
    "resourceVersion": ("string", "Which version of the collection to list or watch from."),
    "resourceVersionMatch": ("string", "How resourceVersion applies to a list."),
    "sendInitialEvents": ("boolean", "Start a watch with synthetic ADDED events."),
    "timeoutSeconds": ("integer", "How long a list or watch call may last."),
    "watch": ("boolean", "Stream add, update and delete events instead of listing."),
    "dryRun": ("string", "`All` runs every stage of the request but persists nothing."),
    "fieldManager": ("string", "The name of the actor making the change (server-side apply)."),
    "fieldValidation": (
        "string",
        "How to treat unknown or duplicate fields in the body: Ignore, Warn or Strict.",
    ),
    "force": ("boolean", "Take over conflicting fields on an apply patch."),
    "gracePeriodSeconds": ("integer", "Seconds before the object is deleted."),
    "propagationPolicy": ("string", "Orphan, Background or Foreground garbage collection."),
}
_LIST_PARAMS = (
    "allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit",
    "resourceVersion", "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds", "watch",
)
_WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")
_DELETE_PARAMS = ("dryRun", "gracePeriodSeconds", "propagationPolicy")


def _query(*names: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "query", "description": _QUERY_PARAMETERS[name][1],
         "schema": {"type": _QUERY_PARAMETERS[name][0], "uniqueItems": True}}
        for name in names
    ]


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "description": description, "required": True,
            "schema": {"type": "string", "uniqueItems": True}}


def _responses(ref: dict[str, str], *codes: str) -> dict[str, Any]:
    body = {content_type: {"schema": ref} for content_type in _RESPONSE_CONTENT_TYPES}
    names = {"200": "OK", "201": "Created", "202": "Accepted"}
    responses: dict[str, Any] = {code: {"description": names[code], "content": body} for code in codes}
    responses["401"] = {"description": "Unauthorized"}
    return responses


def _operation_prefix(group: str, version: str) -> str:
    """listCoreV1…, patchAppsV1…, createNetworkingV1…: the group part of operationIds."""
    name = group.split(".")[0] if group else "core"
    return f"{name[:1].upper()}{name[1:]}{version[:1].upper()}{version[1:]}"


def _paths_for(info: ResourceInfo, builder: _DocumentBuilder) -> dict[str, Any]:
    """Collection, item, all-namespaces list, and the /status and /scale subresources."""
    prefix = _operation_prefix(info.group, info.version)
    scope = "Namespaced" if info.namespaced else ""
    tag = f"{info.group.split('.')[0] if info.group else 'core'}_{info.version}"
    gvk = _gvk(info.group, info.version, info.kind)
    model_ref = builder.ref(info.model)
    list_model = info.model + "List"
    list_ref = builder.ref(list_model) if is_model(list_model) else model_ref
    status_ref = builder.ref("V1Status")

    def operation(action: str, verb: str, subject: str, description: str, params: list[dict[str, Any]],
                  responses: dict[str, Any], kind: dict[str, str] = gvk) -> dict[str, Any]:
        return {
            "tags": [tag], "description": description,
            "operationId": f"{verb}{prefix}{subject}", "parameters": params,
            "responses": responses, "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": kind,
        }

    def body(ref: dict[str, str]) -> dict[str, Any]:
        return {"content": {"*/*": {"schema": ref}}, "required": True}

    patch_body = {"content": {ct: {"schema": builder.ref_patch()} for ct in PATCH_CONTENT_TYPES},
                  "required": True}
    namespace = [_path_param("namespace", "object name and auth scope, such as for teams and projects")]
    collection = info.base_path("{namespace}")
    item_params = [_path_param("name", f"name of the {info.kind}")] + (namespace if info.namespaced else [])
    subject = f"{scope}{info.kind}"
    verbs = set(info.verbs)

    collection_ops: dict[str, Any] = {"parameters": (namespace if info.namespaced else [])}
    if "list" in verbs:
        collection_ops["get"] = operation(
            "list", "list", subject, f"list or watch objects of kind {info.kind}",
            _query(*_LIST_PARAMS), _responses(list_ref, "200"))
    if "create" in verbs:
        post = operation("post", "create", subject, f"create a {info.kind}", _query(*_WRITE_PARAMS),
                         _responses(model_ref, "200", "201", "202"))
        collection_ops["post"] = {**post, "requestBody": body(model_ref)}
    if "deletecollection" in verbs:
        collection_ops["delete"] = operation(
            "deletecollection", "delete", f"Collection{subject}", f"delete collection of {info.kind}",
            _query(*_LIST_PARAMS, *_DELETE_PARAMS), _responses(status_ref, "200"))

    item_ops: dict[str, Any] = {"parameters": item_params}
    if "get" in verbs:
        item_ops["get"] = operation("get", "read", subject, f"read the specified {info.kind}", [],
                                    _responses(model_ref, "200"))
    if "update" in verbs:
        put = operation("put", "replace", subject, f"replace the specified {info.kind}",
                        _query(*_WRITE_PARAMS), _responses(model_ref, "200", "201"))
        item_ops["put"] = {**put, "requestBody": body(model_ref)}
    if "patch" in verbs:
        patch = operation("patch", "patch", subject, f"partially update the specified {info.kind}",
                          _query(*_WRITE_PARAMS, "force"), _responses(model_ref, "200", "201"))
        item_ops["patch"] = {**patch, "requestBody": patch_body}
    if "delete" in verbs:
        delete = operation("delete", "delete", subject, f"delete a {info.kind}", _query(*_DELETE_PARAMS),
                           _responses(status_ref, "200", "202"))
        delete_options = {"content": {"*/*": {"schema": builder.ref("V1DeleteOptions")}}}
        item_ops["delete"] = {**delete, "requestBody": delete_options}

    item = f"{collection}/{{name}}"
    paths: dict[str, Any] = {collection: collection_ops, item: item_ops}
    if info.namespaced and "list" in verbs:
        every = operation("list", "list", f"{info.kind}ForAllNamespaces",
                          f"list or watch objects of kind {info.kind}", _query(*_LIST_PARAMS),
                          _responses(list_ref, "200"))
        paths[info.base_path()] = {"get": every}

    for sub, sub_model, sub_gvk in (("status", info.model, gvk),
                                    ("scale", "V1Scale", _gvk("autoscaling", "v1", "Scale"))):
        if sub not in info.subresources:
            continue
        ref = builder.ref(sub_model)
        name = f"{subject}{sub.capitalize()}"
        sub_ops: dict[str, Any] = {"parameters": item_params}
        sub_ops["get"] = operation("get", "read", name, f"read {sub} of the specified {info.kind}", [],
                                   _responses(ref, "200"), sub_gvk)
        put = operation("put", "replace", name, f"replace {sub} of the specified {info.kind}",
                        _query(*_WRITE_PARAMS), _responses(ref, "200", "201"), sub_gvk)
        sub_ops["put"] = {**put, "requestBody": body(ref)}
        patch = operation("patch", "patch", name, f"partially update {sub} of the specified {info.kind}",
                          _query(*_WRITE_PARAMS, "force"), _responses(ref, "200", "201"), sub_gvk)
        sub_ops["patch"] = {**patch, "requestBody": patch_body}
        paths[f"{item}/{sub}"] = sub_ops
    return paths
