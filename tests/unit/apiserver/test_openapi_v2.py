"""The v2 document: Kubernetes' v2 shapes, and protobuf that reads back as written."""

from __future__ import annotations

import yaml

from apiserver.openapi_v2 import swagger_document, swagger_protobuf
from apiserver.protobuf import iter_fields


def fields(data: bytes) -> list[tuple[int, bytes]]:
    return [(number, value) for number, _, value in iter_fields(data) if isinstance(value, bytes)]


def named(entries: list[tuple[int, bytes]]) -> dict[str, bytes]:
    """NamedSchema / NamedAny messages: name (1) -> value (2)."""
    out = {}
    for _, entry in entries:
        parts = dict(fields(entry))
        out[parts[1].decode()] = parts[2]
    return out


def test_definitions_use_v2_references_and_strings_for_int_or_string() -> None:
    definitions = swagger_document()["definitions"]
    spec = definitions["io.k8s.api.apps.v1.Deployment"]["properties"]["spec"]
    assert spec["$ref"] == "#/definitions/io.k8s.api.apps.v1.DeploymentSpec"
    # JSONSchemaProps (in CustomResourceDefinition) has properties named allOf and oneOf.
    schemas = {k: v for k, v in definitions.items() if not k.endswith(".JSONSchemaProps")}
    assert "allOf" not in str(schemas) and "oneOf" not in str(schemas)
    assert definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["type"] == "string"
    assert definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == \
        "int-or-string"


def test_protobuf_document_reads_back_with_the_group_version_kind() -> None:
    document = dict(fields(swagger_protobuf()))
    assert document[1] == b"2.0"
    definitions = named(fields(document[9]))
    deployment = dict(fields(definitions["io.k8s.api.apps.v1.Deployment"]))
    extensions = named([(number, value) for number, value
                        in fields(definitions["io.k8s.api.apps.v1.Deployment"]) if number == 31])
    gvk = yaml.safe_load(dict(fields(extensions["x-kubernetes-group-version-kind"]))[2])
    assert gvk == [{"group": "apps", "kind": "Deployment", "version": "v1"}]
    assert dict(fields(deployment[22]))[1] == b"object"  # TypeItem
    properties = named(fields(deployment[25]))
    assert dict(fields(properties["spec"]))[1] == b"#/definitions/io.k8s.api.apps.v1.DeploymentSpec"
