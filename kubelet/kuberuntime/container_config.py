"""Pod and container specs → the runtime's PodSandboxConfig and ContainerConfig.

- Labels carry what a restarted kubelet needs: pod uid/name/namespace, container
  name, attempt (restartCount) and the spec hash.
- Resources: cpu shares = requests.cpu in millicores × 1024 / 1000 (at least 2);
  cpu quota = limits.cpu in millicores × 100000 / 1000 per 100000 µs period (at
  least 1000); memory limit = limits.memory in bytes.
- Security: the container's securityContext, falling back to the pod's
  runAsUser/runAsGroup.
- `$(VAR)` in command and args expands from the container's environment.
- Mounts: each volumeMount resolved through the volume manager's host paths
  (`subPath` joined below it, refused when absolute, with a `..` element, or
  resolving outside the volume through a symlink: a pod stored before the API
  validated paths, or a link another container made in a shared emptyDir);
  configMap, secret and downwardAPI volumes are always read-only, as upstream.
- DNS: with `--cluster-dns`, dnsPolicy ClusterFirst gets the cluster nameserver
  and the `<ns>.svc.<domain>` searches with ndots:5; "None" takes spec.dnsConfig.

Kubernetes counterpart: pkg/kubelet/kuberuntime/kuberuntime_container.go (generateContainerConfig),
pkg/kubelet/kuberuntime/kuberuntime_container_linux.go, pkg/kubelet/kuberuntime/kuberuntime_sandbox.go,
pkg/kubelet/kuberuntime/helpers_linux.go (milliCPUToShares, milliCPUToQuota), pkg/kubelet/network/dns/dns.go
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from kubelet.kuberuntime.env import ContainerConfigError, expand, parse_quantity
from kubelet.kuberuntime.types import (
    CONTAINER_ATTEMPT_LABEL,
    CONTAINER_HASH_LABEL,
    NODE_NAME_LABEL,
    SANDBOX_ATTEMPT_LABEL,
    TERMINATION_GRACE_LABEL,
    container_hash,
)
from kubelet.runtime import (
    CONTAINER_NAME_LABEL,
    POD_NAME_LABEL,
    POD_NAMESPACE_LABEL,
    POD_UID_LABEL,
    ContainerConfig,
    DNSConfig,
    LinuxContainerResources,
    Mount,
    PodSandboxConfig,
    PodSandboxMetadata,
    PortMapping,
    SecurityContext,
)
from tinykube.api.core import Container, Pod, PodSpec, Volume

MIN_SHARES = 2
SHARES_PER_CPU = 1024
QUOTA_PERIOD_US = 100_000
MIN_QUOTA_PERIOD_US = 1000
DEFAULT_CLUSTER_DOMAIN = "cluster.local"


def pod_labels(pod: Pod) -> dict[str, str]:
    meta = pod.metadata
    return {POD_UID_LABEL: meta.uid or "", POD_NAME_LABEL: meta.name or "", POD_NAMESPACE_LABEL: meta.namespace or ""}


def dns_config(pod: Pod, cluster_dns: str, cluster_domain: str = DEFAULT_CLUSTER_DOMAIN) -> DNSConfig | None:
    spec = pod.spec or PodSpec()
    policy = spec.dns_policy or "ClusterFirst"
    if policy == "None":
        custom = spec.dns_config
        if custom is None:
            return DNSConfig((), (), ())
        options = tuple(f"{o.name}:{o.value}" if o.value else o.name or "" for o in custom.options or [])
        return DNSConfig(tuple(custom.nameservers or ()), tuple(custom.searches or ()), options)
    if policy == "ClusterFirstWithHostNet" or (policy == "ClusterFirst" and not spec.host_network):
        if not cluster_dns:
            return None
        namespace = pod.metadata.namespace or "default"
        return DNSConfig((cluster_dns,), (f"{namespace}.svc.{cluster_domain}", f"svc.{cluster_domain}",
                                          cluster_domain), ("ndots:5",))
    return None


def generate_pod_sandbox_config(pod: Pod, attempt: int, *, cluster_dns: str = "",
                                cluster_domain: str = DEFAULT_CLUSTER_DOMAIN, node_name: str = "") -> PodSandboxConfig:
    meta, spec = pod.metadata, pod.spec or PodSpec()
    ports = tuple(PortMapping(p.container_port, p.host_port, p.protocol or "TCP", p.host_ip or "")
                  for c in spec.containers for p in c.ports or [] if p.host_port)
    return PodSandboxConfig(
        PodSandboxMetadata(meta.name or "", meta.namespace or "", meta.uid or "", attempt),
        hostname=(spec.hostname or meta.name or "")[:63],
        hostname_domain=(f"{spec.subdomain}.{meta.namespace or 'default'}.svc.{cluster_domain}"
                         if spec.subdomain else ""),
        labels={**pod_labels(pod), SANDBOX_ATTEMPT_LABEL: str(attempt), NODE_NAME_LABEL: node_name},
        port_mappings=ports, dns_config=dns_config(pod, cluster_dns, cluster_domain),
        host_network=bool(spec.host_network))


def container_resources(container: Container) -> LinuxContainerResources:
    resources = container.resources
    requests = (resources.requests if resources else None) or {}
    limits = (resources.limits if resources else None) or {}
    cpu_request = requests.get("cpu", limits.get("cpu"))  # a limit alone is also the request
    milli_request = int(parse_quantity(cpu_request) * 1000) if cpu_request is not None else 0
    shares = max(MIN_SHARES, milli_request * SHARES_PER_CPU // 1000)
    quota = period = 0
    if limits.get("cpu") is not None:
        period = QUOTA_PERIOD_US
        quota = max(MIN_QUOTA_PERIOD_US, int(parse_quantity(limits["cpu"]) * 1000) * QUOTA_PERIOD_US // 1000)
    memory = int(parse_quantity(limits["memory"])) if limits.get("memory") is not None else 0
    return LinuxContainerResources(shares, quota, period, memory)


def security_context(pod: Pod, container: Container) -> SecurityContext:
    pod_context = pod.spec.security_context if pod.spec else None
    context = container.security_context
    capabilities = context.capabilities if context else None
    user = context.run_as_user if context and context.run_as_user is not None else (
        pod_context.run_as_user if pod_context else None)
    group = context.run_as_group if context and context.run_as_group is not None else (
        pod_context.run_as_group if pod_context else None)
    return SecurityContext(
        run_as_user=user, run_as_group=group,
        readonly_rootfs=bool(context and context.read_only_root_filesystem),
        add_capabilities=tuple(capabilities.add or ()) if capabilities else (),
        drop_capabilities=tuple(capabilities.drop or ()) if capabilities else (),
        privileged=bool(context and context.privileged))


def _always_read_only(volume: Volume) -> bool:
    """configMap, secret, downwardAPI and projected volumes are mounted read-only, as upstream;
    so is a persistentVolumeClaim with `readOnly: true`."""
    claim = volume.persistent_volume_claim
    return bool(volume.config_map or volume.secret or volume.downward_api or volume.projected
                or (claim is not None and claim.read_only))


def sub_path_on_host(volume_path: str, sub_path: str) -> str:
    """The host path of `sub_path` below a volume; ContainerConfigError if it would leave it
    (kubelet_pods.go makeMounts, subpath's safe-open check of every path element)."""
    if os.path.isabs(sub_path):
        raise ContainerConfigError(f"error SubPath `{sub_path}` must not be an absolute path")
    if ".." in sub_path.split("/"):
        raise ContainerConfigError(f"unable to provision SubPath `{sub_path}`: must not contain '..'")
    joined = os.path.join(volume_path, sub_path)
    root = os.path.realpath(volume_path)
    if os.path.commonpath([root, os.path.realpath(joined)]) != root:
        raise ContainerConfigError(f"subpath {joined!r} not within volume path {root!r}")
    return joined


def container_mounts(pod: Pod, container: Container, volume_paths: Mapping[str, str]) -> tuple[Mount, ...]:
    read_only = {v.name for v in (pod.spec.volumes if pod.spec else None) or [] if _always_read_only(v)}
    mounts = []
    for mount in container.volume_mounts or []:
        host_path = volume_paths.get(mount.name)
        if host_path is None:
            continue  # the volume manager reports volumes that are not ready before we get here
        if mount.sub_path:
            host_path = sub_path_on_host(host_path, mount.sub_path)
        mounts.append(Mount(mount.mount_path, host_path, bool(mount.read_only) or mount.name in read_only))
    return tuple(mounts)


def generate_container_config(pod: Pod, container: Container, *, attempt: int, envs: list[tuple[str, str]],
                              volume_paths: Mapping[str, str]) -> ContainerConfig:
    grace = pod.spec.termination_grace_period_seconds if pod.spec else None
    labels = {**pod_labels(pod), CONTAINER_NAME_LABEL: container.name,
              CONTAINER_ATTEMPT_LABEL: str(attempt), CONTAINER_HASH_LABEL: container_hash(container),
              TERMINATION_GRACE_LABEL: str(30 if grace is None else grace)}
    env = dict(envs)  # $(VAR) in command and args expands from the container's env
    return ContainerConfig(
        name=container.name, image=container.image or "", attempt=attempt,
        command=tuple(expand(c, env) for c in container.command or ()),
        args=tuple(expand(a, env) for a in container.args or ()),
        labels=labels, working_dir=container.working_dir or "", envs=tuple(envs),
        mounts=container_mounts(pod, container, volume_paths), resources=container_resources(container),
        security_context=security_context(pod, container), stdin=bool(container.stdin),
        stdin_once=bool(container.stdin_once), tty=bool(container.tty))
