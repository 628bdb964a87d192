"""Which Services select a pod: the index the endpoints controllers share.

The Endpoints controller and the EndpointSlice controller both recompute a Service
when a pod it selects changes. A pod event names no Service, so each keeps this
index of every selector Service's parsed selector and asks it, for a pod's old and
new labels, which Service keys to enqueue.

Kubernetes counterpart: pkg/controller/endpoint/endpoints_controller.go (getPodServiceMemberships),
pkg/controller/util/endpoint/controller_utils.go (ServiceSelectorCache)
"""

from __future__ import annotations

from tinykube.api.core import Pod, Service
from tinykube.api.selectors import LabelSelector, label_selector_from_dict
from tinykube.client import NAMESPACE_INDEX, Indexer, meta_namespace_key


class ServicePodIndex:
    def __init__(self, services: Indexer) -> None:
        self.services = services
        # Service key -> its parsed selector (services without a selector are absent).
        self.selectors: dict[str, LabelSelector] = {}

    def set_service(self, service: Service) -> str:
        """Remember (or forget) the Service's selector; returns its key."""
        key = meta_namespace_key(service)
        selector = service.spec.selector if service.spec else None
        if selector:
            self.selectors[key] = label_selector_from_dict({"matchLabels": selector})
        else:
            self.selectors.pop(key, None)
        return key

    def forget(self, service: Service) -> str:
        key = meta_namespace_key(service)
        self.selectors.pop(key, None)
        return key

    def services_for_labels(self, namespace: str, labels: dict[str, str]) -> set[str]:
        keys = set()
        for service in self.services.by_index(NAMESPACE_INDEX, namespace):
            key = meta_namespace_key(service)
            selector = self.selectors.get(key)
            if selector is not None and selector.matches(labels):
                keys.add(key)
        return keys

    def services_for_pod(self, pod: Pod) -> set[str]:
        return self.services_for_labels(pod.metadata.namespace or "", pod.metadata.labels or {})

    def services_for_pod_update(self, old: Pod, new: Pod) -> set[str]:
        """The Services to recompute for a pod update; none for a resync that changed nothing."""
        if old.metadata.resource_version == new.metadata.resource_version:
            return set()
        keys = self.services_for_pod(new)
        if (old.metadata.labels or {}) != (new.metadata.labels or {}):
            keys |= self.services_for_pod(old)
        return keys
