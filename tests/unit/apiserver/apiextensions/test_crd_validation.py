"""CustomResourceDefinition defaults and validation (upstream's validation.go cases)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from apiserver.apiextensions.crd_strategy import (
    CustomResourceDefinitionStrategy,
    set_defaults,
    stored_versions,
    validate_crd,
)
from tinykube.api.resources import CUSTOM_RESOURCE_DEFINITIONS

Obj = dict[str, Any]

VALID: Obj = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                       "listKind": "WidgetList"},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "schema": {"openAPIV3Schema": {"type": "object"}}}]},
}


def crd_with(change: Callable[[Obj], Any]) -> Obj:
    crd = copy.deepcopy(VALID)
    change(crd)
    return crd


def test_a_valid_crd_has_no_errors() -> None:
    assert validate_crd(VALID) == []


@pytest.mark.parametrize(("change", "field", "message"), [
    (lambda c: c["metadata"].update(name="x.example.com"), "metadata.name",
     'Invalid value: "x.example.com": must be spec.names.plural+"."+spec.group'),
    (lambda c: c["spec"].update(group="example", ), "spec.group",
     'Invalid value: "example": should be a domain with at least one dot'),
    (lambda c: c["spec"].pop("group"), "spec.group", "Required value"),
    (lambda c: c["spec"].update(scope="Everywhere"), "spec.scope",
     'Unsupported value: "Everywhere": supported values: "Cluster", "Namespaced"'),
    (lambda c: c["spec"]["versions"][0].update(storage=False), "spec.versions",
     "must have exactly one version marked as storage version"),
    (lambda c: c["spec"]["versions"].append(dict(c["spec"]["versions"][0], storage=False)),
     "spec.versions", "must contain unique version names"),
    (lambda c: c["spec"].update(versions=[]), "spec.versions",
     "Required value: must have at least one version"),
    (lambda c: c["spec"]["versions"][0].pop("schema"),
     "spec.versions[0].schema.openAPIV3Schema", "Required value: schemas are required"),
    (lambda c: c["spec"]["names"].update(listKind="Widget"), "spec.names.listKind",
     'Invalid value: "Widget": kind and listKind may not be the same'),
    (lambda c: c["spec"]["names"].update(shortNames=["Wd"]), "spec.names.shortNames[0]",
     "a DNS-1035 label must consist of lower case alphanumeric characters"),
    (lambda c: c["spec"]["versions"][0].update(subresources={"scale": {
        "specReplicasPath": ".status.replicas", "statusReplicasPath": ".status.replicas"}}),
     "spec.versions[0].subresources.scale.specReplicasPath",
     'Invalid value: ".status.replicas": should be a json path under .spec'),
    (lambda c: c["spec"].update(conversion={"strategy": "Webhook"}), "spec.conversion.strategy",
     'Unsupported value: "Webhook": supported values: "None"'),
])
def test_invalid_crds(change: Callable[[Obj], Any], field: str, message: str) -> None:
    errors = validate_crd(crd_with(change))
    assert any(e.field == field and message in e.message for e in errors), errors


def test_defaults_fill_singular_list_kind_and_conversion() -> None:
    spec: Obj = {"names": {"plural": "widgets", "kind": "Widget"}}
    set_defaults(spec)
    assert spec == {"names": {"plural": "widgets", "kind": "Widget", "singular": "widget",
                              "listKind": "WidgetList"}, "conversion": {"strategy": "None"}}


def test_stored_versions_only_grow() -> None:
    spec = {"versions": [{"name": "v2", "storage": True}, {"name": "v1", "storage": False}]}
    assert stored_versions(["v1"], spec) == ["v1", "v2"]
    assert stored_versions(["v1", "v2"], spec) == ["v1", "v2"]


def test_update_may_not_change_group_or_plural_and_keeps_stored_versions() -> None:
    strategy = CustomResourceDefinitionStrategy(CUSTOM_RESOURCE_DEFINITIONS)
    old = crd_with(lambda c: c.update(status={"storedVersions": ["v1"]}))
    new = crd_with(lambda c: c["spec"]["versions"][0].update(name="v2"))
    new["status"] = {"storedVersions": ["v1"]}
    errors = strategy.validate_update(new, old)
    assert any(e.field == "status.storedVersions[0]" and "must appear in spec.versions"
               in e.message for e in errors), errors


def test_the_first_delete_adds_the_cleanup_finalizer_and_terminating() -> None:
    strategy = CustomResourceDefinitionStrategy(CUSTOM_RESOURCE_DEFINITIONS)
    crd = copy.deepcopy(VALID)
    strategy.prepare_for_delete(crd)
    assert crd["metadata"]["finalizers"] == ["customresourcecleanup.apiextensions.k8s.io"]
    condition = crd["status"]["conditions"][0]
    assert (condition["type"], condition["status"], condition["reason"]) == (
        "Terminating", "True", "InstanceDeletionPending")
    assert strategy.has_pending_finalizers(crd)
