"""The one seam between CRD serving and the structural-schema library.

CRD validation, the custom-resource registry, OpenAPI and server-side apply call the
structural-schema functions through this module only, so the library
(`apiserver.apiextensions.structural`) can be replaced or extended in one place:

- `check_schema(version_schema)`: problems of one version's openAPIV3Schema, paths
  relative to `spec.versions[i].schema.openAPIV3Schema`;
- `validate(obj, schema)`, `prune(obj, schema)`, `apply_defaults(obj, schema)`;
- `openapi_v3_schema(schema)`: what discovery and OpenAPI publish.

Kubernetes counterpart: staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema
"""

from __future__ import annotations

from typing import Any

from tinykube.api.validation import FieldError

try:
    from apiserver.apiextensions import structural
except ImportError:  # TEMPORARY until wt-crdschema is merged: schemas are not enforced
    structural = None  # type: ignore[assignment]

Schema = dict[str, Any]


def check_schema(version_schema: Schema, field_path: str) -> list[FieldError]:
    """Problems of a version's schema, with `field_path` (where the schema sits) prefixed."""
    if structural is None:
        return []
    return [FieldError(e.type, f"{field_path}.{e.field}" if e.field else field_path, e.message)
            for e in structural.check_schema(version_schema)]


def validate(obj: dict[str, Any], schema: Schema) -> list[FieldError]:
    return [] if structural is None else structural.validate(obj, schema)


def prune(obj: dict[str, Any], schema: Schema) -> None:
    if structural is not None:
        structural.prune(obj, schema)


def apply_defaults(obj: dict[str, Any], schema: Schema) -> None:
    if structural is not None:
        structural.apply_defaults(obj, schema)


def openapi_v3_schema(schema: Schema) -> Schema:
    return schema if structural is None else structural.openapi_v3_schema(schema)
