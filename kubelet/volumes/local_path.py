"""Local-path reclaim: the node deletes the data of provisioned volumes that are gone.

The host-path provisioner (controller manager) puts each volume in
`<LOCAL_PATH_DIR>/pvc-<uid>` on one node, and the kubelet creates that directory
when a pod first mounts it. The directory lives on the node, out of the controller
manager's reach, so deleting the data is the node's job: every `period_seconds`
this loop lists the directories there and removes each one whose PersistentVolume
no longer exists (the binder deletes the PV object of a released volume with
reclaim policy Delete), unless a pod on this node still mounts it.

- Only directories named `pvc-*` are touched; an API error leaves everything as is.
- A Retain volume keeps its PV object (Released), so its data stays.

Kubernetes counterpart: pkg/volume/hostpath/host_path.go (hostPathDeleter.Delete), which
upstream runs in the controller manager on the same host; rancher/local-path-provisioner
runs a helper pod on the node instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import Callable

from kubelet.kuberuntime.env import ObjectGetter
from tinykube.api.other import PersistentVolume
from tinykube.api.volume_util import LOCAL_PATH_DIR
from tinykube.client.clock import REAL_CLOCK, Clock
from tinykube.client.errors import NotFound

log = logging.getLogger(__name__)

RECLAIM_PERIOD_SECONDS = 10.0


class LocalPathReclaimer:
    """Removes `pvc-*` directories under `base_dir` whose PV is gone and that no pod mounts."""

    def __init__(self, client: ObjectGetter, in_use: Callable[[], set[str]], *, base_dir: str = LOCAL_PATH_DIR,
                 clock: Clock = REAL_CLOCK) -> None:
        self.client, self.in_use, self.base_dir, self._clock = client, in_use, base_dir, clock

    async def reclaim(self) -> list[str]:
        """One pass; returns the directories removed."""
        names = await asyncio.to_thread(self._volume_dirs)
        removed = []
        for name in names:
            path = os.path.join(self.base_dir, name)
            if path in self.in_use():
                continue
            try:
                await self.client.get_object(PersistentVolume, name)
                continue
            except NotFound:
                pass
            await asyncio.to_thread(shutil.rmtree, path, True)
            log.info("deleted data of removed volume volume=%s path=%s", name, path)
            removed.append(path)
        return removed

    def _volume_dirs(self) -> list[str]:
        if not os.path.isdir(self.base_dir):
            return []
        return sorted(n for n in os.listdir(self.base_dir)
                      if n.startswith("pvc-") and os.path.isdir(os.path.join(self.base_dir, n)))

    async def run(self, period_seconds: float = RECLAIM_PERIOD_SECONDS) -> None:
        while True:
            await self._clock.sleep(period_seconds)
            try:
                await self.reclaim()
            except Exception as err:  # noqa: BLE001 - the API server may be briefly unreachable
                log.warning("local-path reclaim failed err=%r", err)
