"""The one seam between CRD serving and the structural-schema library.

CRD validation, the custom-resource registry, OpenAPI and server-side apply call the
structural-schema functions through this module only, so the library
(`apiserver.apiextensions.structural`) can be replaced or extended in one place:

- `check_schema(version_schema, field_path)`: problems of one version's openAPIV3Schema,
  with paths under `field_path` (`spec.versions[i].schema.openAPIV3Schema`);
- `validate(obj, schema)`, `prune(obj, schema)`, `apply_defaults(obj, schema)`;
- `openapi_v3_schema(schema)`: what discovery and OpenAPI publish.

Kubernetes counterpart: staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema
"""

from __future__ import annotations

from typing import Any

from apiserver.apiextensions import structural
from tinykube.api.validation import FieldError

Schema = dict[str, Any]


def check_schema(version_schema: Schema, field_path: str) -> list[FieldError]:
    """Problems of a version's schema; `field_path` is where the schema sits."""
    return structural.check_schema(version_schema, field_path)


def validate(obj: dict[str, Any], schema: Schema, old: dict[str, Any] | None = None) -> list[FieldError]:
    """`old` is the stored object on update (transition rules use it)."""
    return structural.validate(obj, schema, old)


def prune(obj: dict[str, Any], schema: Schema) -> None:
    structural.prune(obj, schema)


def apply_defaults(obj: dict[str, Any], schema: Schema) -> None:
    structural.apply_defaults(obj, schema)


def openapi_v3_schema(schema: Schema) -> Schema:
    return structural.openapi_v3_schema(schema)
