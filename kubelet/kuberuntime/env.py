"""A container's environment: env, envFrom and the downward API, resolved to strings.

Order (as upstream): the `kubernetes` Service's variables (`service_env`), then
every `envFrom` source (ConfigMap/Secret keys, with `prefix`), then `env`
entries in order, later names replacing earlier ones.
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
from typing import Protocol, TypeVar

from kubelet.kuberuntime.service_env import master_service_env
from tinykube.api.core import (
    ConfigMap,
    Container,
    EnvVar,
    KeySelector,
    Pod,
    ResourceFieldSelector,
    Secret,
)
from tinykube.api.meta import KubeObject
from tinykube.api.quantity import parse_quantity
from tinykube.client.errors import NotFound

_EXPANSION = re.compile(r"\$\$|\$\(([^)]*)\)")
M = TypeVar("M", bound=KubeObject)


class ContainerConfigError(Exception):
    """The container cannot be configured yet (CreateContainerConfigError)."""


class ObjectGetter(Protocol):
    async def get_object(self, model: type[M], name: str, namespace: str | None = None) -> M: ...


async def get_config_data(client: ObjectGetter, kind: str, namespace: str, name: str,
                          optional: bool) -> dict[str, str] | None:
    """A ConfigMap's data or a Secret's decoded data; None when optional and missing."""
    model: type[ConfigMap] | type[Secret] = ConfigMap if kind == "ConfigMap" else Secret
    try:
        obj = await client.get_object(model, name, namespace)
    except NotFound:
        if optional:
            return None
        raise ContainerConfigError(f'{kind.lower()} "{name}" not found') from None
    if isinstance(obj, ConfigMap):
        data = dict(obj.data or {})
        data.update({k: base64.b64decode(v).decode(errors="replace") for k, v in (obj.binary_data or {}).items()})
        return data
    return {k: base64.b64decode(v).decode(errors="replace") for k, v in (obj.data or {}).items()}


def field_value(pod: Pod, field_path: str, *, pod_ip: str, host_ip: str) -> str:
    meta, spec = pod.metadata, pod.spec
    match = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", field_path)
    maps = {"labels": meta.labels or {}, "annotations": meta.annotations or {}}
    if match:
        return str(maps[match.group(1)].get(match.group(2), ""))
    if field_path in ("metadata.labels", "metadata.annotations"):
        values = maps[field_path.split(".")[1]]
        return "\n".join(f'{k}="{v}"' for k, v in sorted(values.items()))
    simple = {"metadata.name": meta.name, "metadata.namespace": meta.namespace,
              "metadata.uid": meta.uid, "spec.nodeName": spec.node_name if spec else None,
              "spec.serviceAccountName": spec.service_account_name if spec else None,
              "status.podIP": pod_ip, "status.podIPs": pod_ip, "status.hostIP": host_ip,
              "status.hostIPs": host_ip}
    if field_path not in simple:
        raise ContainerConfigError(f"unsupported fieldPath: {field_path}")
    return str(simple[field_path] or "")


def resource_value(pod: Pod, container_name: str, ref: ResourceFieldSelector, allocatable: dict[str, str]) -> str:
    """`limits.cpu` etc. of a container divided by `divisor`, rounded up (as upstream)."""
    wanted = ref.container_name or container_name
    container = next((c for c in (pod.spec.containers if pod.spec else []) if c.name == wanted), None)
    if container is None:
        raise ContainerConfigError(f"container {ref.container_name} not found in pod")
    kind, _, resource = ref.resource.partition(".")
    resources = container.resources
    values = (resources.limits if kind == "limits" else resources.requests if kind == "requests" else None
              ) if resources else None
    value = (values or {}).get(resource)
    if value is None and kind == "limits":
        value = allocatable.get(resource, "0")  # an unset limit is the node's allocatable
    if value is None:
        value = "0"
    divisor = parse_quantity(ref.divisor or "1")
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


async def make_environment(pod: Pod, container: Container, client: ObjectGetter, *, pod_ip: str, host_ip: str,
                           allocatable: dict[str, str] | None = None) -> list[tuple[str, str]]:
    namespace = pod.metadata.namespace or ""
    # The `kubernetes` Service's variables first: envFrom and env may override them.
    env: dict[str, str] = await master_service_env(client)
    for source in container.env_from or []:
        ref, kind = ((source.config_map_ref, "ConfigMap") if source.config_map_ref else (source.secret_ref, "Secret"))
        data = await get_config_data(client, kind, namespace, (ref.name or "") if ref else "",
                                     bool(ref and ref.optional))
        for key, value in (data or {}).items():
            env[f"{source.prefix or ''}{key}"] = value
    for var in container.env or []:
        env[var.name] = await _env_value(pod, container, var, env, client, pod_ip=pod_ip, host_ip=host_ip,
                                         allocatable=allocatable or {})
    return list(env.items())


async def _env_value(pod: Pod, container: Container, var: EnvVar, env: dict[str, str], client: ObjectGetter, *,
                     pod_ip: str, host_ip: str, allocatable: dict[str, str]) -> str:
    source = var.value_from
    if source is None:
        return expand(var.value or "", env)
    namespace = pod.metadata.namespace or ""
    refs: tuple[tuple[KeySelector | None, str], ...] = (
        (source.config_map_key_ref, "ConfigMap"), (source.secret_key_ref, "Secret"))
    for ref, kind in refs:
        if ref is None:
            continue
        data = await get_config_data(client, kind, namespace, ref.name or "", bool(ref.optional))
        if data is None:
            return ""
        if ref.key not in data:
            if ref.optional:
                return ""
            raise ContainerConfigError(f"couldn't find key {ref.key} in {kind} {namespace}/{ref.name}")
        return data[ref.key]
    if source.field_ref is not None:
        return field_value(pod, source.field_ref.field_path, pod_ip=pod_ip, host_ip=host_ip)
    if source.resource_field_ref is not None:
        return resource_value(pod, container.name, source.resource_field_ref, allocatable)
    return ""
