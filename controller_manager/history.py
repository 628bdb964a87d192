"""A workload's history: one ControllerRevision per pod template it has had.

Shared by the DaemonSet and StatefulSet controllers (the "owner" below is either).

- A revision's `data` is the strategic merge patch that restores the template,
  `{"spec": {"template": {..., "$patch": "replace"}}}` (getPatch); a revision
  "matches" an owner when its data equals the owner's patch. `kubectl rollout undo`
  sends exactly this data back as a patch.
- The current revision is named `<owner>-<hash>`, where hash = ComputeHash(template,
  collisionCount) (the Deployment controller's hash); the hash is also its
  `controller-revision-hash` label and the label on every pod made from it.
- Revisions are numbered 1, 2, ...; rolling back to an old template makes its
  revision the newest again (its number becomes max + 1).
- A name taken by a revision of another template (a hash collision) bumps
  status.collisionCount and fails the sync; the retry hashes differently.
- Old revisions beyond spec.revisionHistoryLimit are deleted, oldest first,
  unless a live pod still carries their hash (or the caller names them as kept:
  a StatefulSet's currentRevision).

Kubernetes counterpart: pkg/controller/daemon/update.go (constructHistory,
cleanupHistory, snapshot, dedupCurHistories, Match, getPatch),
pkg/controller/history/controller_history.go, pkg/controller/statefulset/stateful_set_utils.go
(getPatch, ApplyRevision)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from controller_manager.deployment.util import compute_hash
from tinykube.api.apps import ControllerRevision, DaemonSet, DaemonSetStatus, StatefulSet, StatefulSetStatus
from tinykube.api.core import Pod, PodTemplateSpec
from tinykube.api.meta import ObjectMeta, new_controller_ref
from tinykube.api.registry import deep_copy
from tinykube.api.resources import CONTROLLER_REVISIONS, DAEMON_SETS, STATEFUL_SETS
from tinykube.client import AlreadyExists, NotFound, RESTClient

log = logging.getLogger(__name__)

# The label on revisions and on the pods made from them (apps.ControllerRevisionHashLabelKey).
CONTROLLER_REVISION_HASH_LABEL = "controller-revision-hash"
DEFAULT_REVISION_HISTORY_LIMIT = 10

Owner = DaemonSet | StatefulSet


class HashCollision(Exception):
    """A revision of another template holds this template's name; collisionCount was bumped."""


def get_patch(ds: Owner) -> dict[str, Any]:
    template = ds.spec.template.to_dict() if ds.spec and ds.spec.template else {}
    return {"spec": {"template": {**template, "$patch": "replace"}}}


def match(ds: Owner, revision: ControllerRevision) -> bool:
    return revision.data == get_patch(ds)


def max_revision(revisions: Iterable[ControllerRevision]) -> int:
    return max((r.revision for r in revisions), default=0)


def revision_hash(revision: ControllerRevision) -> str:
    return (revision.metadata.labels or {}).get(CONTROLLER_REVISION_HASH_LABEL, "")


def revision_template(revision: ControllerRevision) -> PodTemplateSpec:
    """The pod template a revision restores (ApplyRevision, for the template only)."""
    template = dict(((revision.data or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return PodTemplateSpec.from_dict(template)


def new_revision(ds: Owner, revision: int) -> ControllerRevision:
    hash_ = compute_hash(ds.spec.template if ds.spec else None, ds.status.collision_count if ds.status else None)
    template_labels = (ds.spec.template.metadata.labels or {}) \
        if ds.spec and ds.spec.template and ds.spec.template.metadata else {}
    return ControllerRevision(
        metadata=ObjectMeta(
            name=f"{ds.metadata.name}-{hash_}", namespace=ds.metadata.namespace,
            labels={**template_labels, CONTROLLER_REVISION_HASH_LABEL: hash_},
            annotations=dict(ds.metadata.annotations) if ds.metadata.annotations else None,
            owner_references=[new_controller_ref(ds)]),
        data=get_patch(ds), revision=revision)


async def snapshot(client: RESTClient, ds: Owner, revision: int) -> ControllerRevision:
    """Create the revision of ds's current template (or find it already created)."""
    body = new_revision(ds, revision)
    try:
        return await client.create_object(body)
    except AlreadyExists:
        existing = await client.get_object(ControllerRevision, body.metadata.name or "", ds.metadata.namespace)
        if match(ds, existing):
            return existing
    fresh = await client.get_object(type(ds), ds.metadata.name or "", ds.metadata.namespace)
    status = fresh.status or (DaemonSetStatus() if isinstance(fresh, DaemonSet) else StatefulSetStatus())
    status.collision_count = (status.collision_count or 0) + 1
    fresh.status = status  # type: ignore[assignment]
    await client.update_status(DAEMON_SETS if isinstance(fresh, DaemonSet) else STATEFUL_SETS, fresh)
    log.info("hash collision owner=%s/%s/%s collisionCount=%d", ds.kind, ds.metadata.namespace,
             ds.metadata.name, status.collision_count)
    raise HashCollision(f"hash collision for {ds.kind} {ds.metadata.name}: bumped collisionCount")


async def construct_history(client: RESTClient, ds: Owner, revisions: Sequence[ControllerRevision],
                            pods: Sequence[Pod]) -> tuple[ControllerRevision, list[ControllerRevision]]:
    """(current revision, old revisions) from the revisions `ds` controls; creates,
    deduplicates or renumbers the current one as needed."""
    current = [r for r in revisions if match(ds, r)]
    old = [r for r in revisions if not match(ds, r)]
    wanted = max_revision(old) + 1
    if not current:
        return await snapshot(client, ds, wanted), old
    keep = max(current, key=lambda r: r.revision)
    for duplicate in current:
        if duplicate is not keep:
            await _dedup(client, duplicate, keep, pods)
    if keep.revision < wanted:
        renumbered = deep_copy(keep)
        renumbered.revision = wanted
        keep = await client.update_object(renumbered)
    return keep, old


async def _dedup(client: RESTClient, duplicate: ControllerRevision, keep: ControllerRevision,
                 pods: Sequence[Pod]) -> None:
    """Relabel the pods of `duplicate` to `keep`'s hash, then delete `duplicate`."""
    for pod in pods:
        if (pod.metadata.labels or {}).get(CONTROLLER_REVISION_HASH_LABEL) == revision_hash(duplicate):
            relabelled = deep_copy(pod)
            relabelled.metadata.labels = {**(pod.metadata.labels or {}),
                                          CONTROLLER_REVISION_HASH_LABEL: revision_hash(keep)}
            await client.update_object(relabelled)
    try:
        await client.delete(CONTROLLER_REVISIONS, duplicate.metadata.name or "", duplicate.metadata.namespace)
    except NotFound:
        pass


async def cleanup_history(client: RESTClient, ds: Owner, old: Sequence[ControllerRevision],
                          pods: Iterable[Pod], keep: Iterable[str] = ()) -> None:
    """Delete the oldest of `old` beyond the history limit; never one a live pod uses
    or one named in `keep`."""
    limit = ds.spec.revision_history_limit if ds.spec and ds.spec.revision_history_limit is not None \
        else DEFAULT_REVISION_HISTORY_LIMIT
    to_kill = len(old) - limit
    if to_kill <= 0:
        return
    live_hashes = {(p.metadata.labels or {}).get(CONTROLLER_REVISION_HASH_LABEL) for p in pods}
    kept = set(keep)
    for revision in sorted(old, key=lambda r: r.revision):
        if to_kill <= 0:
            break
        if revision_hash(revision) in live_hashes or revision.metadata.name in kept:
            continue
        log.info("deleting old revision owner=%s/%s/%s revision=%s", ds.kind, ds.metadata.namespace,
                 ds.metadata.name, revision.metadata.name)
        try:
            await client.delete(CONTROLLER_REVISIONS, revision.metadata.name or "", revision.metadata.namespace)
        except NotFound:
            pass
        to_kill -= 1
