"""ReplicationController defaulting and validation, with kube-apiserver's messages."""

from __future__ import annotations

from typing import Any

from apiserver.strategies.replicationcontroller import ReplicationControllerStrategy
from tinykube.api.resources import REPLICATION_CONTROLLERS

Obj = dict[str, Any]


def rc(spec: Obj) -> Obj:
    return {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "web", "namespace": "default"},
            "spec": spec}


def template(labels: dict[str, str], **pod_spec: Any) -> Obj:
    return {"metadata": {"labels": labels},
            "spec": {"containers": [{"name": "c", "image": "nginx"}], **pod_spec}}


def errors_of(obj: Obj) -> list[str]:
    strategy = ReplicationControllerStrategy(REPLICATION_CONTROLLERS)
    strategy.prepare_for_create(obj)
    return [str(e) for e in strategy.validate(obj)]


def test_selector_labels_and_replicas_default_from_the_template() -> None:
    obj = rc({"template": template({"app": "web"})})
    assert errors_of(obj) == []
    assert obj["spec"]["selector"] == {"app": "web"} and obj["spec"]["replicas"] == 1
    assert obj["metadata"]["labels"] == {"app": "web"}
    assert obj["spec"]["template"]["spec"]["restartPolicy"] == "Always"


def test_a_selector_that_misses_the_template_labels_is_invalid() -> None:
    assert errors_of(rc({"selector": {"app": "other"}, "template": template({"app": "web"})})) == [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: '
        '`selector` does not match template `labels`']


def test_the_template_is_required_and_must_restart_always() -> None:
    assert errors_of(rc({"selector": {"app": "web"}})) == ["spec.template: Required value"]
    assert errors_of(rc({"template": template({"app": "web"}, restartPolicy="Never")})) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"']
    assert errors_of(rc({"template": template({"app": "web"}, activeDeadlineSeconds=5)})) == [
        "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in "
        "ReplicationController is not Supported"]


def test_no_selector_and_no_labels_is_required_and_negative_replicas_invalid() -> None:
    assert errors_of(rc({"replicas": -1, "template": template({})})) == [
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        "spec.selector: Required value"]
