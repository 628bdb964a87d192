"""What the dashboard writes when a user presses a button, and the YAML it shows.

- `scale` patches the `scale` subresource (as `tinykube scale`);
- `rollout_restart` stamps `kubectl.kubernetes.io/restartedAt` on the pod
  template with a strategic merge patch (as `kubectl rollout restart`), which
  makes the controller roll every pod;
- `object_yaml` is the object as YAML without `metadata.managedFields`;
- `apply_yaml` server-side applies each document of a YAML text;

every write names the field manager `tinykube-dashboard`, so `managedFields`
shows what the dashboard set. A refusal by the API server is raised as the
client's APIStatusError and answered to the browser with its status and message.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/scale/scale.go,
staging/src/k8s.io/kubectl/pkg/polymorphichelpers/objectrestarter.go,
staging/src/k8s.io/kubectl/pkg/cmd/apply/apply.go (--server-side)
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import yaml

from tinykube.api.resources import DAEMON_SETS, DEPLOYMENTS, INDEX, REPLICA_SETS, STATEFUL_SETS, ResourceInfo
from tinykube.client import RESTClient
from tinykube.client.rest import PatchType

FIELD_MANAGER = "tinykube-dashboard"
RESTART_ANNOTATION = "kubectl.kubernetes.io/restartedAt"
SCALABLE = frozenset({DEPLOYMENTS, STATEFUL_SETS, REPLICA_SETS})
RESTARTABLE = frozenset({DEPLOYMENTS, STATEFUL_SETS, DAEMON_SETS})


class ActionError(ValueError):
    """A request the dashboard refuses before asking the API server (answered 400)."""


def resource(name: str, allowed: frozenset[ResourceInfo] | None = None) -> ResourceInfo:
    info = INDEX.by_name(name)
    if info is None:
        raise ActionError(f'the server doesn\'t have a resource type "{name}"')
    if allowed is not None and info not in allowed:
        raise ActionError(f"{info.group_resource} cannot do that")
    return info


async def scale(client: RESTClient, resource_name: str, namespace: str, name: str,
                replicas: int) -> dict[str, Any]:
    if replicas < 0:
        raise ActionError("replicas must be 0 or more")
    info = resource(resource_name, SCALABLE)
    result: dict[str, Any] = await client.patch(
        info, name, {"spec": {"replicas": replicas}}, patch_type=PatchType.MERGE,
        namespace=namespace, subresource="scale", field_manager=FIELD_MANAGER)
    return result


async def rollout_restart(client: RESTClient, resource_name: str, namespace: str, name: str,
                          now: datetime | None = None) -> dict[str, Any]:
    info = resource(resource_name, RESTARTABLE)
    stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    patch = {"spec": {"template": {"metadata": {"annotations": {RESTART_ANNOTATION: stamp}}}}}
    result: dict[str, Any] = await client.patch(info, name, patch, patch_type=PatchType.STRATEGIC,
                                                namespace=namespace, field_manager=FIELD_MANAGER)
    return result


def without_managed_fields(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    return {**obj, "metadata": metadata}


async def object_yaml(client: RESTClient, resource_name: str, namespace: str, name: str) -> str:
    info = resource(resource_name)
    obj = await client.get(info, name, namespace if info.namespaced else None)
    obj.setdefault("apiVersion", info.api_version)
    obj.setdefault("kind", info.kind)
    return yaml.safe_dump(without_managed_fields(obj), sort_keys=False)


def parse_documents(text: str) -> list[tuple[ResourceInfo, dict[str, Any]]]:
    """Each non-empty document with the resource that serves its apiVersion/kind."""
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as err:
        raise ActionError(f"error parsing YAML: {err}") from None
    if not documents:
        raise ActionError("no objects passed to apply")
    parsed = []
    for document in documents:
        if not isinstance(document, dict):
            raise ActionError("each YAML document must be an object")
        api_version, kind = document.get("apiVersion") or "", document.get("kind") or ""
        info = INDEX.by_kind(api_version, kind)
        if info is None:
            raise ActionError(f'no matches for kind "{kind}" in version "{api_version}"')
        if not (document.get("metadata") or {}).get("name"):
            raise ActionError(f"a {kind} needs metadata.name")
        parsed.append((info, document))
    return parsed


async def apply_yaml(client: RESTClient, text: str, default_namespace: str = "default",
                     force: bool = False) -> list[str]:
    """Server-side apply of every document; "kind/name serverside-applied" each."""
    applied = []
    for info, document in parse_documents(text):
        metadata = document["metadata"]
        namespace = (metadata.get("namespace") or default_namespace) if info.namespaced else None
        await client.patch(info, metadata["name"], document, patch_type=PatchType.APPLY,
                           namespace=namespace, field_manager=FIELD_MANAGER, force=force)
        applied.append(f"{info.kind.lower()}/{metadata['name']} serverside-applied")
    return applied
