"""A container's environment: env, envFrom and the downward API, resolved to strings.

Order (as upstream): every `envFrom` source first (ConfigMap/Secret keys, with
`prefix`), then `env` entries in order, later names replacing earlier ones.
`$(NAME)` in a value expands to a variable defined before it; `$$(NAME)` stays
literal. A missing ConfigMap/Secret or key that is not `optional` raises
`ContainerConfigError` with Kubernetes' message; the kubelet reports it as the
container's CreateContainerConfigError.

`fieldRef` and `resourceFieldRef` (the downward API) are shared with the
downwardAPI volume through `field_value` and `resource_value`.

Kubernetes counterpart: pkg/kubelet/kubelet_pods.go (makeEnvironmentVariables,
podFieldSelectorRuntimeValue), pkg/api/v1/resource/helpers.go (ExtractResourceValueByContainerName),
third_party/forked/golang/expansion/expand.go
"""

from __future__ import annotations

import base64
import math
import re
from typing import Any, Protocol

from tinykube.api.quantity import parse_quantity
from tinykube.api.resources import INDEX, ResourceInfo
from tinykube.client.errors import NotFound

Obj = dict[str, Any]
CONFIGMAPS: ResourceInfo = INDEX.by_name("configmaps")  # type: ignore[assignment]
SECRETS: ResourceInfo = INDEX.by_name("secrets")  # type: ignore[assignment]
_EXPANSION = re.compile(r"\$\$|\$\(([^)]*)\)")


class ContainerConfigError(Exception):
    """The container cannot be configured yet (CreateContainerConfigError)."""


class ObjectGetter(Protocol):
    async def get(self, info: ResourceInfo, name: str, namespace: str | None = None) -> Obj: ...


async def get_config_data(client: ObjectGetter, kind: str, namespace: str, name: str,
                          optional: bool) -> dict[str, str] | None:
    """A ConfigMap's data or a Secret's decoded data; None when optional and missing."""
    info, label = (CONFIGMAPS, "configmap") if kind == "ConfigMap" else (SECRETS, "secret")
    try:
        obj = await client.get(info, name, namespace)
    except NotFound:
        if optional:
            return None
        raise ContainerConfigError(f'{label} "{name}" not found') from None
    if kind == "ConfigMap":
        data = dict(obj.get("data") or {})
        data.update({k: base64.b64decode(v).decode(errors="replace")
                     for k, v in (obj.get("binaryData") or {}).items()})
        return data
    return {k: base64.b64decode(v).decode(errors="replace") for k, v in (obj.get("data") or {}).items()}


def field_value(pod: Obj, field_path: str, *, pod_ip: str, host_ip: str) -> str:
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    match = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", field_path)
    if match:
        return str((meta.get(match.group(1)) or {}).get(match.group(2), ""))
    if field_path in ("metadata.labels", "metadata.annotations"):
        values = meta.get(field_path.split(".")[1]) or {}
        return "\n".join(f'{k}="{v}"' for k, v in sorted(values.items()))
    simple = {"metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace"),
              "metadata.uid": meta.get("uid"), "spec.nodeName": spec.get("nodeName"),
              "spec.serviceAccountName": spec.get("serviceAccountName"),
              "status.podIP": pod_ip, "status.podIPs": pod_ip, "status.hostIP": host_ip,
              "status.hostIPs": host_ip}
    if field_path not in simple:
        raise ContainerConfigError(f"unsupported fieldPath: {field_path}")
    return str(simple[field_path] or "")


def resource_value(pod: Obj, container_name: str, ref: Obj, allocatable: dict[str, str]) -> str:
    """`limits.cpu` etc. of a container divided by `divisor`, rounded up (as upstream)."""
    container = next((c for c in (pod.get("spec") or {}).get("containers") or []
                      if c.get("name") == (ref.get("containerName") or container_name)), None)
    if container is None:
        raise ContainerConfigError(f"container {ref.get('containerName')} not found in pod")
    kind, _, resource = str(ref.get("resource", "")).partition(".")
    resources = (container.get("resources") or {})
    value = (resources.get(kind) or {}).get(resource)
    if value is None and kind == "limits":
        value = allocatable.get(resource, "0")  # an unset limit is the node's allocatable
    if value is None:
        value = "0"
    divisor = parse_quantity(ref.get("divisor") or "1")
    if divisor == 0:
        raise ContainerConfigError("resourceFieldRef divisor must not be zero")
    return str(math.ceil(parse_quantity(value) / divisor))


def expand(value: str, env: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env[name] if name in env else match.group(0)
    return _EXPANSION.sub(replace, value)


async def make_environment(pod: Obj, container: Obj, client: ObjectGetter, *, pod_ip: str, host_ip: str,
                           allocatable: dict[str, str] | None = None) -> list[tuple[str, str]]:
    namespace = (pod.get("metadata") or {}).get("namespace", "")
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        ref, kind = ((source["configMapRef"], "ConfigMap") if source.get("configMapRef")
                     else (source.get("secretRef") or {}, "Secret"))
        data = await get_config_data(client, kind, namespace, ref.get("name", ""), bool(ref.get("optional")))
        for key, value in (data or {}).items():
            env[f"{source.get('prefix') or ''}{key}"] = value
    for var in container.get("env") or []:
        env[var["name"]] = await _env_value(pod, container, var, env, client, pod_ip=pod_ip, host_ip=host_ip,
                                            allocatable=allocatable or {})
    return list(env.items())


async def _env_value(pod: Obj, container: Obj, var: Obj, env: dict[str, str], client: ObjectGetter, *,
                     pod_ip: str, host_ip: str, allocatable: dict[str, str]) -> str:
    source = var.get("valueFrom")
    if not source:
        return expand(str(var.get("value") or ""), env)
    namespace = (pod.get("metadata") or {}).get("namespace", "")
    for field_name, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
        ref = source.get(field_name)
        if not ref:
            continue
        data = await get_config_data(client, kind, namespace, ref.get("name", ""), bool(ref.get("optional")))
        if data is None:
            return ""
        if ref.get("key") not in data:
            if ref.get("optional"):
                return ""
            raise ContainerConfigError(f"couldn't find key {ref.get('key')} in {kind} {namespace}/{ref.get('name')}")
        return data[ref["key"]]
    if source.get("fieldRef"):
        return field_value(pod, source["fieldRef"].get("fieldPath", ""), pod_ip=pod_ip, host_ip=host_ip)
    if source.get("resourceFieldRef"):
        return resource_value(pod, container["name"], source["resourceFieldRef"], allocatable)
    return ""
