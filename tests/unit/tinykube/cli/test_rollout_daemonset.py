"""DaemonSet rollout logic: history from ControllerRevisions, kubectl's undo patch, status."""

from __future__ import annotations

from typing import Any

import pytest

from tinykube.cli.rollout import (
    RolloutError, daemon_set_patch, daemon_set_status, owned_revisions, revision_template, rollback_daemon_set,
)

UID = "ds-uid"


def template(image: str) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "c", "image": image}]}}


def daemon_set(image: str, **status: int) -> dict[str, Any]:
    return {"metadata": {"name": "agent", "uid": UID, "generation": 2},
            "spec": {"updateStrategy": {"type": "RollingUpdate"}, "template": template(image)},
            "status": {"observedGeneration": 2, **status}}


def revision(number: int, image: str, owner_uid: str = UID) -> dict[str, Any]:
    return {"metadata": {"name": f"agent-{number}",
                         "ownerReferences": [{"kind": "DaemonSet", "uid": owner_uid, "controller": True}]},
            "revision": number, "data": daemon_set_patch({"spec": {"template": template(image)}})}


def test_history_is_the_owned_revisions_by_number() -> None:
    found = owned_revisions(daemon_set("a:2"), [revision(1, "a:1"), revision(2, "a:2"), revision(3, "x", "other")])
    assert sorted(found) == [1, 2]
    assert revision_template(found[1]) == template("a:1")


def test_undo_sends_the_previous_revision_as_a_patch() -> None:
    plan = rollback_daemon_set(daemon_set("a:2"), [revision(1, "a:1"), revision(2, "a:2")])
    assert plan.revision == 1
    assert plan.patch == {"spec": {"template": {**template("a:1"), "$patch": "replace"}}}


def test_undo_to_the_current_template_is_skipped() -> None:
    plan = rollback_daemon_set(daemon_set("a:2"), [revision(1, "a:1"), revision(2, "a:2")], 2)
    assert plan.patch is None and plan.revision == 2


@pytest.mark.parametrize(("revisions", "to", "message"), [
    ([revision(1, "a:1")], 0, "no last revision to roll back to"),
    ([revision(1, "a:1"), revision(2, "a:2")], 7, "unable to find specified revision 7 in history"),
])
def test_undo_errors(revisions: list[dict[str, Any]], to: int, message: str) -> None:
    with pytest.raises(RolloutError, match=message):
        rollback_daemon_set(daemon_set("a:2"), revisions, to)


@pytest.mark.parametrize(("status", "message", "done"), [
    ({"desiredNumberScheduled": 3, "updatedNumberScheduled": 1, "numberAvailable": 3},
     'Waiting for daemon set "agent" rollout to finish: 1 out of 3 new pods have been updated...', False),
    ({"desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 2},
     'Waiting for daemon set "agent" rollout to finish: 2 of 3 updated pods are available...', False),
    ({"desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 3},
     'daemon set "agent" successfully rolled out', True),
])
def test_status_messages(status: dict[str, int], message: str, done: bool) -> None:
    assert daemon_set_status(daemon_set("a:2", **status)) == (message, done)


def test_status_waits_for_the_generation_and_refuses_on_delete() -> None:
    ds = daemon_set("a:2")
    ds["status"]["observedGeneration"] = 1
    assert daemon_set_status(ds) == ("Waiting for daemon set spec update to be observed...", False)
    ds["spec"]["updateStrategy"] = {"type": "OnDelete"}
    with pytest.raises(RolloutError, match="only available for RollingUpdate"):
        daemon_set_status(ds)
