"""The HorizontalPodAutoscaler end to end on a hollow node: `tinykube autoscale`, the
real controller-manager scaling a Deployment up when its pods' CPU rises and down
when it falls, `get hpa` / `describe hpa`, and the API's 422s for bad specs.

The load is the fake runtime's: each pod reports the CPU its annotation
`hollow.tinykube.io/usage` names, read by the hollow kubelet at every scrape. The
manager runs with a 1 s sync period, a 3 s downscale stabilization and no CPU
initialization period (a fresh pod's samples count at once), so the test takes
seconds, not minutes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.cli_helpers import create, tinykube
from tinykube.system import stop_child
from tinykube.testing.processes import REPO_ROOT, APIServerProcess, start_kubelet, wait_until

Obj = dict[str, Any]
USAGE = "hollow.tinykube.io/usage"
HPA_FLAGS = ("--horizontal-pod-autoscaler-sync-period=1s", "--horizontal-pod-autoscaler-downscale-stabilization=3s",
             "--horizontal-pod-autoscaler-cpu-initialization-period=0s")


@pytest.fixture(scope="module")
def node(apiserver: APIServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    name = f"hpa-{uuid.uuid4().hex[:6]}"
    kubelet = start_kubelet(apiserver, name, tmp_path_factory.mktemp("kubelet"), "--node-status-update-frequency=1s")
    try:
        yield name
    finally:
        kubelet.stop(30)


@pytest.fixture(scope="module")
def manager(apiserver: APIServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    log_path = tmp_path_factory.mktemp("hpa-manager") / "controller-manager.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "controller_manager", "--kubeconfig", str(apiserver.kubeconfig),
             "--leader-elect=false", "--controllers=replicaset,deployment,horizontalpodautoscaling", *HPA_FLAGS],
            cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield log_path
    finally:
        stop_child(process, 15)
    assert "Traceback" not in log_path.read_text(errors="replace")


def web(node: str) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                         "nodeName": node, "containers": [{"name": "app", "image": "echo",
                                                           "resources": {"requests": {"cpu": "100m"}}}]}}}}


def running_pods(http: httpx.Client, namespace: str) -> list[Obj]:
    items = http.get(f"/api/v1/namespaces/{namespace}/pods", params={"labelSelector": "app=web"}).json()["items"]
    return [p for p in items if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]


def load_all(http: httpx.Client, namespace: str, usage: str) -> int:
    """Give every running web pod `usage`; the number of pods that carry it."""
    pods = running_pods(http, namespace)
    for pod in pods:
        if (pod["metadata"].get("annotations") or {}).get(USAGE) != usage:
            http.patch(f"/api/v1/namespaces/{namespace}/pods/{pod['metadata']['name']}",
                       json={"metadata": {"annotations": {USAGE: usage}}},
                       headers={"Content-Type": "application/merge-patch+json"}).raise_for_status()
    return len(pods)


def replicas(http: httpx.Client, namespace: str) -> int:
    return int(http.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/web").json()["spec"]["replicas"])


def hpa_status(http: httpx.Client, namespace: str) -> Obj:
    found: Obj = http.get(f"/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers/web").json()
    return found.get("status") or {}


def test_autoscale_scales_up_under_load_and_back_down_when_it_stops(
        apiserver: APIServerProcess, http: httpx.Client, namespace: str, node: str, manager: Path) -> None:
    create(http, f"/apis/apps/v1/namespaces/{namespace}/deployments", web(node))
    wait_until(lambda: len(running_pods(http, namespace)) == 1, 60, "the first web pod to run")
    made = tinykube(apiserver, "-n", namespace, "autoscale", "deployment", "web", "--min=1", "--max=3", "--cpu=50%")
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "horizontalpodautoscaler.autoscaling/web autoscaled"

    # 150 % of the 100m request against a 50 % target: up, to the maximum of 3.
    wait_until(lambda: load_all(http, namespace, "cpu=150m") > 0 and replicas(http, namespace) == 3, 60,
               "the HPA to scale web to 3 under load", interval_seconds=0.5)
    def measured_three_at_150(status: Obj) -> bool:
        current = ((status.get("currentMetrics") or [{}])[0].get("resource") or {}).get("current") or {}
        return status.get("currentReplicas") == 3 and current.get("averageUtilization") == 150

    wait_until(lambda: load_all(http, namespace, "cpu=150m") == 3 and measured_three_at_150(
        hpa_status(http, namespace)), 60, "a sync that measured all three pods at 150 %", interval_seconds=0.5)
    status = hpa_status(http, namespace)
    conditions = {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}
    assert conditions["ScalingLimited"] == ("True", "TooManyReplicas"), status
    assert conditions["ScalingActive"] == ("True", "ValidMetricFound")
    table = tinykube(apiserver, "-n", namespace, "get", "hpa")
    assert table.stdout.split("\n")[0].split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS",
                                                    "REPLICAS", "AGE"], table.stdout
    assert "Deployment/web   cpu: 150%/50%   1         3         3" in table.stdout, table.stdout
    described = tinykube(apiserver, "-n", namespace, "describe", "hpa", "web").stdout
    assert "resource cpu on pods  (as a percentage of request):  150% (150m) / 50%" in described, described
    assert "Deployment pods:" in described and "3 current / 3 desired" in described, described
    assert "SuccessfulRescale" in described and "New size: 3; reason:" in described, described

    # The load stops: after the 3 s stabilization window, back to the minimum.
    wait_until(lambda: load_all(http, namespace, "cpu=1m") >= 0 and replicas(http, namespace) == 1, 60,
               "the HPA to scale web back to 1", interval_seconds=0.5)

    def rescale_messages() -> list[str]:
        events = http.get(f"/api/v1/namespaces/{namespace}/events").json()["items"]
        return [e["message"] for e in events if e["reason"] == "SuccessfulRescale"]
    # The event is written after the scale it reports.
    wait_until(lambda: "New size: 1; reason: All metrics below target" in rescale_messages(), 30,
               "the rescale-to-1 event")


def test_pods_without_cpu_requests_say_so_in_the_hpa_conditions(
        apiserver: APIServerProcess, http: httpx.Client, namespace: str, node: str, manager: Path) -> None:
    deployment = web(node)
    del deployment["spec"]["template"]["spec"]["containers"][0]["resources"]
    create(http, f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment)
    made = tinykube(apiserver, "-n", namespace, "autoscale", "deployment/web", "--max=3", "--cpu=50%")
    assert made.returncode == 0, made.stderr

    def failed_condition() -> tuple[str, str, str] | None:
        for condition in hpa_status(http, namespace).get("conditions") or []:
            if condition["type"] == "ScalingActive" and condition["status"] == "False":
                return condition["status"], condition["reason"], condition["message"]
        return None

    wait_until(lambda: failed_condition() is not None, 60, "ScalingActive=False", interval_seconds=0.5)
    found = failed_condition()
    assert found is not None
    assert found[1] == "FailedGetResourceMetric"
    assert found[2].startswith("the HPA was unable to compute the replica count: failed to get cpu utilization: "
                               "missing request for cpu in container app of Pod web-"), found
    assert "cpu: <unknown>/50%" in tinykube(apiserver, "-n", namespace, "get", "hpa", "web").stdout


def hpa(min_replicas: int | None, max_replicas: int, **extra: Any) -> Obj:
    spec: Obj = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "maxReplicas": max_replicas, **extra}
    if min_replicas is not None:
        spec["minReplicas"] = min_replicas
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "bad"},
            "spec": spec}


@pytest.mark.parametrize(("body", "field", "message"), [
    (hpa(3, 2), "spec.maxReplicas", "Invalid value: 2: must be greater than or equal to `minReplicas`"),
    (hpa(0, 2), "spec.minReplicas", "Invalid value: 0: must be greater than or equal to 1"),
    (hpa(None, 0), "spec.maxReplicas", "Invalid value: 0: must be greater than 0"),
    (hpa(1, 2, metrics=[{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization"}}}]),
     "spec.metrics[0].resource.target.averageUtilization",
     "Required value: must set either a target raw value or a target utilization"),
    (hpa(1, 2, metrics=[{"type": "Pods", "pods": {}}]), "spec.metrics[0].type",
     'Unsupported value: "Pods": supported values: "Resource"'),
    (hpa(1, 2, behavior={"scaleUp": {"selectPolicy": "Fastest",
                                     "policies": [{"type": "Pods", "value": 1, "periodSeconds": 15}]}}),
     "spec.behavior.scaleUp.selectPolicy", 'Unsupported value: "Fastest": supported values: "Disabled", "Max", "Min"'),
])
def test_bad_specs_are_refused_with_kubernetes_messages(http: httpx.Client, namespace: str, body: Obj, field: str,
                                                       message: str) -> None:
    response = http.post(f"/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers", json=body)
    assert response.status_code == 422, response.text
    status = response.json()
    assert status["reason"] == "Invalid"
    assert {"field": field, "message": message} in [{"field": c["field"], "message": c["message"]}
                                                    for c in status["details"]["causes"]], status


def test_defaults_fill_min_replicas_and_the_cpu_metric(http: httpx.Client, namespace: str) -> None:
    made = create(http, f"/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers", hpa(None, 4))
    assert made["spec"]["minReplicas"] == 1
    assert made["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]


def test_autoscaling_v1_is_a_view_of_the_same_objects(apiserver: APIServerProcess, http: httpx.Client,
                                                       namespace: str, tmp_path: Path) -> None:
    v1 = f"/apis/autoscaling/v1/namespaces/{namespace}/horizontalpodautoscalers"
    v2 = f"/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers"
    made = create(http, v1, {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
                             "metadata": {"name": "old"},
                             "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                                      "maxReplicas": 4, "targetCPUUtilizationPercentage": 60}})
    assert (made["apiVersion"], made["spec"]["minReplicas"]) == ("autoscaling/v1", 1)
    stored = http.get(f"{v2}/old").json()
    assert stored["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}]
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 10, "selectPolicy": "Max",
                              "policies": [{"type": "Pods", "value": 1, "periodSeconds": 15}]}}
    create(http, v2, hpa(1, 3, behavior=behavior) | {"metadata": {"name": "new"}})
    listed = {i["metadata"]["name"]: i for i in http.get(v1).json()["items"]}
    assert set(listed) == {"old", "new"}
    assert listed["new"]["apiVersion"] == "autoscaling/v1"
    assert listed["new"]["spec"]["targetCPUUtilizationPercentage"] == 80
    # A write through v1 keeps what only v2 can say (carried in annotations).
    view = listed["new"]
    view["spec"]["maxReplicas"] = 6
    assert http.put(f"{v1}/new", json=view).status_code == 200
    after = http.get(f"{v2}/new").json()
    assert after["spec"]["maxReplicas"] == 6 and after["spec"]["behavior"]["scaleDown"] == behavior["scaleDown"]
    assert not (after["metadata"].get("annotations") or {})
    bad = http.post(v1, json={"metadata": {"name": "bad"}, "spec": {
        "scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 3, "maxReplicas": 2}})
    assert bad.status_code == 422 and "must be greater than or equal to `minReplicas`" in bad.text

    group = http.get("/apis/autoscaling").json()
    assert group["preferredVersion"]["version"] == "v2"
    assert [v["version"] for v in group["versions"]] == ["v2", "v1"]
    aggregated = http.get("/apis", headers={
        "Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"}).json()
    autoscaling = next(g for g in aggregated["items"] if g["metadata"]["name"] == "autoscaling")
    assert [v["version"] for v in autoscaling["versions"]] == ["v2", "v1"]  # the first is preferred
    table = tinykube(apiserver, "-n", namespace, "get", "hpa.v1.autoscaling", "old")
    assert "Deployment/web   cpu: <unknown>/60%   1         4" in table.stdout, table.stdout

    if shutil.which("kubectl") is None:
        return
    kubectl = ["kubectl", "--kubeconfig", str(apiserver.kubeconfig), "--cache-dir", str(tmp_path / "cache"),
               "-n", namespace]
    create(http, f"/apis/apps/v1/namespaces/{namespace}/deployments", web("nowhere"))
    made_by_kubectl = subprocess.run([*kubectl, "autoscale", "deployment", "web", "--min=2", "--max=5",
                                      "--cpu-percent=70"], capture_output=True, text=True, timeout=60)
    assert made_by_kubectl.returncode == 0, made_by_kubectl.stderr
    assert http.get(f"{v2}/web").json()["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    got = subprocess.run([*kubectl, "get", "hpa.v1.autoscaling", "web"], capture_output=True, text=True, timeout=60)
    assert "Deployment/web" in got.stdout and "/70%" in got.stdout, got.stdout + got.stderr


def test_an_hpa_scales_a_custom_resource_through_its_scale_subresource(
        http: httpx.Client, namespace: str, manager: Path) -> None:
    """The HPA reads and writes any kind's /scale: here a custom resource's, whose
    kind the controller manager learns from discovery when it first meets it."""
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "pools.hpa.example.com"},
           "spec": {"group": "hpa.example.com", "scope": "Namespaced",
                    "names": {"plural": "pools", "singular": "pool", "kind": "Pool"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "subresources": {"status": {}, "scale": {
                                      "specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas",
                                      "labelSelectorPath": ".status.selector"}},
                                  "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                      "spec": {"type": "object", "properties": {"replicas": {"type": "integer"}}},
                                      "status": {"type": "object", "properties": {
                                          "replicas": {"type": "integer"}, "selector": {"type": "string"}}}}}}}]}}
    create(http, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    try:
        pools = f"/apis/hpa.example.com/v1/namespaces/{namespace}/pools"

        def established() -> bool:
            response = http.post(pools, json={"apiVersion": "hpa.example.com/v1", "kind": "Pool",
                                              "metadata": {"name": "workers"}, "spec": {"replicas": 1}})
            return response.status_code == 201

        wait_until(established, 30, "the Pool resource to be served")
        hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "workers"},
               "spec": {"scaleTargetRef": {"apiVersion": "hpa.example.com/v1", "kind": "Pool", "name": "workers"},
                        "minReplicas": 3, "maxReplicas": 5,
                        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                            "type": "Utilization", "averageUtilization": 50}}}]}}
        create(http, f"/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers", hpa)
        # Below minReplicas the HPA scales up without needing metrics, as upstream.
        wait_until(lambda: http.get(f"{pools}/workers").json()["spec"]["replicas"] == 3, 60,
                   "the HPA to scale the Pool to its minimum of 3")

        def rescale_event_written() -> bool:  # written after the scale it reports
            events = http.get(f"/api/v1/namespaces/{namespace}/events").json()["items"]
            return any(e["reason"] == "SuccessfulRescale" and e["involvedObject"]["name"] == "workers"
                       and "Current number of replicas below Spec.MinReplicas" in e["message"]
                       for e in events)
        wait_until(rescale_event_written, 30, "the SuccessfulRescale event for the Pool")
    finally:
        http.delete("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/pools.hpa.example.com")
