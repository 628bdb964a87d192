"""The dashboard as a process against a real API server and hollow nodes.

Its JSON and Server-Sent Event endpoints are read as the page reads them: the
overview lists the nodes and the pods on them, scaling through the dashboard
changes the Deployment (and its pods follow), events and a pod's log stream live,
the flow stream draws the chain of a scale-up, YAML shows and applies. `tinykube
dashboard` prints the address of the add-on's load balancer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from control_plane_fixtures import NODE_NAMES, wait_for
from dashboard_fixtures import (LOGS_NODE, POD_DEADLINE_SECONDS, DashboardPlane, deployment, namespace,
                                pinned_pod, ready_pods, running, sse)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardPlane]:
    yield from running(tmp_path_factory, "dashboard-plane")


@pytest.fixture
def ns(cluster: DashboardPlane) -> Iterator[str]:
    yield from namespace(cluster, "dash")


def chips_of(overview: dict[str, Any], ns: str) -> dict[str, tuple[str, str]]:
    """pod name -> (node, state) for the namespace's pods in the overview."""
    return {p["name"]: (n["name"], p["state"]) for n in overview["nodes"] for p in n["pods"]
            if p["namespace"] == ns}


def test_the_overview_lists_the_nodes_with_their_pods(cluster: DashboardPlane, ns: str) -> None:
    created = cluster.plane.http.post(f"/apis/apps/v1/namespaces/{ns}/deployments", json=deployment("web", 2))
    assert created.status_code == 201, created.text
    wait_for(lambda: ready_pods(cluster, ns, 2), "2 ready pods", POD_DEADLINE_SECONDS)
    pods = {p["metadata"]["name"]: p["spec"]["nodeName"]
            for p in cluster.plane.get(f"/api/v1/namespaces/{ns}/pods")["items"]}

    def shown() -> dict[str, tuple[str, str]] | None:
        overview = cluster.plane.http.get(cluster.url + "/api/overview").json()
        chips = chips_of(overview, ns)
        return overview if chips == {name: (node, "ready") for name, node in pods.items()} else None

    overview = wait_for(shown, "the overview to show both pods ready on their nodes")
    assert [(n["name"], n["status"]) for n in overview["nodes"]] == [
        (name, "Ready") for name in sorted((*NODE_NAMES, LOGS_NODE))]


def test_scaling_through_the_dashboard_changes_the_deployment_and_the_workloads_page(
        cluster: DashboardPlane, ns: str) -> None:
    cluster.plane.http.post(f"/apis/apps/v1/namespaces/{ns}/deployments",
                            json=deployment("web", 1)).raise_for_status()
    wait_for(lambda: ready_pods(cluster, ns, 1), "1 ready pod", POD_DEADLINE_SECONDS)
    answer = cluster.plane.http.post(cluster.url + "/api/scale", json={
        "resource": "deployments.apps", "namespace": ns, "name": "web", "replicas": 3})
    assert answer.status_code == 200, answer.text
    found = cluster.plane.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web")
    assert found["spec"]["replicas"] == 3
    managers = {m["manager"] for m in found["metadata"]["managedFields"]}
    assert "tinykube-dashboard" in managers
    wait_for(lambda: ready_pods(cluster, ns, 3), "3 ready pods", POD_DEADLINE_SECONDS)

    def row() -> dict[str, Any] | None:
        rows = cluster.plane.http.get(cluster.url + "/api/workloads").json()
        mine = [r for r in rows if r["namespace"] == ns and r["name"] == "web"]
        return mine[0] if mine and mine[0]["ready"] == 3 else None

    assert wait_for(row, "the workloads page to show 3/3")["health"] == "healthy"
    missing = cluster.plane.http.post(cluster.url + "/api/scale", json={
        "resource": "deployments.apps", "namespace": ns, "name": "nope", "replicas": 1})
    assert (missing.status_code, missing.json()["message"]) == (404, 'deployments.apps "nope" not found')


def test_events_stream_live(cluster: DashboardPlane, ns: str) -> None:
    def scaled_event(event: str, data: Any) -> bool:
        return event == "events" and any(
            e["namespace"] == ns and e["reason"] == "ScalingReplicaSet" for e in data)

    frames = sse(cluster.url, "/api/stream", scaled_event, started=lambda: cluster.plane.http.post(
        f"/apis/apps/v1/namespaces/{ns}/deployments", json=deployment("web", 1)).raise_for_status())
    assert {event for event, _ in frames[:3]} == {"overview", "workloads", "events"}


def test_a_pods_log_streams_as_it_is_written(cluster: DashboardPlane, ns: str) -> None:
    cluster.plane.http.post(f"/api/v1/namespaces/{ns}/pods", json=pinned_pod("shell")).raise_for_status()
    wait_for(lambda: ready_pods(cluster, ns, 1), "the pod to run", POD_DEADLINE_SECONDS)

    def echo(text: str) -> None:
        run = cluster.cli(ns, "exec", "shell", "--", "sh", "-c", f"echo {text} > /proc/1/fd/1")
        assert run.returncode == 0, run.stderr

    echo("before-the-stream")  # comes with the tail; the next line only if the log is followed
    frames = sse(cluster.url, f"/api/logs/{ns}/shell",
                 lambda event, data: event == "line" and data["text"] == "while-streaming",
                 started=lambda: echo("while-streaming"))
    assert [data["text"] for event, data in frames] == ["before-the-stream", "while-streaming"]


def test_the_flow_stream_draws_the_chain_of_a_scale_up(cluster: DashboardPlane, ns: str) -> None:
    cluster.plane.http.post(f"/apis/apps/v1/namespaces/{ns}/deployments",
                            json=deployment("web", 1)).raise_for_status()
    wait_for(lambda: ready_pods(cluster, ns, 1), "1 ready pod", POD_DEADLINE_SECONDS)

    def scale() -> None:
        cluster.plane.http.post(cluster.url + "/api/scale", json={
            "resource": "deployments.apps", "namespace": ns, "name": "web", "replicas": 2}).raise_for_status()

    def kubelet_reported_running(event: str, data: Any) -> bool:
        return (event == "arrow" and data["from"].startswith("kubelet/") and data["kind"] == "write"
                and "Running" in data["label"])

    frames = sse(cluster.url, f"/api/flow?namespace={ns}", kubelet_reported_running, started=scale)
    assert frames[:2] == [("lanes", {"type": "lanes", "lanes": ["apiserver"]}), ("ready", {})]
    arrows = [(d["from"], d["to"], d["label"]) for e, d in frames if e == "arrow"]

    def index(want: Any, after: int = -1) -> int:
        found = next((i for i, a in enumerate(arrows) if i > after and want(a)), None)
        assert found is not None, "\n".join(f"{i}: {a}" for i, a in enumerate(arrows))
        return found

    scaled = index(lambda a: a[:2] == ("dashboard", "apiserver") and a[2].startswith(
        "patch deployment/web (scale) replicas 1→2"))
    seen = index(lambda a: a[:2] == ("apiserver", "controller-manager")
                 and a[2].startswith("MODIFIED deployment/web"), scaled)
    created = index(lambda a: a[0] == "controller-manager" and a[2].startswith("create pod/web-"), seen)
    bound = index(lambda a: a[0] == "scheduler" and "(binding) nodeName: node-" in a[2], created)
    index(lambda a: a[0] == "apiserver" and a[1].startswith("kubelet/"), bound)
    lanes = [d["lanes"] for e, d in frames if e == "lanes"][-1]
    assert lanes[:4] == ["dashboard", "apiserver", "controller-manager", "scheduler"] or \
        lanes.index("apiserver") < lanes.index("controller-manager") < lanes.index("scheduler")


def test_yaml_is_shown_and_applied_server_side(cluster: DashboardPlane, ns: str) -> None:
    http = cluster.plane.http
    http.post(f"/api/v1/namespaces/{ns}/configmaps",
              json={"metadata": {"name": "settings"}, "data": {"a": "1"}}).raise_for_status()
    shown = http.get(cluster.url + "/api/yaml",
                     params={"resource": "configmaps", "namespace": ns, "name": "settings"})
    assert shown.status_code == 200 and "managedFields" not in shown.text
    assert "kind: ConfigMap" in shown.text and "a: '1'" in shown.text
    applied = http.post(cluster.url + "/api/apply", params={"namespace": ns},
                        content=shown.text.replace("a: '1'", "a: '1'\n  b: '2'"))
    assert applied.json() == {"applied": ["configmap/settings serverside-applied"]}, applied.text
    found = cluster.plane.get(f"/api/v1/namespaces/{ns}/configmaps/settings")
    assert found["data"] == {"a": "1", "b": "2"}
    assert "tinykube-dashboard" in {m["manager"] for m in found["metadata"]["managedFields"]}


def test_tinykube_dashboard_prints_the_load_balancers_address(cluster: DashboardPlane) -> None:
    http = cluster.plane.http
    path = "/api/v1/namespaces/kube-system/services"
    http.post(path, json={"metadata": {"name": "dashboard"}, "spec": {
        "type": "LoadBalancer", "selector": {"app": "dashboard"},
        "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}).raise_for_status()
    try:
        waiting = cluster.cli("default", "dashboard")
        assert waiting.returncode == 1
        assert "has no load balancer address yet" in waiting.stderr
        service = http.get(f"{path}/dashboard").json()
        service["status"] = {"loadBalancer": {"ingress": [{"ip": "172.30.0.200"}]}}
        http.put(f"{path}/dashboard/status", json=service).raise_for_status()
        shown = cluster.cli("default", "dashboard")
        assert (shown.returncode, shown.stdout) == (0, "http://172.30.0.200/\n"), shown.stderr
    finally:
        http.delete(f"{path}/dashboard")
