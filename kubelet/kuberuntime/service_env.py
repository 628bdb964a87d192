"""Docker-links-style environment variables of a Service (`KUBERNETES_SERVICE_HOST`, ...).

Every container gets those of the `kubernetes` Service in `default` (the API
server's in-cluster address), which is how the official clients'
`load_incluster_config()` finds the API server. For a Service NAME with cluster IP
IP and first port P/tcp:

    NAME_SERVICE_HOST=IP            NAME_SERVICE_PORT=P      NAME_SERVICE_PORT_<PORTNAME>=P
    NAME_PORT=tcp://IP:P            NAME_PORT_P_TCP=tcp://IP:P
    NAME_PORT_P_TCP_PROTO=tcp       NAME_PORT_P_TCP_PORT=P   NAME_PORT_P_TCP_ADDR=IP

(NAME upper-cased, `-` as `_`.) A headless Service has none. They come before
the container's own `envFrom` and `env`, which may override them. The service
links of the pod's own namespace (`enableServiceLinks`) are not made.

Kubernetes counterpart: pkg/kubelet/envvars/envvars.go (FromServices),
pkg/kubelet/kubelet_pods.go (getServiceEnvVarMap)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinykube.api.core import Service
from tinykube.client.errors import ClientError

if TYPE_CHECKING:  # env.py calls master_service_env
    from kubelet.kuberuntime.env import ObjectGetter

MASTER_SERVICE_NAMESPACE = "default"
MASTER_SERVICE_NAME = "kubernetes"


def _env_name(name: str) -> str:
    return name.upper().replace("-", "_")


def service_env(service: Service) -> dict[str, str]:
    spec = service.spec
    ip = spec.cluster_ip if spec else None
    if spec is None or not ip or ip == "None" or not spec.ports:
        return {}
    prefix = _env_name(service.metadata.name or "")
    host = f"[{ip}]" if ":" in ip else ip
    env = {f"{prefix}_SERVICE_HOST": ip, f"{prefix}_SERVICE_PORT": str(spec.ports[0].port)}
    for port in spec.ports:
        if port.name:
            env[f"{prefix}_SERVICE_PORT_{_env_name(port.name)}"] = str(port.port)
    for index, port in enumerate(spec.ports):
        protocol = (port.protocol or "TCP").lower()
        url = f"{protocol}://{host}:{port.port}"
        if index == 0:
            env[f"{prefix}_PORT"] = url
        base = f"{prefix}_PORT_{port.port}_{protocol.upper()}"
        env.update({base: url, f"{base}_PROTO": protocol, f"{base}_PORT": str(port.port),
                    f"{base}_ADDR": ip})
    return env


async def master_service_env(client: ObjectGetter) -> dict[str, str]:
    """The `kubernetes` Service's variables; none while it does not exist (or cannot be read)."""
    try:
        service = await client.get_object(Service, MASTER_SERVICE_NAME, MASTER_SERVICE_NAMESPACE)
    except ClientError:
        return {}
    return service_env(service)
