"""Subresources: scale, binding and namespace finalize.

- `scale` (deployments, replicasets, statefulsets) shows and changes
  spec.replicas through an autoscaling/v1 Scale, as `kubectl scale` and the HPA do;
- `pods/binding` is the scheduler's write: it sets spec.nodeName once and marks
  the pod scheduled; binding a bound pod is 409;
- `namespaces/finalize` lets the namespace controller clear spec.finalizers.

(`status` is the registry's update/patch with subresource="status".)

Kubernetes counterpart: pkg/registry/apps/deployment/storage/storage.go (ScaleREST),
pkg/registry/core/pod/storage/storage.go (BindingREST), pkg/registry/core/namespace/storage
"""

from __future__ import annotations

from typing import Any

from apiserver import errors
from apiserver.jsoncopy import deep_copy_json
from apiserver.patching import MERGE_PATCH, patched
from apiserver.registry import Registry, RequestContext, rfc3339
from apiserver.storage.interface import ConflictError, KeyNotFoundError
from apiserver.strategies.namespace import NamespaceStrategy
from apiserver.strategy import Obj
from tinykube.api.selectors import SelectorError, label_selector_from_dict
from tinykube.api.validation import invalid


def to_scale(obj: Obj) -> Obj:
    meta = obj["metadata"]
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    try:
        selector = str(label_selector_from_dict(spec.get("selector")))
    except SelectorError:
        selector = ""
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                          "creationTimestamp") if k in meta},
        "spec": {"replicas": spec.get("replicas", 0)},
        "status": {"replicas": status.get("replicas", 0), "selector": selector},
    }


async def get_scale(reg: Registry, namespace: str | None, name: str) -> Obj:
    return to_scale(await reg.get(namespace, name))


async def change_scale(reg: Registry, namespace: str | None, name: str, ctx: RequestContext,
                       new_scale: Any = None, patch_type: str | None = None,
                       patch_body: Any = None) -> Obj:
    """PUT a Scale (new_scale) or PATCH one (patch_type + patch_body)."""

    def try_update(old: Obj) -> Obj:
        current = to_scale(old)
        wanted = patched(_ScaleView(reg), patch_type, current, patch_body) if patch_type else new_scale
        if not isinstance(wanted, dict):
            raise errors.bad_request("the body must be an autoscaling/v1 Scale object")
        rv = (wanted.get("metadata") or {}).get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise errors.conflict(reg.info, name, "the object has been modified; please apply "
                                  "your changes to the latest version and try again")
        replicas = (wanted.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise errors.APIError(422, "Invalid", f'Scale.autoscaling "{name}" is invalid: '
                                  f'spec.replicas: Invalid value: {replicas!r}: must be greater '
                                  'than or equal to 0',
                                  {"name": name, "group": "autoscaling", "kind": "Scale",
                                   "causes": [invalid("spec.replicas", replicas, "must be greater "
                                                      "than or equal to 0").as_cause()]})
        old.setdefault("spec", {})["replicas"] = replicas
        return old

    return to_scale(await reg.guaranteed_update(namespace, name, try_update, ctx))


class _ScaleView:
    """Patching a Scale needs no merge keys: a schema-less view of the registry."""

    def __init__(self, reg: Registry) -> None:
        self.info = reg.info
        self.schema = None


async def bind_pod(reg: Registry, namespace: str, name: str, binding: Any) -> Obj:
    if not isinstance(binding, dict) or not isinstance(binding.get("target"), dict):
        raise errors.bad_request("a Binding needs a target")
    node = binding["target"].get("name")
    if not node:
        raise errors.APIError(422, "Invalid", f'Binding "{name}" is invalid: target.name: '
                              'Required value', {"name": name, "kind": "Binding"})
    key = reg.key(namespace, name)
    while True:
        pod = await reg.get(namespace, name)
        if pod["metadata"].get("deletionTimestamp"):
            raise errors.conflict(reg.info, name, "pod is being deleted, cannot be assigned to "
                                  "a host")
        bound = (pod.get("spec") or {}).get("nodeName")
        if bound:
            raise errors.conflict(reg.info, name, f'pod {name} is already assigned to node "{bound}"')
        new = deep_copy_json(pod)
        new["spec"]["nodeName"] = node
        status = new.setdefault("status", {})
        conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        conditions.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                           "lastTransitionTime": rfc3339(reg.clock())})
        status["conditions"] = conditions
        try:
            await reg.storage.update(key, new, int(pod["metadata"]["resourceVersion"]))
        except ConflictError:
            continue
        except KeyNotFoundError:
            raise errors.not_found(reg.info, name) from None
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "code": 201}


async def finalize_namespace(reg: Registry, name: str, body: Any, ctx: RequestContext) -> Obj:
    if not isinstance(body, dict):
        raise errors.bad_request("the body must be a Namespace")
    strategy = reg.strategy
    assert isinstance(strategy, NamespaceStrategy)

    def try_update(old: Obj) -> Obj:
        new = deep_copy_json(body)
        strategy.prepare_for_finalize(new, old)
        return new

    return await reg.guaranteed_update(None, name, try_update, ctx, subresource="finalize")


__all__ = ["to_scale", "get_scale", "change_scale", "bind_pod", "finalize_namespace",
           "MERGE_PATCH"]
