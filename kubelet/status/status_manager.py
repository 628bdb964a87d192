"""The status manager: the one writer of this node's pod statuses to the API.

The pod sync hands it the status it generated (`set_pod_status`); the manager
compares it with the last status it knows for that pod and writes only a change.

- The status it compares against is the one it wrote last, as long as the pod's
  resourceVersion is the one that status was computed from; once the pod has
  changed (someone else wrote it), the pod's own status is the reference again.
- A write is a merge patch of `status` on the `status` subresource, carrying the
  pod's uid as a precondition (a new pod of the same name never gets an old pod's
  status). A pod already gone (NotFound) is not an error.
- `remove_pod(uid)` forgets a pod that left the node.

Kubernetes counterpart: pkg/kubelet/status/status_manager.go (SetPodStatus,
syncPod, needsUpdate), pkg/util/pod/pod.go (PatchPodStatus)
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from kubelet.kuberuntime.manager import pod_key
from kubelet.status.generate import status_differs
from tinykube.api.core import Pod, PodStatus
from tinykube.api.resources import PODS, ResourceInfo
from tinykube.client.errors import ClientError, NotFound

log = logging.getLogger(__name__)


class StatusClient(Protocol):
    async def patch(self, info: ResourceInfo, name: str, body: Any, *, patch_type: Any = ...,
                    namespace: str | None = None, subresource: str | None = None) -> Any: ...


class StatusManager:
    """Caches the last status per pod uid and writes only what changed."""

    def __init__(self, client: StatusClient) -> None:
        self.client = client
        self._written: dict[str, tuple[str, PodStatus]] = {}  # uid → (resourceVersion synced, status written)

    def last_status(self, pod: Pod) -> PodStatus:
        """What the API holds for `pod` as far as this kubelet knows."""
        meta = pod.metadata
        written = self._written.get(meta.uid or "")
        if written is not None and written[0] == (meta.resource_version or ""):
            return written[1]
        return pod.status or PodStatus()

    async def set_pod_status(self, pod: Pod, status: PodStatus) -> bool:
        """Write `status` when it differs from the last known one; whether it wrote."""
        meta = pod.metadata
        uid, version = meta.uid or "", meta.resource_version or ""
        if not status_differs(self.last_status(pod), status):
            return False
        body = {"metadata": {"uid": uid}, "status": status.to_dict()}  # the patch document: wire form
        try:
            await self.client.patch(PODS, meta.name or "", body, patch_type="merge", namespace=meta.namespace,
                                    subresource="status")
        except NotFound:
            return False
        except ClientError as err:
            log.warning("status update failed pod=%s err=%r", pod_key(pod), err)
            raise
        self._written[uid] = (version, status)
        log.info("pod status written pod=%s phase=%s ip=%s", pod_key(pod), status.phase, status.pod_ip)
        return True

    def remove_pod(self, uid: str) -> None:
        self._written.pop(uid, None)
