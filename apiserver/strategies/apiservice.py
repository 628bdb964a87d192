"""APIServices: only the API server's own, Local ones, and their status is its word.

An APIService naming a Service asks the aggregator to proxy a group version to it;
tinykube has no aggregator, so such an object is refused (422 on `spec.service`)
instead of being stored and never served. A Local APIService must name a group
version this server serves. Status is computed, never taken from a client: Local
group versions are always available.

Kubernetes counterpart: staging/src/k8s.io/kube-aggregator/pkg/registry/apiservice/strategy.go,
staging/src/k8s.io/kube-aggregator/pkg/apis/apiregistration/validation/validation.go,
staging/src/k8s.io/kube-aggregator/pkg/controllers/status (Local: always available)
"""

from __future__ import annotations

from apiserver.apiservices import served_group_versions
from apiserver.strategy import Obj, Strategy
from tinykube.api.meta import now_rfc3339
from tinykube.api.validation import FieldError, forbidden, invalid, required


class APIServiceStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        obj["status"] = local_status()

    def validate(self, obj: Obj) -> list[FieldError]:
        return super().validate(obj) + validate_api_service(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return super().validate_update(new, old) + validate_api_service(new)


def local_status() -> Obj:
    return {"conditions": [{"type": "Available", "status": "True", "reason": "Local",
                            "message": "Local APIServices are always available",
                            "lastTransitionTime": now_rfc3339()}]}


def validate_api_service(obj: Obj) -> list[FieldError]:
    spec = obj.get("spec") or {}
    name = (obj.get("metadata") or {}).get("name") or ""
    group, version = spec.get("group") or "", spec.get("version") or ""
    errs: list[FieldError] = []
    if not version:
        errs.append(required("spec.version"))
    if name and version and name != f"{version}.{group}":
        errs.append(invalid("metadata.name", name, f'must be "{version}.{group}"'))
    for field in ("groupPriorityMinimum", "versionPriority"):
        value = spec.get(field)
        if not isinstance(value, int) or value <= 0:
            errs.append(invalid(f"spec.{field}", value, "must be positive and less than 1000000"
                                if field == "versionPriority" else "must be positive and less than 20000"))
    if spec.get("service") is not None:
        errs.append(forbidden("spec.service", "tinykube serves no aggregated APIs: only Local APIServices "
                              "(without a service) of the group versions this API server serves exist"))
    elif version and (group, version) not in served_group_versions():
        errs.append(invalid("spec.group", group, f"this API server does not serve {group}/{version}"))
    return errs
