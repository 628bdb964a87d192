"""DockerRuntime: the kubelet's CRI runtime on a Docker engine (what dockershim was).

A pod sandbox is a pause container (`tinykube/pause:1`) that owns the pod's
network namespace and therefore its IP. With a pod network (`pod_network`, the
kubelet's `--network-plugin=host-gw`), sandboxes attach to a Docker bridge network
of that name whose subnet is the node's `spec.podCIDR` (bridge `cbr0`, made by
`update_runtime_config`; no Docker masquerading: the kubelet's host-gw agent owns
those rules), so pod IPs are cluster-routable. Without one they use Docker's
default bridge; with host networking they join the node's namespace. App containers join it with
`network_mode=container:<sandbox>` and `ipc_mode=container:<sandbox>`, so they share
localhost, the sandbox's hostname (and, for a pod with a subdomain, its domain name, so
/etc/hosts maps the pod IP to `<hostname>.<subdomain>.<ns>.svc.cluster.local`) and its resolv.conf, and run with `init=True`
(docker-init as PID 1 forwards SIGTERM and reaps zombies).

Every container carries Docker labels: the pod's uid/name/namespace, the container
name, the attempt, the sandbox id and a type (`podsandbox` or `container`); pod
annotations are stored as `annotation.<key>` labels. Listing by label is therefore
all a restarted kubelet needs to rebuild its view. Names follow dockershim
(`k8s_<container>_<pod>_<namespace>_<uid>_<attempt>`) so `docker ps` reads well.

Streaming (exec, attach, port-forward, logs, stats, events) is in docker_streams.py,
images in docker_images.py, the engine connection and error mapping in
docker_engine.py.

Kubernetes counterpart: pkg/kubelet/dockershim/docker_sandbox.go,
pkg/kubelet/dockershim/docker_container.go, pkg/kubelet/dockershim/helpers.go
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import secrets
from pathlib import Path
from typing import Any

import docker.errors
from docker.types import IPAMConfig, IPAMPool, LogConfig

from kubelet.runtime import (
    finished_not_before_started,
    CONTAINER_NAME_LABEL,
    PAUSE_IMAGE,
    POD_BRIDGE,
    POD_NAME_LABEL,
    POD_NAMESPACE_LABEL,
    POD_UID_LABEL,
    Container,
    ContainerConfig,
    ContainerState,
    PodSandbox,
    PodSandboxConfig,
    PodSandboxMetadata,
    RuntimeNotFound,
    RuntimeServiceError,
    SandboxState,
)
from kubelet.runtime.docker_engine import DEFAULT_ENDPOINT, DockerEngine, parse_timestamp_ns
from kubelet.runtime.docker_images import DockerImageService
from kubelet.runtime.docker_streams import DockerStreamingService

log = logging.getLogger(__name__)

CONTAINER_TYPE_LABEL = "io.kubernetes.docker.type"
SANDBOX_ID_LABEL = "io.kubernetes.sandbox.id"
SANDBOX_ATTEMPT_LABEL = "io.kubernetes.sandbox.attempt"
CONTAINER_ATTEMPT_LABEL = "io.kubernetes.container.attempt"
ANNOTATION_PREFIX = "annotation."
TYPE_SANDBOX, TYPE_CONTAINER = "podsandbox", "container"

_STATES = {"created": ContainerState.CREATED, "running": ContainerState.RUNNING,
           "paused": ContainerState.RUNNING, "restarting": ContainerState.RUNNING,
           "removing": ContainerState.EXITED, "exited": ContainerState.EXITED,
           "dead": ContainerState.EXITED}


def container_reason(state: dict[str, Any]) -> str:
    """Why an exited container ended, as kubectl shows it: OOMKilled, Error or Completed."""
    if state.get("Status") not in ("exited", "dead"):
        return ""
    if state.get("OOMKilled"):
        return "OOMKilled"
    return "Error" if int(state.get("ExitCode") or 0) != 0 else "Completed"


def sandbox_ip(network_settings: dict[str, Any]) -> str:
    if network_settings.get("IPAddress"):
        return str(network_settings["IPAddress"])
    for network in (network_settings.get("Networks") or {}).values():
        if network and network.get("IPAddress"):
            return str(network["IPAddress"])
    return ""


def visible_labels(labels: dict[str, str] | None) -> dict[str, str]:
    return {k: v for k, v in (labels or {}).items() if not k.startswith(ANNOTATION_PREFIX)}


def annotation_labels(annotations: dict[str, str]) -> dict[str, str]:
    return {ANNOTATION_PREFIX + k: v for k, v in annotations.items()}


def user_of(run_as_user: int | None, run_as_group: int | None) -> str | None:
    if run_as_user is None:
        return None
    return f"{run_as_user}:{run_as_group}" if run_as_group is not None else str(run_as_user)


def to_container(inspected: dict[str, Any]) -> Container:
    labels = inspected.get("Config", {}).get("Labels") or {}
    state = inspected.get("State") or {}
    started_at_ns = parse_timestamp_ns(state.get("StartedAt"))
    finished_at_ns = parse_timestamp_ns(state.get("FinishedAt")) if state.get("Status") in ("exited", "dead") else 0
    return Container(
        id=inspected["Id"], pod_sandbox_id=labels.get(SANDBOX_ID_LABEL, ""),
        name=labels.get(CONTAINER_NAME_LABEL, inspected.get("Name", "").lstrip("/")),
        image=inspected.get("Config", {}).get("Image", ""), image_ref=inspected.get("Image", ""),
        state=_STATES.get(state.get("Status", ""), ContainerState.UNKNOWN),
        created_at_ns=parse_timestamp_ns(inspected.get("Created")),
        started_at_ns=started_at_ns,
        finished_at_ns=finished_not_before_started(started_at_ns, finished_at_ns),
        exit_code=int(state.get("ExitCode") or 0), reason=container_reason(state),
        labels=visible_labels(labels))


def to_sandbox(container_id: str, labels: dict[str, str], running: bool, created_at_ns: int,
               network_settings: dict[str, Any]) -> PodSandbox:
    metadata = PodSandboxMetadata(name=labels.get(POD_NAME_LABEL, ""), namespace=labels.get(POD_NAMESPACE_LABEL, ""),
                                  uid=labels.get(POD_UID_LABEL, ""), attempt=int(labels.get(SANDBOX_ATTEMPT_LABEL, 0)))
    return PodSandbox(id=container_id, metadata=metadata,
                      state=SandboxState.READY if running else SandboxState.NOT_READY,
                      created_at_ns=created_at_ns, ip=sandbox_ip(network_settings), labels=visible_labels(labels))


class DockerRuntime(DockerImageService, DockerStreamingService):
    """RuntimeService + StreamingRuntime + ImageService on one Docker engine.

    - Stopping or removing something that is already gone is not an error (as in CRI);
      asking for the status of an unknown id raises RuntimeNotFound.
    - Every engine error surfaces as RuntimeServiceError with the engine's message.
    """

    def __init__(self, endpoint: str = DEFAULT_ENDPOINT, pod_infra_container_image: str = PAUSE_IMAGE,
                 pod_network: str | None = None) -> None:
        self.engine = DockerEngine(endpoint)
        self.pod_infra_container_image = pod_infra_container_image
        self.pod_network = pod_network  # the Docker network of pod sandboxes (None: default bridge)
        self.pod_network_cidr: str | None = None  # set once that network matches the podCIDR
        self.cpu_samples: dict[str, tuple[int, int]] = {}

    def close(self) -> None:
        self.engine.close()

    async def version(self) -> str:
        info = await self.engine.call(self.engine.api.version)
        return f"docker://{info.get('Version', 'unknown')}"

    async def update_runtime_config(self, pod_cidr: str) -> None:
        """Make the pod network's bridge own `pod_cidr` (CRI UpdateRuntimeConfig)."""
        if self.pod_network is None:
            log.info("pod CIDR noted; sandboxes stay on the default bridge pod_cidr=%s", pod_cidr)
            return
        api = self.engine.api
        subnet = ipaddress.ip_network(pod_cidr)
        try:
            existing = await self.engine.call(api.inspect_network, self.pod_network)
            configs = (existing.get("IPAM") or {}).get("Config") or [{}]
            if configs[0].get("Subnet") == str(subnet):
                self.pod_network_cidr = str(subnet)
                return
            log.warning("pod network has another subnet, making it again network=%s old=%s new=%s",
                        self.pod_network, configs[0].get("Subnet"), subnet)
            await self.engine.call(api.remove_network, self.pod_network)
        except RuntimeNotFound:
            pass
        pool = IPAMPool(subnet=str(subnet), gateway=str(next(subnet.hosts())))
        await self.engine.call(api.create_network, self.pod_network, driver="bridge",
                               ipam=IPAMConfig(pool_configs=[pool]),
                               options={"com.docker.network.bridge.name": POD_BRIDGE,
                                        "com.docker.network.bridge.enable_ip_masquerade": "false"})
        self.pod_network_cidr = str(subnet)
        log.info("pod network ready network=%s bridge=%s cidr=%s", self.pod_network, POD_BRIDGE, subnet)

    # --- sandboxes --------------------------------------------------------------------

    async def run_pod_sandbox(self, config: PodSandboxConfig) -> str:
        meta = config.metadata
        api = self.engine.api
        labels = {**config.labels, **annotation_labels(config.annotations), POD_UID_LABEL: meta.uid,
                  POD_NAME_LABEL: meta.name, POD_NAMESPACE_LABEL: meta.namespace,
                  CONTAINER_TYPE_LABEL: TYPE_SANDBOX, SANDBOX_ATTEMPT_LABEL: str(meta.attempt)}
        # "shareable": app containers join the sandbox's IPC namespace too.
        host: dict[str, Any] = {"restart_policy": {"Name": "no"}, "log_config": LogConfig(type="json-file"),
                                "ipc_mode": "shareable"}
        create: dict[str, Any] = {}
        if config.host_network:
            host["network_mode"] = "host"
        else:
            if self.pod_network is not None:
                if self.pod_network_cidr is None:
                    raise RuntimeServiceError("network is not ready: the node has no pod CIDR yet")
                host["network_mode"] = self.pod_network
            dns = config.dns_config
            if dns is not None:
                host.update(dns=list(dns.servers) or None, dns_search=list(dns.searches) or None,
                            dns_opt=list(dns.options) or None)
            create["hostname"] = (config.hostname or meta.name)[:63]
            if config.hostname_domain:
                create["domainname"] = config.hostname_domain
            bound = [p for p in config.port_mappings if p.host_port > 0]
            if bound:
                create["ports"] = [(p.container_port, p.protocol.lower()) for p in bound]
                host["port_bindings"] = {f"{p.container_port}/{p.protocol.lower()}":
                                         ((p.host_ip, p.host_port) if p.host_ip else p.host_port) for p in bound}
        name = f"k8s_POD_{meta.name}_{meta.namespace}_{meta.uid}_{meta.attempt}"

        def build() -> dict[str, Any]:
            return api.create_container_config(self.pod_infra_container_image, None, labels=labels,
                                               host_config=api.create_host_config(**host), **create)

        sandbox_id = await self._create(build, name)
        try:
            await self.engine.call(api.start, sandbox_id)
            if not config.host_network and config.dns_config is not None:
                await self._rewrite_resolv_conf(sandbox_id, config.dns_config)
        except (RuntimeServiceError, OSError):
            await self.remove_pod_sandbox(sandbox_id)
            raise
        log.debug("sandbox started pod=%s/%s sandbox=%s", meta.namespace, meta.name, sandbox_id[:12])
        return sandbox_id

    async def _rewrite_resolv_conf(self, sandbox_id: str, dns: Any) -> None:
        """On a user-defined network Docker points resolv.conf at its own embedded DNS
        (127.0.0.11) and relays from there; the pod must see the cluster's nameserver
        itself, as dockershim did: rewrite the file Docker keeps for the sandbox (the
        app containers, which join its namespaces, share that file)."""
        inspected = await self.engine.call(self.engine.api.inspect_container, sandbox_id)
        path = inspected.get("ResolvConfPath")
        if not path:
            return
        lines = [f"nameserver {server}" for server in dns.servers]
        if dns.searches:
            lines.append("search " + " ".join(dns.searches))
        if dns.options:
            lines.append("options " + " ".join(dns.options))
        await asyncio.to_thread(Path(path).write_text, "\n".join(lines) + "\n")

    async def stop_pod_sandbox(self, pod_sandbox_id: str) -> None:
        for container in await self._list(TYPE_CONTAINER, {SANDBOX_ID_LABEL: pod_sandbox_id}):
            await self._stop_if_present(container["Id"], 10)
        await self._stop_if_present(pod_sandbox_id, 10)

    async def remove_pod_sandbox(self, pod_sandbox_id: str) -> None:
        for container in await self._list(TYPE_CONTAINER, {SANDBOX_ID_LABEL: pod_sandbox_id}):
            await self.remove_container(container["Id"])
        await self.remove_container(pod_sandbox_id)

    async def pod_sandbox_status(self, pod_sandbox_id: str) -> PodSandbox:
        inspected = await self.engine.call(self.engine.api.inspect_container, pod_sandbox_id)
        labels = inspected.get("Config", {}).get("Labels") or {}
        if labels.get(CONTAINER_TYPE_LABEL) != TYPE_SANDBOX:
            raise RuntimeNotFound(f"{pod_sandbox_id} is not a pod sandbox")
        return to_sandbox(inspected["Id"], labels, bool(inspected.get("State", {}).get("Running")),
                          parse_timestamp_ns(inspected.get("Created")), inspected.get("NetworkSettings") or {})

    async def list_pod_sandboxes(self, labels: dict[str, str] | None = None) -> list[PodSandbox]:
        return [to_sandbox(s["Id"], s.get("Labels") or {}, s.get("State") == "running",
                           int(s.get("Created", 0)) * 1_000_000_000, s.get("NetworkSettings") or {})
                for s in await self._list(TYPE_SANDBOX, labels or {})]

    # --- containers -------------------------------------------------------------------

    async def create_container(self, pod_sandbox_id: str, config: ContainerConfig,
                               sandbox_config: PodSandboxConfig) -> str:
        meta = sandbox_config.metadata
        api = self.engine.api
        labels = {**config.labels, **annotation_labels(config.annotations), POD_UID_LABEL: meta.uid,
                  POD_NAME_LABEL: meta.name, POD_NAMESPACE_LABEL: meta.namespace,
                  CONTAINER_NAME_LABEL: config.name, CONTAINER_TYPE_LABEL: TYPE_CONTAINER,
                  SANDBOX_ID_LABEL: pod_sandbox_id, CONTAINER_ATTEMPT_LABEL: str(config.attempt)}
        resources, security = config.resources, config.security_context
        memory = resources.memory_limit_bytes or None
        host: dict[str, Any] = dict(
            network_mode=f"container:{pod_sandbox_id}", ipc_mode=f"container:{pod_sandbox_id}", init=True,
            binds=[f"{m.host_path}:{m.container_path}:{'ro' if m.readonly else 'rw'}" for m in config.mounts] or None,
            cpu_shares=resources.cpu_shares or None, cpu_quota=resources.cpu_quota_us or None,
            cpu_period=resources.cpu_period_us or None, mem_limit=memory, memswap_limit=memory,
            read_only=security.readonly_rootfs or None, cap_add=list(security.add_capabilities) or None,
            cap_drop=list(security.drop_capabilities) or None, privileged=security.privileged or None,
            restart_policy={"Name": "no"}, log_config=LogConfig(type="json-file"))
        name = f"k8s_{config.name}_{meta.name}_{meta.namespace}_{meta.uid}_{config.attempt}"

        def build() -> dict[str, Any]:
            # `command` replaces the image's ENTRYPOINT and `args` its CMD; with a
            # command and no args the image's CMD is dropped, as in Kubernetes.
            built = api.create_container_config(
                config.image, command=list(config.args) or None, entrypoint=list(config.command) or None,
                environment=[f"{k}={v}" for k, v in config.envs] or None,
                working_dir=config.working_dir or None, user=user_of(security.run_as_user, security.run_as_group),
                stdin_open=config.stdin, tty=config.tty, labels=labels, host_config=api.create_host_config(**host))
            built["AttachStdin"], built["StdinOnce"] = False, config.stdin_once
            return built

        container_id = await self._create(build, name)
        log.debug("container created pod=%s/%s container=%s id=%s", meta.namespace, meta.name,
                 config.name, container_id[:12])
        return container_id

    async def start_container(self, container_id: str) -> None:
        await self.engine.call(self.engine.api.start, container_id)

    async def stop_container(self, container_id: str, timeout_seconds: int) -> None:
        """SIGTERM (the image's stop signal), then SIGKILL after `timeout_seconds`."""
        await self.engine.call(self.engine.api.stop, container_id, timeout=max(0, int(timeout_seconds)))

    async def remove_container(self, container_id: str) -> None:
        try:
            await self.engine.call(self.engine.api.remove_container, container_id, force=True)
        except RuntimeNotFound:
            pass
        except RuntimeServiceError as error:
            if "already in progress" not in str(error):
                raise
        self.cpu_samples.pop(container_id, None)

    async def list_containers(self, pod_sandbox_id: str | None = None) -> list[Container]:
        """Full status of every app container (of one sandbox): a list, then one inspect each."""
        filters = {SANDBOX_ID_LABEL: pod_sandbox_id} if pod_sandbox_id else {}
        summaries = await self._list(TYPE_CONTAINER, filters)
        inspected = await asyncio.gather(*(self._inspect_or_none(s["Id"]) for s in summaries))
        return [to_container(i) for i in inspected if i is not None]

    async def container_status(self, container_id: str) -> Container:
        return to_container(await self.engine.call(self.engine.api.inspect_container, container_id))

    # --- helpers ----------------------------------------------------------------------

    async def _create(self, build: Any, name: str) -> str:
        """Create from a config; on a name conflict (a leftover of a crashed kubelet)
        retry once under a randomized name, as dockershim did."""
        api = self.engine.api
        try:
            created = await self.engine.call(lambda: api.create_container_from_config(build(), name))
        except RuntimeServiceError as error:
            if not isinstance(error.__cause__, docker.errors.APIError) or error.__cause__.status_code != 409:
                raise
            name = f"{name}_{secrets.token_hex(4)}"
            log.info("container name in use, randomizing name=%s", name)
            created = await self.engine.call(lambda: api.create_container_from_config(build(), name))
        return str(created["Id"])

    async def _list(self, kind: str, labels: dict[str, str]) -> list[dict[str, Any]]:
        selector = [f"{CONTAINER_TYPE_LABEL}={kind}", *(f"{k}={v}" for k, v in labels.items())]
        return list(await self.engine.call(self.engine.api.containers, all=True, filters={"label": selector}))

    async def _inspect_or_none(self, container_id: str) -> dict[str, Any] | None:
        try:
            return dict(await self.engine.call(self.engine.api.inspect_container, container_id))
        except RuntimeNotFound:
            return None  # removed between the list and the inspect

    async def _stop_if_present(self, container_id: str, timeout_seconds: int) -> None:
        try:
            await self.stop_container(container_id, timeout_seconds)
        except RuntimeNotFound:
            pass
