"""The root CA publisher: a `kube-root-ca.crt` ConfigMap with `ca.crt` in every namespace.

Pods verify the API server with it (the ServiceAccount token volume projects it
as `ca.crt`). The CA is `--root-ca-file`, or, as upstream, the CA of the
controller manager's own kubeconfig; with neither the controller publishes
nothing and says so. A namespace is synced when it appears or changes and when
its ConfigMap changes or is deleted: the ConfigMap is created, or its data and
description put back, when they differ.

Kubernetes counterpart: pkg/controller/certificates/rootcacertpublisher/publisher.go
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from controller_manager.controller_utils import Controller
from tinykube.api.core import ConfigMap, Namespace
from tinykube.api.meta import ObjectMeta
from tinykube.api.resources import CONFIGMAPS, NAMESPACES
from tinykube.client import (
    REAL_CLOCK, AlreadyExists, Clock, Conflict, EventRecorder, Forbidden, NotFound, RESTClient,
    SharedInformerFactory,
)

log = logging.getLogger(__name__)

CONFIG_MAP_NAME = "kube-root-ca.crt"
DATA_KEY = "ca.crt"
DESCRIPTION_ANNOTATION = "kubernetes.io/description"
DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using "
               "internal endpoints such as the internal service IP or kubernetes.default.svc. No "
               "other usage is guaranteed across distributions of Kubernetes clusters.")


def root_ca(root_ca_file: str, client: RESTClient) -> str:
    if root_ca_file:
        return Path(root_ca_file).read_text()
    config = getattr(client, "config", None)  # a test's fake client has none
    if config is not None and config.ca_data:
        return str(config.ca_data.decode())
    if config is not None and config.ca_file:
        return Path(config.ca_file).read_text()
    return ""


class RootCACertPublisher(Controller):
    """Guarantees: in every active namespace the ConfigMap holds exactly the CA."""

    name = "root-ca-cert-publisher"

    def __init__(self, client: RESTClient, factory: SharedInformerFactory, recorder: EventRecorder,
                 *, clock: Clock = REAL_CLOCK, root_ca_file: str = "", **options: Any) -> None:
        super().__init__(client, recorder, self.sync_namespace, clock=clock)
        self.root_ca = root_ca(root_ca_file, client)
        self.namespace_informer = factory.informer_for(NAMESPACES)
        self.config_map_informer = factory.informer_for(CONFIGMAPS)
        self.namespace_informer.add_event_handler(self.enqueue, lambda old, cur: self.enqueue(cur),
                                                  None)
        self.config_map_informer.add_event_handler(
            None, lambda old, cur: self.config_map_changed(cur), self.config_map_changed)

    def config_map_changed(self, config_map: ConfigMap) -> None:
        if config_map.metadata.name == CONFIG_MAP_NAME and config_map.metadata.namespace:
            self.queue.add(config_map.metadata.namespace)

    async def run(self, workers: int) -> None:
        if not self.root_ca:
            log.warning("no root CA (--root-ca-file, or a CA in the kubeconfig): "
                        "kube-root-ca.crt is not published")
            return
        await super().run(workers)

    async def sync_namespace(self, key: str) -> None:
        namespace: Namespace | None = self.namespace_informer.indexer.get(key)
        if namespace is None or namespace.metadata.deletion_timestamp is not None:
            return
        current: ConfigMap | None = self.config_map_informer.indexer.get(f"{key}/{CONFIG_MAP_NAME}")
        try:
            if current is None:
                await self.client.create_object(ConfigMap(
                    metadata=ObjectMeta(name=CONFIG_MAP_NAME, namespace=key,
                                        annotations={DESCRIPTION_ANNOTATION: DESCRIPTION}),
                    data={DATA_KEY: self.root_ca}))
                log.info("published root CA namespace=%s", key)
                return
            annotations = current.metadata.annotations or {}
            if current.data == {DATA_KEY: self.root_ca} and \
                    annotations.get(DESCRIPTION_ANNOTATION) == DESCRIPTION:
                return
            wanted = current.model_copy(deep=True)  # never mutate the cached object
            wanted.data = {DATA_KEY: self.root_ca}
            wanted.metadata.annotations = {**annotations, DESCRIPTION_ANNOTATION: DESCRIPTION}
            await self.client.update_object(wanted)
            log.info("updated root CA namespace=%s", key)
        except (AlreadyExists, Conflict):
            self.queue.add_rate_limited(key)  # the cache was behind: look again
        except (NotFound, Forbidden):
            pass  # the namespace is going away
