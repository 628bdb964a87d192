"""The scale subresource: a view of spec.replicas, not a part of the object.

`scale` (deployments, replicasets, statefulsets, replicationcontrollers) shows and changes spec.replicas
through an autoscaling/v1 Scale, as `kubectl scale` and the HPA do.

The other subresources are the registry's own paths with the strategy's hooks:
`status` and `namespaces/finalize` are updates/patches with that subresource
(`Strategy.prepare_for_subresource_update`), `pods/binding` is
`Registry.create_on_subresource` (`Strategy.subresource_create`).

Kubernetes counterpart: pkg/registry/apps/deployment/storage/storage.go (ScaleREST)
"""

from __future__ import annotations

from typing import Any

from apiserver import errors
from apiserver.fieldvalidation import find_type_errors
from apiserver.patching import patched
from apiserver.registry import Registry, RequestContext
from apiserver.schema import schema_for_model
from apiserver.strategy import Obj, ScalePaths
from tinykube.api.selectors import SelectorError, label_selector_from_dict
from tinykube.api.validation import invalid


def to_scale(obj: Obj, paths: ScalePaths = ScalePaths()) -> Obj:
    """The Scale view; custom resources say where replicas and selector live (their
    selector is already a string, as upstream's labelSelectorPath requires)."""
    meta = obj["metadata"]
    if paths.label_selector is not None:
        found = get_dotted(obj, paths.label_selector)
        selector = found if isinstance(found, str) else ""
    else:
        raw_selector = (obj.get("spec") or {}).get("selector")
        if obj.get("kind") == "ReplicationController":  # a plain label map, not a LabelSelector
            raw_selector = {"matchLabels": raw_selector} if raw_selector else None
        try:
            selector = str(label_selector_from_dict(raw_selector))
        except SelectorError:
            selector = ""
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                          "creationTimestamp") if k in meta},
        "spec": {"replicas": get_dotted(obj, paths.spec_replicas) or 0},
        "status": {"replicas": get_dotted(obj, paths.status_replicas) or 0, "selector": selector},
    }


def get_dotted(obj: Obj, path: str) -> Any:
    """The value at a simple JSON path such as `.spec.replicas` (None if absent)."""
    value: Any = obj
    for key in path.strip(".").split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def set_dotted(obj: Obj, path: str, value: Any) -> None:
    *parents, last = path.strip(".").split(".")
    for key in parents:
        obj = obj.setdefault(key, {})
    obj[last] = value


async def get_scale(reg: Registry, namespace: str | None, name: str) -> Obj:
    return to_scale(await reg.get(namespace, name), reg.strategy.scale_paths)


async def change_scale(reg: Registry, namespace: str | None, name: str, ctx: RequestContext,
                       new_scale: Any = None, patch_type: str | None = None,
                       patch_body: Any = None) -> Obj:
    """PUT a Scale (new_scale) or PATCH one (patch_type + patch_body)."""

    paths = reg.strategy.scale_paths

    def try_update(old: Obj) -> Obj:
        current = to_scale(old, paths)
        wanted = patched(_ScaleView(reg), patch_type, current, patch_body) if patch_type else new_scale
        if not isinstance(wanted, dict):
            raise errors.bad_request("the body must be an autoscaling/v1 Scale object")
        reg.check_resource_version(name, (wanted.get("metadata") or {}).get("resourceVersion")
                                   or None, old)
        overflow = next((p for p in find_type_errors(wanted, schema_for_model("V1Scale"))
                         if p.overflow), None)
        if overflow is not None:  # as Go decodes autoscaling/v1 ScaleSpec.replicas (int32)
            raise errors.bad_request(
                f'Scale in version "v1" cannot be handled as a Scale: {overflow.message}')
        replicas = (wanted.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise errors.APIError(422, "Invalid", f'Scale.autoscaling "{name}" is invalid: '
                                  f'spec.replicas: Invalid value: {replicas!r}: must be greater '
                                  'than or equal to 0',
                                  {"name": name, "group": "autoscaling", "kind": "Scale",
                                   "causes": [invalid("spec.replicas", replicas, "must be greater "
                                                      "than or equal to 0").as_cause()]})
        set_dotted(old, paths.spec_replicas, replicas)
        return old

    return to_scale(await reg.guaranteed_update(namespace, name, try_update, ctx), paths)


class _ScaleView:
    """Patching a Scale needs no merge keys: a schema-less view of the registry."""

    def __init__(self, reg: Registry) -> None:
        self.info = reg.info
        self.schema = None


__all__ = ["to_scale", "get_scale", "change_scale"]
