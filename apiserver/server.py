"""The API server's state: storage, one registry and watch cache per resource.

`APIServer` wires the layers together and owns their lifecycle: it connects the
storage, starts one watch cache per resource (the single etcd watch each resource
has), and makes sure the `default`, `kube-system`, `kube-public` and
`kube-node-lease` namespaces exist. The HTTP layer (`app.py`) only translates
requests into calls on these registries.

Kubernetes counterpart: pkg/controlplane/instance.go, staging/src/k8s.io/apiserver/pkg/server/genericapiserver.go
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from apiserver import errors
from apiserver.admission import AdmissionChain, build_chain
from apiserver.auth import Authenticator
from apiserver.authorization.authorizer import Authorizer
from apiserver.authorization.rbac.bootstrap import ensure_bootstrap_policy
from apiserver.allocator import Allocator, parse_port_range, reserved_service_ips, service_ip_values
from apiserver.apiextensions.controller import CustomResourceDefinitionController
from apiserver.apiservices import APIServiceRegistration
from apiserver.controlplane.kubernetes_service import KubernetesServiceConfig, KubernetesServiceController
from apiserver.conversions import storage_for_version
from apiserver.decoding import MAX_REQUEST_BODY_BYTES
from apiserver.flow.log import DEFAULT_FLOW_LOG_SIZE, FlowLog
from apiserver.flow.storage import FlowStorage
from apiserver.reading import watch_trigger
from apiserver.registry import Clock, Registry, RequestContext, utc_now
from apiserver.schema import build_schemas
from apiserver.serviceaccount import admission as _serviceaccount_admission  # noqa: F401 (registers the plugin)
from apiserver.serviceaccount.issuer import TokenIssuer
from apiserver.storage.interface import KeyNotFoundError, Storage
from apiserver.strategies import strategy_for
from apiserver.watchcache import WatchCache
from tinykube.api.resources import (
    API_SERVICES, ENDPOINT_SLICES, ENDPOINTS, INDEX, LEASES, NAMESPACES, SERVICES, ResourceInfo,
)

log = logging.getLogger(__name__)

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


@dataclass(frozen=True)
class ServerConfig:
    service_cluster_ip_range: str = "10.96.0.0/16"
    service_node_port_range: str = "30000-32767"
    max_request_bytes: int = MAX_REQUEST_BODY_BYTES  # 3 MiB, Kubernetes' MaxRequestBodyBytes
    watch_history_size: int = 10_000
    etcd_healthcheck_timeout_seconds: float = 2.0  # /livez, /readyz: etcd answers within
    etcd_readycheck_timeout_seconds: float = 2.0  # /readyz: etcd answers, no alarm, within
    kubelet_client_token_file: str = ""  # the bearer token presented to kubelets
    kubelet_certificate_authority: str = ""  # verify kubelets' certificates (else not checked)
    kubelet_client_certificate: str = ""  # the client certificate (and key) presented to kubelets
    kubelet_client_key: str = ""
    flow_log_size: int = DEFAULT_FLOW_LOG_SIZE  # records kept by the flow log; 0 = off
    admission_plugins: tuple[str, ...] = ()  # --enable-admission-plugins, in order
    kubernetes_service: KubernetesServiceConfig | None = None  # None: not kept (unit tests)


class APIServer:
    def __init__(self, storage: Storage, config: ServerConfig | None = None,
                 clock: Clock = utc_now) -> None:
        self.storage = storage
        self.config = config or ServerConfig()
        self.clock = clock
        ips = Allocator(storage, "serviceips", service_ip_values(self.config.service_cluster_ip_range),
                        reserved=reserved_service_ips(self.config.service_cluster_ip_range))
        ports = Allocator(storage, "servicenodeports",
                          parse_port_range(self.config.service_node_port_range))
        self.registries: dict[ResourceInfo, Registry] = {}
        self.admission = AdmissionChain()  # filled below, once the registries exist
        # The HTTPS port's authenticator, once the listeners are made (None: anonymous).
        self.authenticator: Authenticator | None = None
        # Signs serviceaccounts/token answers (None: the subresource is not served).
        self.token_issuer: TokenIssuer | None = None
        # The HTTPS port's authorizer chain (None: everything allowed); access reviews ask it.
        self.authorizer: Authorizer | None = None
        self.flow_log = FlowLog(self.config.flow_log_size)
        for info in INDEX.resources:  # the built-ins; the CRD controller adds the rest
            served = storage_for_version(storage, info)
            cache = WatchCache(served, f"/registry/{info.plural}/",
                               history_size=self.config.watch_history_size,
                               trigger=watch_trigger(info.kind))
            writes: Storage = FlowStorage(served, info, self.flow_log) \
                if self.flow_log.enabled else served
            self.registries[info] = Registry(info, writes, strategy_for(info, ips, ports), cache,
                                             self.check_namespace, clock)
            self.registries[info].admission = self.admission
        self.admission.plugins.extend(build_chain(list(self.config.admission_plugins),
                                                  self).plugins)
        self.namespaces = self.registries[NAMESPACES]
        self.api_services = APIServiceRegistration(self.registries[API_SERVICES])
        self.crd_controller = CustomResourceDefinitionController(self)
        self.kubernetes_service: KubernetesServiceController | None = None
        if self.config.kubernetes_service is not None:
            self.kubernetes_service = KubernetesServiceController(
                *(self.registries[i] for i in (SERVICES, ENDPOINTS, ENDPOINT_SLICES, LEASES)),
                self.config.kubernetes_service, clock)
        self.ready = False

    async def start(self) -> None:
        for registry in self.registries.values():
            await registry.cache.start()
        await self._ensure_system_namespaces()
        await ensure_bootstrap_policy(self.registries)  # the default RBAC roles and bindings
        await self.api_services.ensure()
        self.api_services.start()
        models = await asyncio.to_thread(build_schemas, list(self.registries))
        await self.crd_controller.start()  # custom resources are served once ready
        if self.kubernetes_service is not None:
            await self.kubernetes_service.start()
        self.ready = True
        log.info("api server ready resources=%d models=%d", len(self.registries), models)

    async def stop(self) -> None:
        self.ready = False
        if self.kubernetes_service is not None:
            await self.kubernetes_service.stop()  # takes this server out of the endpoints
        await self.api_services.stop()
        await self.crd_controller.stop()
        for registry in self.registries.values():
            await registry.cache.stop()

    async def _ensure_system_namespaces(self) -> None:
        for name in SYSTEM_NAMESPACES:
            try:
                await self.storage.get(self.namespaces.key(None, name))
            except KeyNotFoundError:
                try:
                    await self.namespaces.create(None, {"metadata": {"name": name}},
                                                 RequestContext(field_manager="kube-apiserver"))
                except errors.APIError as err:
                    if err.code != 409:  # another API server made it first
                        raise

    async def check_namespace(self, namespace: str) -> None:
        """Creating into a namespace needs it to exist and not be terminating.

        Like Kubernetes' NamespaceLifecycle admission, the namespace is looked up in
        the watch cache first and only read from etcd when the cache has not seen it
        (a namespace created a moment ago).
        """
        key = self.namespaces.key(None, namespace)
        ns = self.namespaces.cache.cached(key)
        if ns is None:
            try:
                ns = await self.storage.get(key)
            except KeyNotFoundError:
                raise errors.not_found(self.namespaces.info, namespace) from None
        if (ns.get("status") or {}).get("phase") == "Terminating":
            raise errors.APIError(
                403, "Forbidden", f"unable to create new content in namespace {namespace} "
                "because it is being terminated",
                {"name": namespace, "kind": "namespaces",
                 "causes": [{"reason": "NamespaceTerminating", "field": "metadata.namespace",
                             "message": f"namespace {namespace} is being terminated"}]})
