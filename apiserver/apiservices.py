"""APIService objects (apiregistration.k8s.io/v1): what this API server serves, listed.

kube-apiserver keeps one APIService per served group version (`v1.apps`,
`v2.autoscaling`, ...), labelled `kube-aggregator.kubernetes.io/automanaged: onstart`,
with no `spec.service` ("Local") and an Available condition. Its aggregator would also
proxy group versions whose APIService names a Service; tinykube serves no aggregated
APIs (metrics.k8s.io is served by the API server itself, so it is Local too), so such
APIServices are refused at create (see strategies/apiservice.py) rather than stored
and never served.

`desired_api_services` lists what must exist (custom resources' group versions
included, as upstream's CRD registration controller adds them); `APIServiceRegistration`
creates the missing ones at start and every `RESYNC_SECONDS` after (a deleted one comes
back, as upstream's autoregister controller does), puts back an edited spec, and
removes the automanaged ones of group versions no longer served.

Kubernetes counterpart: pkg/controlplane/apiserver/aggregator.go (apiServicesToRegister, the priorities),
staging/src/k8s.io/kube-aggregator/pkg/controllers/autoregister
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from apiserver import errors
from apiserver.registry import Registry, RequestContext
from apiserver.storage.interface import KeyNotFoundError
from tinykube.api.resources import INDEX
from tinykube.flow import chain as flow_chain

log = logging.getLogger(__name__)

Obj = dict[str, Any]
AUTOMANAGED_LABEL = "kube-aggregator.kubernetes.io/automanaged"
RESYNC_SECONDS = 10.0
# Group versions the API server serves outside the resource table (its own handlers:
# the metrics API and the flow log).
# (metrics.k8s.io is apiserver/proxy/metrics.py's GROUP, VERSION; importing that
# package here would be circular: it needs the server.)
EXTRA_GROUP_VERSIONS = (("metrics.k8s.io", "v1beta1"), (flow_chain.GROUP, flow_chain.VERSION))
# (groupPriorityMinimum, versionPriority) as kube-apiserver registers them.
PRIORITIES: dict[tuple[str, str], tuple[int, int]] = {
    ("apps", "v1"): (17800, 15),
    ("events.k8s.io", "v1"): (17750, 15),
    ("autoscaling", "v2"): (17500, 30),
    ("autoscaling", "v1"): (17500, 15),
    ("batch", "v1"): (17400, 15),
    ("networking.k8s.io", "v1"): (17200, 15),
    ("policy", "v1"): (17100, 15),
    ("storage.k8s.io", "v1"): (16800, 15),
    ("apiregistration.k8s.io", "v1"): (18000, 15),
    ("coordination.k8s.io", "v1"): (16500, 15),
    ("discovery.k8s.io", "v1"): (16200, 15),
    ("metrics.k8s.io", "v1beta1"): (100, 100),
}
DEFAULT_PRIORITY = (1000, 15)


def served_group_versions() -> list[tuple[str, str]]:
    """Every named group version this API server serves (the core group has none)."""
    found = [gv for gv in INDEX.group_versions() if gv[0]]
    return found + [gv for gv in EXTRA_GROUP_VERSIONS if gv not in found]


def desired_api_service(group: str, version: str) -> Obj:
    group_priority, version_priority = PRIORITIES.get((group, version), DEFAULT_PRIORITY)
    return {
        "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
        "metadata": {"name": f"{version}.{group}", "labels": {AUTOMANAGED_LABEL: "onstart"}},
        "spec": {"group": group, "version": version, "groupPriorityMinimum": group_priority,
                 "versionPriority": version_priority},
    }


def desired_api_services() -> list[Obj]:
    return [desired_api_service(group, version) for group, version in served_group_versions()]


class APIServiceRegistration:
    """Keeps the APIServices of `desired_api_services` in the registry."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._task: asyncio.Task[None] | None = None

    async def ensure(self) -> None:
        wanted_names = {w["metadata"]["name"] for w in desired_api_services()}
        for obj in self.registry.cache.snapshot():  # a CRD's group that is gone
            meta = obj.get("metadata") or {}
            if meta.get("name") not in wanted_names and \
                    (meta.get("labels") or {}).get(AUTOMANAGED_LABEL) == "onstart":
                try:
                    await self.registry.storage.delete(self.registry.key(None, meta["name"]))
                except KeyNotFoundError:
                    pass
        for wanted in desired_api_services():
            name = wanted["metadata"]["name"]
            current = self.registry.cache.cached(self.registry.key(None, name))
            try:
                if current is None:
                    await self.registry.create(None, wanted, RequestContext(field_manager="kube-apiserver"))
                elif {k: (current.get("spec") or {}).get(k) for k in wanted["spec"]} != wanted["spec"]:
                    await self.registry.update(None, name, {**current, "spec": wanted["spec"]},
                                               RequestContext(field_manager="kube-apiserver"))
            except errors.APIError as err:
                if err.code != 409:  # another API server did it first
                    log.warning("apiservice not registered name=%s error=%s", name, err)

    def start(self) -> None:
        self._task = asyncio.create_task(self._resync(), name="apiservice registration")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _resync(self) -> None:
        while True:
            await asyncio.sleep(RESYNC_SECONDS)
            try:
                await self.ensure()
            except Exception:  # a storage hiccup: the next round tries again
                log.exception("apiservice registration failed")
