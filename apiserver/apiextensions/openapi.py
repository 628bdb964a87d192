"""OpenAPI v3 documents of custom resources, rebuilt whenever their CRDs change.

A group-version served by CRDs gets the same paths a built-in one has (kubectl
reads `x-kubernetes-group-version-kind` and `fieldValidation` from the patch
operation, as for built-in kinds) and, as components, each kind's published
structural schema (`schemas.openapi_v3_schema`) with `metadata` pointing at
ObjectMeta, so `kubectl explain widget.spec.size` reads the CRD's descriptions.
Definition names follow upstream: the group reversed, the version, the kind
(`com.example.v1.Widget`).

The CRD controller keeps `PUBLISHED` (served resource -> its version's schema);
documents are cached until it changes.

Kubernetes counterpart: staging/src/k8s.io/apiextensions-apiserver/pkg/controller/openapi
(builder/builder.go, v3/controller.go)
"""

from __future__ import annotations

from typing import Any

from apiserver.apiextensions import schemas
from apiserver.openapi import SCHEMA_PREFIX, _DocumentBuilder, _gvk
from tinykube.api.resources import INDEX, ResourceInfo

# Served custom resource -> its version's openAPIV3Schema (None: no schema).
PUBLISHED: dict[ResourceInfo, dict[str, Any] | None] = {}
_documents: dict[tuple[str, str], dict[str, Any]] = {}
# Counts the changes of PUBLISHED, so that documents derived from these (OpenAPI v2)
# know when to rebuild.
_generation = [0]


def published_changed() -> None:
    """Drop the cached documents (the CRD controller calls this on every change)."""
    _documents.clear()
    _generation[0] += 1


def published_generation() -> int:
    return _generation[0]


def custom_group_versions() -> list[tuple[str, str]]:
    """The group-versions served by custom resources, in discovery order."""
    return [(group, version) for group, version in INDEX.group_versions()
            if any(i in PUBLISHED and (i.group, i.version) == (group, version)
                   for i in INDEX.resources)]


def custom_model(group: str, version: str, kind: str) -> str:
    """The `ResourceInfo.model` of a custom resource: not a client class, its definition name."""
    return ".".join([*reversed(group.split(".")), version, kind])


def custom_document(group: str, version: str) -> dict[str, Any] | None:
    resources = [i for i in INDEX.resources if i in PUBLISHED and (i.group, i.version) ==
                 (group, version)]
    if not resources:
        return None
    key = (group, version)
    if key not in _documents:
        _documents[key] = _CustomDocumentBuilder(group, version, resources).build()
    return _documents[key]


class _CustomDocumentBuilder(_DocumentBuilder):
    """The built-in document builder, with each custom kind's schema as a component,
    and patch operations that do not offer strategic merge patch (as upstream)."""

    def build(self) -> dict[str, Any]:
        document = super().build()
        for operations in document["paths"].values():
            body = (operations.get("patch") or {}).get("requestBody") or {}
            body.get("content", {}).pop(_STRATEGIC_MERGE_PATCH, None)
        return document

    def ref(self, model: str) -> dict[str, str]:
        info = next((i for i in self.resources if i.model == model), None)
        if info is None:
            return super().ref(model)
        if model not in self.schemas:
            self.schemas[model] = self._component(info)
        return {"$ref": SCHEMA_PREFIX + model}

    def _component(self, info: ResourceInfo) -> dict[str, Any]:
        schema = PUBLISHED.get(info)
        component = dict(schemas.openapi_v3_schema(schema)) if schema else \
            {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        properties = dict(component.get("properties") or {})
        properties["apiVersion"] = {"type": "string", "description": _API_VERSION}
        properties["kind"] = {"type": "string", "description": _KIND}
        properties["metadata"] = {"allOf": [super().ref("V1ObjectMeta")],
                                  "description": "Standard object's metadata."}
        component["properties"] = properties
        component["x-kubernetes-group-version-kind"] = [_gvk(info.group, info.version, info.kind)]
        return component


_STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
_API_VERSION = ("APIVersion defines the versioned schema of this representation of an object. "
                "Servers should convert recognized schemas to the latest internal value, and may "
                "reject unrecognized values.")
_KIND = ("Kind is a string value representing the REST resource this object represents. "
         "Servers may infer this from the endpoint the client submits requests to.")
