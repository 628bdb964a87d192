"""The StatefulSet controller with a whole control plane (etcd, API server, controller
managers, scheduler, hollow nodes), acting through the API as a user.

`db` of 3 comes up in order (each pod Running and Ready before the next is created),
the headless Service's endpoints carry each pod's hostname, a new image rolls out
from db-2 down to db-0, `tinykube rollout status|history|undo` work, and scaling to 1
deletes db-2 before db-1. Bad input is 422. The module has its own cluster.
"""

from __future__ import annotations

import subprocess

from control_plane_fixtures import ControlPlane, Obj, PodWatch, is_active, is_ready, wait_for
from test_control_plane import ns, plane  # noqa: F401  (fixtures: this module gets a cluster of its own)

from tests.integration.cli_helpers import tinykube as run_cli

LABELS = {"app": "db"}


def stateful_set(image: str, replicas: int = 3) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
            "spec": {"replicas": replicas, "serviceName": "db", "selector": {"matchLabels": LABELS},
                     "template": {"metadata": {"labels": LABELS},
                                  "spec": {"containers": [{"name": "db", "image": image}]}}}}


def headless_service() -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
            "spec": {"clusterIP": "None", "selector": LABELS, "ports": [{"name": "db", "port": 6379}]}}


def tinykube(plane: ControlPlane, ns: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(plane.api, "-n", ns, *args, timeout_seconds=120)


def running(plane: ControlPlane, ns: str, image: str | None = None) -> list[str]:
    items = plane.get(f"/api/v1/namespaces/{ns}/pods", labelSelector="app=db")["items"]
    return sorted(p["metadata"]["name"] for p in items if is_active(p) and is_ready(p)
                  and (image is None or p["spec"]["containers"][0]["image"] == image))


def sts_path(ns: str) -> str:
    return f"/apis/apps/v1/namespaces/{ns}/statefulsets"


def test_ordered_creation_rolling_update_undo_and_scale_down(plane: ControlPlane, ns: str) -> None:
    created_order: list[str] = []
    updated_order: list[str] = []
    gone_order: list[str] = []
    stage = ["create"]  # then "update" (and a partitioned one), then "scale"

    def observe(pods: dict[str, Obj]) -> None:
        by_name = {p["metadata"]["name"]: p for p in pods.values()}
        for name, pod in by_name.items():
            if name not in created_order:
                created_order.append(name)
                ordinal = int(name.rsplit("-", 1)[1])
                lower = by_name.get(f"db-{ordinal - 1}")
                if ordinal > 0 and stage[0] == "create":
                    assert lower is not None and is_ready(lower), f"{name} created before db-{ordinal - 1} was ready"
            image = pod["spec"]["containers"][0]["image"]
            if image == "db:2" and name not in updated_order:
                updated_order.append(name)
        for name in [f"db-{i}" for i in range(3)]:
            if stage[0] == "scale" and name not in by_name and name not in gone_order:
                gone_order.append(name)

    plane.http.post(f"/api/v1/namespaces/{ns}/services", json=headless_service()).raise_for_status()
    watch = PodWatch.start(plane, ns, observe)
    try:
        response = plane.http.post(sts_path(ns), json=stateful_set("db:1"))
        assert response.status_code == 201, response.text
        wait_for(lambda: running(plane, ns) == ["db-0", "db-1", "db-2"], "db-0..2 Running and Ready")
        assert created_order == ["db-0", "db-1", "db-2"]
        wait_for(lambda: (plane.get(f"{sts_path(ns)}/db").get("status") or {}).get("readyReplicas") == 3,
                 "status to count 3 ready")
        table = tinykube(plane, ns, "get", "sts")
        assert table.stdout.split("\n")[1].split()[:2] == ["db", "3/3"], table.stdout
        pod0 = plane.get(f"/api/v1/namespaces/{ns}/pods/db-0")
        assert (pod0["spec"]["hostname"], pod0["spec"]["subdomain"]) == ("db-0", "db")
        assert pod0["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "0"
        wait_for(lambda: sorted(a.get("hostname", "") for s in plane.get(f"/api/v1/namespaces/{ns}/endpoints/db")
                                .get("subsets") or [] for a in s.get("addresses") or []) == ["db-0", "db-1", "db-2"],
                 "endpoints with each pod's hostname")

        stage[0] = "update"
        patch = {"spec": {"template": {"spec": {"containers": [{"name": "db", "image": "db:2"}]}}}}
        plane.http.patch(f"{sts_path(ns)}/db", json=patch,
                         headers={"Content-Type": "application/strategic-merge-patch+json"}).raise_for_status()
        rolled = tinykube(plane, ns, "rollout", "status", "statefulset/db", "--timeout=90s")
        assert rolled.returncode == 0, rolled.stderr
        assert "partitioned roll out complete: 3 new pods have been updated..." in rolled.stdout
        wait_for(lambda: running(plane, ns, "db:2") == ["db-0", "db-1", "db-2"], "every pod on db:2")
        assert updated_order == ["db-2", "db-1", "db-0"]

        history = tinykube(plane, ns, "rollout", "history", "statefulset/db")
        assert [line.split()[0] for line in history.stdout.splitlines()[2:] if line.strip()] == ["1", "2"]
        undo = tinykube(plane, ns, "rollout", "undo", "statefulset/db")
        assert undo.returncode == 0 and "rolled back" in undo.stdout, undo.stderr
        wait_for(lambda: running(plane, ns, "db:1") == ["db-0", "db-1", "db-2"], "every pod back on db:1", 90)

        def undo_complete() -> bool:  # the undo's revision became the current one
            status = plane.get(f"{sts_path(ns)}/db").get("status") or {}
            return status.get("currentRevision") == status.get("updateRevision") and \
                status.get("currentReplicas") == 3
        wait_for(undo_complete, "the undo's revision to be current", 90)

        # A partition holds the ordinals below it back: only db-2 moves to db:3.
        partitioned = {"spec": {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}},
                                "template": {"spec": {"containers": [{"name": "db", "image": "db:3"}]}}}}
        plane.http.patch(f"{sts_path(ns)}/db", json=partitioned,
                         headers={"Content-Type": "application/strategic-merge-patch+json"}).raise_for_status()

        def partition_rolled() -> bool:
            status = plane.get(f"{sts_path(ns)}/db").get("status") or {}
            return (running(plane, ns, "db:3") == ["db-2"] and running(plane, ns, "db:1") == ["db-0", "db-1"]
                    and status.get("updatedReplicas") == 1 and status.get("currentReplicas") == 2)

        wait_for(partition_rolled, "db-2 alone on db:3 behind partition 2", 90)

        stage[0] = "scale"
        scaled = tinykube(plane, ns, "scale", "statefulset/db", "--replicas=1")
        assert scaled.returncode == 0, scaled.stderr
        wait_for(lambda: running(plane, ns) == ["db-0"] and gone_order == ["db-2", "db-1"],
                 "db-2 then db-1 deleted", 60)
    finally:
        watch.stop()
    events = plane.get(f"/api/v1/namespaces/{ns}/events")["items"]
    messages = {e["message"] for e in events}
    assert "create Pod db-0 in StatefulSet db successful" in messages
    assert "delete Pod db-2 in StatefulSet db successful" in messages


def test_bad_stateful_sets_are_invalid(plane: ControlPlane, ns: str) -> None:
    mismatched = stateful_set("db:1")
    mismatched["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    response = plane.http.post(sts_path(ns), json=mismatched)
    assert response.status_code == 422 and "`selector` does not match template `labels`" in response.text
    plane.http.post(sts_path(ns), json=stateful_set("db:1", replicas=0)).raise_for_status()
    changed = {"spec": {"serviceName": "other"}}
    response = plane.http.patch(f"{sts_path(ns)}/db", json=changed,
                                headers={"Content-Type": "application/merge-patch+json"})
    assert response.status_code == 422, response.text
    assert ("spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', "
            "'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' "
            "and 'minReadySeconds' are forbidden") in response.json()["message"]


def test_logs_have_no_tracebacks(plane: ControlPlane) -> None:
    for component in [*plane.managers, *plane.others, *plane.kubelets.values()]:
        assert "Traceback" not in component.log(), f"{component.name}:\n{component.log()[-3000:]}"
