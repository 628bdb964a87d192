"""apiextensions.k8s.io/v1: CustomResourceDefinition, how users add kinds to the API.

A CRD names a new resource (`spec.names`), says where it lives (`spec.group`,
`spec.scope`) and lists its versions, each with an OpenAPI v3 schema, optional
`status`/`scale` subresources and printer columns. Exactly one version is the
storage version. The API server's CRD controllers write `status`: the names it
accepted, the Established/NamesAccepted/Terminating conditions, storedVersions.

The schema itself stays a plain mapping (`dict`): it is a JSON Schema document that
the structural-schema library walks, not a typed tree.

Kubernetes counterpart: staging/src/k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1/types.go
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from tinykube.api.meta import Condition, KubeModel, KubeObject

# Condition types and the finalizer the API server's CRD controllers use.
ESTABLISHED = "Established"
NAMES_ACCEPTED = "NamesAccepted"
TERMINATING = "Terminating"
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"


class CustomResourceDefinitionNames(KubeModel):
    plural: str = ""
    singular: str | None = None
    short_names: list[str] | None = None
    kind: str = ""
    list_kind: str | None = None
    categories: list[str] | None = None


class CustomResourceValidation(KubeModel):
    open_api_v3_schema: dict[str, Any] | None = Field(default=None, alias="openAPIV3Schema")


class CustomResourceSubresourceScale(KubeModel):
    spec_replicas_path: str = ""
    status_replicas_path: str = ""
    label_selector_path: str | None = None


class CustomResourceSubresources(KubeModel):
    status: dict[str, Any] | None = None
    scale: CustomResourceSubresourceScale | None = None


class CustomResourceColumnDefinition(KubeModel):
    name: str
    type: str
    format: str | None = None
    description: str | None = None
    priority: int | None = None
    json_path: str = ""


class CustomResourceDefinitionVersion(KubeModel):
    name: str
    served: bool = False
    storage: bool = False
    deprecated: bool | None = None
    deprecation_warning: str | None = None
    schema_: CustomResourceValidation | None = Field(default=None, alias="schema")
    subresources: CustomResourceSubresources | None = None
    additional_printer_columns: list[CustomResourceColumnDefinition] | None = None


class CustomResourceConversion(KubeModel):
    strategy: str = "None"


class CustomResourceDefinitionSpec(KubeModel):
    group: str = ""
    names: CustomResourceDefinitionNames = Field(default_factory=CustomResourceDefinitionNames)
    scope: str = ""
    versions: list[CustomResourceDefinitionVersion] = Field(default_factory=list)
    conversion: CustomResourceConversion | None = None
    preserve_unknown_fields: bool | None = None


class CustomResourceDefinitionCondition(Condition):
    pass


class CustomResourceDefinitionStatus(KubeModel):
    conditions: list[CustomResourceDefinitionCondition] | None = None
    accepted_names: CustomResourceDefinitionNames | None = None
    stored_versions: list[str] | None = None


class CustomResourceDefinition(KubeObject):
    api_version: str = "apiextensions.k8s.io/v1"
    kind: str = "CustomResourceDefinition"
    spec: CustomResourceDefinitionSpec = Field(default_factory=CustomResourceDefinitionSpec)
    status: CustomResourceDefinitionStatus | None = None

    def storage_version(self) -> str | None:
        return next((v.name for v in self.spec.versions if v.storage), None)
