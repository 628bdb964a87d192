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
  (`subPath` joined below it); configMap, secret and downwardAPI volumes are
  always read-only, as upstream.
- DNS: with `--cluster-dns`, dnsPolicy ClusterFirst gets the cluster nameserver
  and the `<ns>.svc.<domain>` searches with ndots:5; "None" takes spec.dnsConfig.

Kubernetes counterpart: pkg/kubelet/kuberuntime/kuberuntime_container.go (generateContainerConfig),
pkg/kubelet/kuberuntime/kuberuntime_container_linux.go, pkg/kubelet/kuberuntime/kuberuntime_sandbox.go,
pkg/kubelet/kuberuntime/helpers_linux.go (milliCPUToShares, milliCPUToQuota), pkg/kubelet/network/dns/dns.go
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from kubelet.kuberuntime.env import expand, parse_quantity
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

Obj = dict[str, Any]
MIN_SHARES = 2
SHARES_PER_CPU = 1024
QUOTA_PERIOD_US = 100_000
MIN_QUOTA_PERIOD_US = 1000
DEFAULT_CLUSTER_DOMAIN = "cluster.local"
READ_ONLY_VOLUME_KINDS = ("configMap", "secret", "downwardAPI", "projected")


def pod_labels(pod: Obj) -> dict[str, str]:
    meta = pod["metadata"]
    return {POD_UID_LABEL: meta["uid"], POD_NAME_LABEL: meta["name"],
            POD_NAMESPACE_LABEL: meta.get("namespace", "")}


def dns_config(pod: Obj, cluster_dns: str, cluster_domain: str = DEFAULT_CLUSTER_DOMAIN) -> DNSConfig | None:
    spec = pod.get("spec") or {}
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "None":
        custom = spec.get("dnsConfig") or {}
        options = tuple(f"{o['name']}:{o['value']}" if o.get("value") else o["name"]
                        for o in custom.get("options") or [])
        return DNSConfig(tuple(custom.get("nameservers") or ()), tuple(custom.get("searches") or ()), options)
    if policy == "ClusterFirstWithHostNet" or (policy == "ClusterFirst" and not spec.get("hostNetwork")):
        if not cluster_dns:
            return None
        namespace = pod["metadata"].get("namespace", "default")
        return DNSConfig((cluster_dns,), (f"{namespace}.svc.{cluster_domain}", f"svc.{cluster_domain}",
                                          cluster_domain), ("ndots:5",))
    return None


def generate_pod_sandbox_config(pod: Obj, attempt: int, *, cluster_dns: str = "",
                                cluster_domain: str = DEFAULT_CLUSTER_DOMAIN, node_name: str = "") -> PodSandboxConfig:
    meta, spec = pod["metadata"], pod.get("spec") or {}
    ports = tuple(PortMapping(int(p["containerPort"]), int(p["hostPort"]), p.get("protocol") or "TCP",
                              p.get("hostIP") or "")
                  for c in spec.get("containers") or [] for p in c.get("ports") or [] if p.get("hostPort"))
    return PodSandboxConfig(
        PodSandboxMetadata(meta["name"], meta.get("namespace", ""), meta["uid"], attempt),
        hostname=spec.get("hostname") or meta["name"],
        labels={**pod_labels(pod), SANDBOX_ATTEMPT_LABEL: str(attempt), NODE_NAME_LABEL: node_name},
        port_mappings=ports, dns_config=dns_config(pod, cluster_dns, cluster_domain),
        host_network=bool(spec.get("hostNetwork")))


def container_resources(container: Obj) -> LinuxContainerResources:
    resources = container.get("resources") or {}
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    cpu_request = requests.get("cpu", limits.get("cpu"))  # a limit alone is also the request
    milli_request = int(parse_quantity(cpu_request) * 1000) if cpu_request is not None else 0
    shares = max(MIN_SHARES, milli_request * SHARES_PER_CPU // 1000)
    quota = period = 0
    if limits.get("cpu") is not None:
        period = QUOTA_PERIOD_US
        quota = max(MIN_QUOTA_PERIOD_US, int(parse_quantity(limits["cpu"]) * 1000) * QUOTA_PERIOD_US // 1000)
    memory = int(parse_quantity(limits["memory"])) if limits.get("memory") is not None else 0
    return LinuxContainerResources(shares, quota, period, memory)


def security_context(pod: Obj, container: Obj) -> SecurityContext:
    pod_context = (pod.get("spec") or {}).get("securityContext") or {}
    context = container.get("securityContext") or {}
    capabilities = context.get("capabilities") or {}
    user = context.get("runAsUser", pod_context.get("runAsUser"))
    group = context.get("runAsGroup", pod_context.get("runAsGroup"))
    return SecurityContext(
        run_as_user=int(user) if user is not None else None,
        run_as_group=int(group) if group is not None else None,
        readonly_rootfs=bool(context.get("readOnlyRootFilesystem")),
        add_capabilities=tuple(capabilities.get("add") or ()),
        drop_capabilities=tuple(capabilities.get("drop") or ()),
        privileged=bool(context.get("privileged")))


def container_mounts(pod: Obj, container: Obj, volume_paths: Mapping[str, str]) -> tuple[Mount, ...]:
    kinds = {v["name"]: next((k for k in v if k != "name"), "") for v in (pod.get("spec") or {}).get("volumes") or []}
    mounts = []
    for mount in container.get("volumeMounts") or []:
        host_path = volume_paths.get(mount["name"])
        if host_path is None:
            continue  # the volume manager reports volumes that are not ready before we get here
        if mount.get("subPath"):
            host_path = os.path.join(host_path, mount["subPath"].lstrip("/"))
        readonly = bool(mount.get("readOnly")) or kinds.get(mount["name"]) in READ_ONLY_VOLUME_KINDS
        mounts.append(Mount(mount["mountPath"], host_path, readonly))
    return tuple(mounts)


def generate_container_config(pod: Obj, container: Obj, *, attempt: int, envs: list[tuple[str, str]],
                              volume_paths: Mapping[str, str]) -> ContainerConfig:
    grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
    labels = {**pod_labels(pod), CONTAINER_NAME_LABEL: container["name"],
              CONTAINER_ATTEMPT_LABEL: str(attempt), CONTAINER_HASH_LABEL: container_hash(container),
              TERMINATION_GRACE_LABEL: str(grace)}
    env = dict(envs)  # $(VAR) in command and args expands from the container's env
    return ContainerConfig(
        name=container["name"], image=container.get("image", ""), attempt=attempt,
        command=tuple(expand(c, env) for c in container.get("command") or ()),
        args=tuple(expand(a, env) for a in container.get("args") or ()),
        labels=labels, working_dir=container.get("workingDir") or "", envs=tuple(envs),
        mounts=container_mounts(pod, container, volume_paths), resources=container_resources(container),
        security_context=security_context(pod, container), stdin=bool(container.get("stdin")),
        stdin_once=bool(container.get("stdinOnce")), tty=bool(container.get("tty")))
