"""Pods: defaults, an immutable spec, graceful deletion, and binding.

- a new pod starts Pending with its QoS class; status belongs to the kubelet;
- after create only container images (and a few scheduling fields) may change;
- deleting a pod bound to a node sets deletionTimestamp + grace period; the
  kubelet stops the containers and deletes again with grace 0. An unbound or
  finished pod is removed at once;
- `pods/binding` sets spec.nodeName once (the scheduler's write).

Kubernetes counterpart: pkg/registry/core/pod/strategy.go, pkg/registry/core/pod/storage/storage.go
"""

from __future__ import annotations

from typing import Any

from apiserver.jsoncopy import deep_copy_json
from apiserver.strategies.podspec import default_pod_spec, validate_pod_spec
from apiserver.strategy import Obj, Strategy
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


def _mutable_view(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with the fields an update may change blanked out."""
    view = deep_copy_json(spec)
    for group in ("containers", "initContainers"):
        for container in view.get(group) or []:
            container.pop("image", None)
    for field in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"):
        view.pop(field, None)
    return view
