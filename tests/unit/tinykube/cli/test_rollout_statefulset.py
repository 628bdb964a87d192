"""kubectl's StatefulSetStatusViewer messages, as `tinykube rollout status sts/x` prints them."""

from __future__ import annotations

from typing import Any

import pytest

from tinykube.cli.rollout import RolloutError, stateful_set_status


def stateful_set(replicas: int = 3, *, generation: int = 2, strategy: dict[str, Any] | None = None,
                 **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "db", "generation": generation},
            "spec": {"replicas": replicas,
                     "updateStrategy": strategy or {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}},
            "status": {"observedGeneration": 2, **status}}


@pytest.mark.parametrize(("obj", "message", "done"), [
    (stateful_set(generation=3), "Waiting for statefulset spec update to be observed...", False),
    (stateful_set(readyReplicas=1), "Waiting for 2 pods to be ready...", False),
    (stateful_set(readyReplicas=3, updatedReplicas=1),
     "Waiting for partitioned roll out to finish: 1 out of 3 new pods have been updated...", False),
    (stateful_set(readyReplicas=3, updatedReplicas=3), "partitioned roll out complete: 3 new pods have been updated...",
     True),
    (stateful_set(readyReplicas=3, updatedReplicas=2, strategy={"type": "RollingUpdate",
                                                               "rollingUpdate": {"partition": 1}}),
     "partitioned roll out complete: 2 new pods have been updated...", True),
    (stateful_set(readyReplicas=3, updatedReplicas=2, currentRevision="db-a", updateRevision="db-b",
                  strategy={"type": "RollingUpdate"}),
     "waiting for statefulset rolling update to complete 2 pods at revision db-b...", False),
    (stateful_set(readyReplicas=3, currentReplicas=3, currentRevision="db-b", updateRevision="db-b",
                  strategy={"type": "RollingUpdate"}),
     "statefulset rolling update complete 3 pods at revision db-b...", True),
])
def test_status_messages(obj: dict[str, Any], message: str, done: bool) -> None:
    assert stateful_set_status(obj) == (message, done)


def test_on_delete_has_no_rollout_status() -> None:
    with pytest.raises(RolloutError, match="only available for RollingUpdate"):
        stateful_set_status(stateful_set(strategy={"type": "OnDelete"}))
