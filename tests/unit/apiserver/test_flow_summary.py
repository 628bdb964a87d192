"""Change summaries of flow records, from the facts of the old and new object."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver.flow.summary import facts_of, summarize

POD = {"spec": {}, "status": {"phase": "Pending"}}


def pod(**status: Any) -> dict[str, Any]:
    return {"spec": {}, "status": {"phase": "Pending", **status}}


@pytest.mark.parametrize("before, after, expected", [
    ({"spec": {"replicas": 1}}, {"spec": {"replicas": 2}}, "replicas 1→2"),
    ({"status": {"replicas": 1, "readyReplicas": 1}}, {"status": {"replicas": 2, "readyReplicas": 1}},
     "status.replicas 1→2"),
    ({"status": {}}, {"status": {"readyReplicas": 1}}, "readyReplicas -→1"),
    (POD, {"spec": {"nodeName": "node-2"}, "status": {"phase": "Pending"}}, "nodeName: node-2"),
    (pod(), pod(containerStatuses=[{"ready": False, "restartCount": 0}]), "ready -→0/1"),
    (pod(containerStatuses=[{"ready": False}]),
     {"spec": {}, "status": {"phase": "Running", "containerStatuses": [{"ready": True}]}},
     "phase Pending→Running, ready 0/1→1/1"),
    (pod(containerStatuses=[{"ready": True, "restartCount": 0}]),
     pod(containerStatuses=[{"ready": False, "restartCount": 1}]), "ready 1/1→0/1, restarts 0→1"),
    ({"metadata": {}}, {"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}},
     "deletionTimestamp set"),
    ({"metadata": {"labels": {"a": "b"}}}, {"metadata": {"labels": {"a": "c"}}}, ""),
])
def test_an_update_is_summarised_by_what_changed(before: dict[str, Any], after: dict[str, Any],
                                                 expected: str) -> None:
    assert summarize("MODIFIED", facts_of(before), facts_of(after)) == expected


def test_creates_and_deletes_say_so() -> None:
    assert summarize("ADDED", None, facts_of(POD)) == "created"
    assert summarize("DELETED", facts_of(POD), None) == "deleted"
