"""Rollout logic: revision history from owned ReplicaSets, kubectl's undo patch, status."""

from __future__ import annotations

from typing import Any

import pytest

from tinykube.cli.rollout import RolloutError, deployment_status, history, rollback

UID = "d-uid"


def replica_set(revision: int, image: str, owner_uid: str = UID, **annotations: str) -> dict[str, Any]:
    return {"metadata": {"name": f"web-{revision}",
                         "annotations": {"deployment.kubernetes.io/revision": str(revision),
                                         **annotations},
                         "ownerReferences": [{"kind": "Deployment", "name": "web", "uid": owner_uid,
                                              "controller": True}]},
            "spec": {"template": {"metadata": {"labels": {"app": "web", "pod-template-hash": f"h{revision}"}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}}}


def deployment(image: str, **extra: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "uid": UID, "generation": 2,
                         "annotations": {"deployment.kubernetes.io/revision": "3",
                                         "kubectl.kubernetes.io/last-applied-configuration": "{}",
                                         "mine": "x"}},
            "spec": {"replicas": 3, "template": {"metadata": {"labels": {"app": "web"}},
                                                 "spec": {"containers": [{"name": "c", "image": image}]}},
                     **extra}}


SETS = [replica_set(1, "v1"), replica_set(2, "v2", **{"kubernetes.io/change-cause": "two"}),
        replica_set(3, "v3"), replica_set(8, "other", owner_uid="someone-else")]


def test_history_only_counts_controlled_replica_sets() -> None:
    assert sorted(history(deployment("v3"), SETS)) == [1, 2, 3]


def test_undo_patch_replaces_template_without_hash_and_merges_annotations() -> None:
    plan = rollback(deployment("v3"), SETS)
    assert plan.revision == 2
    assert plan.patch == [
        {"op": "replace", "path": "/spec/template",
         "value": {"metadata": {"labels": {"app": "web"}},
                   "spec": {"containers": [{"name": "c", "image": "v2"}]}}},
        {"op": "replace", "path": "/metadata/annotations",
         "value": {"deployment.kubernetes.io/revision": "3",
                   "kubectl.kubernetes.io/last-applied-configuration": "{}",
                   "kubernetes.io/change-cause": "two"}},
    ]


def test_undo_to_matching_revision_is_skipped_and_errors() -> None:
    assert rollback(deployment("v1"), SETS, to_revision=1).patch is None
    with pytest.raises(RolloutError, match="unable to find specified revision 5"):
        rollback(deployment("v3"), SETS, to_revision=5)
    with pytest.raises(RolloutError, match="no rollout history"):
        rollback(deployment("v3"), SETS[:1])
    with pytest.raises(RolloutError, match="paused"):
        rollback(deployment("v3", paused=True), SETS)


@pytest.mark.parametrize(("status", "message", "done"), [
    ({"observedGeneration": 1}, "Waiting for deployment spec update to be observed...", False),
    ({"observedGeneration": 2, "updatedReplicas": 1, "replicas": 3},
     'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...', False),
    ({"observedGeneration": 2, "updatedReplicas": 3, "replicas": 4},
     'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...', False),
    ({"observedGeneration": 2, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 1},
     'Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are available...', False),
    ({"observedGeneration": 3, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 3},
     'deployment "web" successfully rolled out', True),
])
def test_status_messages(status: dict[str, Any], message: str, done: bool) -> None:
    assert deployment_status({**deployment("v3"), "status": status}) == (message, done)


def test_status_fails_past_progress_deadline() -> None:
    status = {"observedGeneration": 2, "conditions": [
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}
    with pytest.raises(RolloutError, match="exceeded its progress deadline"):
        deployment_status({**deployment("v3"), "status": status})
