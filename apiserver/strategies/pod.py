"""Pods: defaults, an immutable spec, graceful deletion, and binding.

- a new pod starts Pending with its QoS class; status belongs to the kubelet;
- after create only container images (and a few scheduling fields) may change;
- deleting a pod bound to a node sets deletionTimestamp + grace period; the
  kubelet stops the containers and deletes again with grace 0. An unbound or
  finished pod is removed at once;
- `pods/binding` (the scheduler's write) sets spec.nodeName once and marks the pod
  scheduled, in one guaranteed update with the Binding's metadata.uid (and
  resourceVersion) as preconditions: a binding meant for an earlier pod of the
  same name is 409, and so is binding a bound or deleted pod.

Kubernetes counterpart: pkg/registry/core/pod/strategy.go, pkg/registry/core/pod/storage/storage.go
(BindingREST.Create, assignPod, setPodNodeAndMetadata)
"""

from __future__ import annotations

from typing import Any

from apiserver import errors
from apiserver.jsoncopy import deep_copy_json
from apiserver.storage.interface import Preconditions
from apiserver.strategies.podspec import default_pod_spec, validate_pod_spec
from apiserver.strategy import Obj, ParentUpdate, Strategy
from tinykube.api.validation import FieldError, forbidden


def qos_class(spec: dict[str, Any]) -> str:
    """Guaranteed when every container's requests equal its limits for cpu and
    memory, BestEffort when nothing is set, Burstable otherwise."""
    containers = (spec.get("containers") or []) + (spec.get("initContainers") or [])
    any_set, guaranteed = False, True
    for container in containers:
        resources = container.get("resources") or {}
        limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
        if limits or requests:
            any_set = True
        for resource in ("cpu", "memory"):
            if resource not in limits or str(requests.get(resource, limits[resource])) != str(limits[resource]):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


class PodStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        spec = obj.setdefault("spec", {})
        if isinstance(spec, dict):
            default_pod_spec(spec)
            obj["status"] = {"phase": "Pending", "qosClass": qos_class(spec)}

    def validate(self, obj: Obj) -> list[FieldError]:
        return super().validate(obj) + validate_pod_spec(obj.get("spec"), "spec")

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        spec = new.get("spec")
        if isinstance(spec, dict):
            default_pod_spec(spec)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = super().validate_update(new, old) + validate_pod_spec(new.get("spec"), "spec")
        if errs:
            return errs
        if _mutable_view(new["spec"]) != _mutable_view(old["spec"]):
            errs.append(forbidden("spec", "pod updates may not change fields other than "
                                  "`spec.containers[*].image`, `spec.initContainers[*].image`, "
                                  "`spec.activeDeadlineSeconds`, `spec.tolerations` (only "
                                  "additions to existing tolerations) or "
                                  "`spec.terminationGracePeriodSeconds`"))
        return errs

    def grace_period_seconds(self, obj: Obj, requested: int | None) -> int:
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
            return 0
        if requested is not None:
            return max(requested, 0)
        return int(spec.get("terminationGracePeriodSeconds", 30))


    def subresource_create(self, subresource: str, name: str, body: Any, now: str) -> ParentUpdate:
        if subresource != "binding":
            return super().subresource_create(subresource, name, body, now)
        node = _validate_binding(name, body)
        meta = body.get("metadata") or {}
        preconditions = None
        if meta.get("uid") or meta.get("resourceVersion"):
            preconditions = Preconditions(uid=meta.get("uid") or None,
                                          resource_version=meta.get("resourceVersion") or None)

        def set_pod_node(pod: Obj) -> Obj:
            if pod["metadata"].get("deletionTimestamp"):
                raise errors.conflict(self.info, name, f"pod {name} is being deleted, cannot be "
                                      "assigned to a host", subresource="binding")
            bound = (pod.get("spec") or {}).get("nodeName")
            if bound:
                raise errors.conflict(self.info, name, f'pod {name} is already assigned to node '
                                      f'"{bound}"', subresource="binding")
            pod.setdefault("spec", {})["nodeName"] = node
            status = pod.setdefault("status", {})
            conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
            conditions.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                               "lastTransitionTime": now})
            status["conditions"] = conditions
            return pod

        return ParentUpdate(preconditions, set_pod_node)


def _validate_binding(name: str, binding: Any) -> str:
    """The target node's name; 400/422 for a Binding that names none."""
    if not isinstance(binding, dict) or not isinstance(binding.get("target"), dict):
        raise errors.bad_request("a Binding needs a target")
    node = binding["target"].get("name")
    if not node:
        raise errors.APIError(422, "Invalid", f'Binding "{name}" is invalid: target.name: '
                              'Required value', {"name": name, "kind": "Binding"})
    return str(node)


def _mutable_view(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with the fields an update may change blanked out."""
    view = deep_copy_json(spec)
    for group in ("containers", "initContainers"):
        for container in view.get(group) or []:
            container.pop("image", None)
    for field in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"):
        view.pop(field, None)
    return view
