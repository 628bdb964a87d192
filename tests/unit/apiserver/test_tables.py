"""Server-side Table output: the envelope, column sets and per-kind cells."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from apiserver.tables import PRINTERS, human_duration, to_table
from tinykube.api.resources import INDEX, RESOURCES, ResourceInfo

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
CREATED = "2024-05-01T11:50:00Z"  # ten minutes before NOW


def meta(name: str = "web", **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": "default", "uid": "u-" + name, "resourceVersion": "42",
            "creationTimestamp": CREATED, **extra}


def cells(resource: str, obj: dict[str, Any]) -> list[Any]:
    info = INDEX.by_name(resource)
    assert info is not None
    table = to_table(info, [obj], now=NOW)
    [row] = table["rows"]
    assert len(row["cells"]) == len(table["columnDefinitions"])
    return row["cells"]


def headers(resource: str) -> list[str]:
    """What kubectl prints without -o wide."""
    return [c["name"].upper() for c in _columns(resource) if c["priority"] == 0]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(-5, "<invalid>"), (-1, "0s"), (0, "0s"), (5, "5s"), (119, "119s"), (120, "2m"),
     (192, "3m12s"), (599, "9m59s"), (600, "10m"), (3 * 3600 - 1, "179m"), (3 * 3600, "3h"),
     (5 * 3600 + 180, "5h3m"), (8 * 3600, "8h"), (47 * 3600, "47h"), (2 * 86400 + 3 * 3600, "2d3h"),
     (3 * 86400, "3d"), (8 * 86400, "8d"), (400 * 86400, "400d"), (3 * 365 * 86400 + 12 * 86400, "3y12d"),
     (9 * 365 * 86400, "9y")],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


@pytest.mark.parametrize(
    ("resource", "narrow", "wide_extra"),
    [
        ("pods", "NAME READY STATUS RESTARTS AGE", "IP NODE NOMINATED NODE READINESS GATES"),
        ("deployments", "NAME READY UP-TO-DATE AVAILABLE AGE", "CONTAINERS IMAGES SELECTOR"),
        ("replicasets", "NAME DESIRED CURRENT READY AGE", "CONTAINERS IMAGES SELECTOR"),
        ("statefulsets", "NAME READY AGE", "CONTAINERS IMAGES"),
        ("daemonsets", "NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE",
         "CONTAINERS IMAGES SELECTOR"),
        ("services", "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE", "SELECTOR"),
        ("nodes", "NAME STATUS ROLES AGE VERSION",
         "INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION CONTAINER-RUNTIME"),
        ("namespaces", "NAME STATUS AGE", ""),
        ("endpoints", "NAME ENDPOINTS AGE", ""),
        ("configmaps", "NAME DATA AGE", ""),
        ("secrets", "NAME TYPE DATA AGE", ""),
        ("events", "LAST SEEN TYPE REASON OBJECT MESSAGE", "SUBOBJECT SOURCE FIRST SEEN COUNT NAME"),
        ("persistentvolumes",
         "NAME CAPACITY ACCESS MODES RECLAIM POLICY STATUS CLAIM STORAGECLASS "
         "VOLUMEATTRIBUTESCLASS REASON AGE", "VOLUMEMODE"),
        ("persistentvolumeclaims",
         "NAME STATUS VOLUME CAPACITY ACCESS MODES STORAGECLASS VOLUMEATTRIBUTESCLASS AGE",
         "VOLUMEMODE"),
        ("serviceaccounts", "NAME SECRETS AGE", ""),
        ("ingresses", "NAME CLASS HOSTS ADDRESS PORTS AGE", ""),
        ("horizontalpodautoscalers", "NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE", ""),
        ("leases", "NAME HOLDER AGE", ""),
        ("storageclasses",
         "NAME PROVISIONER RECLAIMPOLICY VOLUMEBINDINGMODE ALLOWVOLUMEEXPANSION AGE", ""),
    ],
)
def test_column_headers(resource: str, narrow: str, wide_extra: str) -> None:
    assert " ".join(headers(resource)) == narrow
    wide_only = [c["name"].upper() for c in _columns(resource) if c["priority"] > 0]
    assert " ".join(wide_only) == wide_extra


def _columns(resource: str) -> list[dict[str, Any]]:
    info = INDEX.by_name(resource)
    assert info is not None
    return to_table(info, [], now=NOW)["columnDefinitions"]


def test_every_served_resource_has_a_printer() -> None:
    assert {(info.group, info.plural) for info in RESOURCES} == set(PRINTERS)


def test_column_definitions_shape() -> None:
    [name, *_] = _columns("pods")
    assert name["name"] == "Name" and name["format"] == "name" and name["type"] == "string"
    for column in _columns("deployments"):
        assert set(column) == {"name", "type", "format", "description", "priority"}
        assert column["description"]


# -- the envelope ---------------------------------------------------------------------


def test_table_envelope_with_partial_object_metadata() -> None:
    info = INDEX.by_name("configmaps")
    assert info is not None
    objects = [{"metadata": meta("a", labels={"x": "y"}), "data": {"k": "v"}},
               {"metadata": meta("b")}]
    table = to_table(info, objects, list_resource_version="99", continue_token="tok", now=NOW)
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "99", "continue": "tok"}
    assert [row["cells"] for row in table["rows"]] == [["a", 1, "10m"], ["b", 0, "10m"]]
    assert table["rows"][0]["object"] == {
        "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
        "metadata": meta("a", labels={"x": "y"})}
    # The row carries a copy: editing it leaves the stored object alone.
    table["rows"][0]["object"]["metadata"]["labels"]["x"] = "changed"
    assert objects[0]["metadata"]["labels"]["x"] == "y"


def test_include_object_modes() -> None:
    info = INDEX.by_name("configmaps")
    assert info is not None
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("a"), "data": {"k": "v"}}
    assert to_table(info, [obj], include_object="Object", now=NOW)["rows"][0]["object"] == obj
    assert "object" not in to_table(info, [obj], include_object="None", now=NOW)["rows"][0]
    with pytest.raises(ValueError):
        to_table(info, [obj], include_object="Everything", now=NOW)


def test_single_object_uses_its_own_resource_version() -> None:
    info = INDEX.by_name("configmaps")
    assert info is not None
    assert to_table(info, [{"metadata": meta("a")}], now=NOW)["metadata"] == {"resourceVersion": "42"}
    assert to_table(info, [], now=NOW)["metadata"] == {}


def test_unknown_resource_falls_back_to_name_and_age() -> None:
    info = ResourceInfo("example.com", "v1", "Widget", "widgets", "widget", True, "")
    table = to_table(info, [{"metadata": meta("w")}, {"metadata": {"name": "x"}}], now=NOW)
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]
    assert [row["cells"] for row in table["rows"]] == [["w", "10m"], ["x", "<unknown>"]]


# -- pods -----------------------------------------------------------------------------


def running(name: str, *, ready: bool = True, restarts: int = 0, **extra: Any) -> dict[str, Any]:
    return {"name": name, "ready": ready, "restartCount": restarts,
            "state": {"running": {"startedAt": CREATED}}, **extra}


def pod(container_statuses: list[dict[str, Any]], *, phase: str = "Running",
        init_containers: list[dict[str, Any]] | None = None,
        init_statuses: list[dict[str, Any]] | None = None,
        metadata: dict[str, Any] | None = None, **status: Any) -> dict[str, Any]:
    names = [c["name"] for c in container_statuses] or ["app"]
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": metadata or meta("web-7d4b9-abcde"),
        "spec": {"nodeName": "node-1", "containers": [{"name": n, "image": "nginx"} for n in names],
                 "initContainers": init_containers or []},
        "status": {"phase": phase, "podIP": "10.244.1.7", "podIPs": [{"ip": "10.244.1.7"}],
                   "containerStatuses": container_statuses,
                   "initContainerStatuses": init_statuses or [], **status},
    }


CRASHED = {"name": "app", "ready": False, "restartCount": 5,
           "state": {"waiting": {"reason": "CrashLoopBackOff",
                                 "message": "back-off 2m40s restarting failed container"}},
           "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                                        "finishedAt": "2024-05-01T11:57:00Z"}}}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(pod([running("app")]),
                     ["web-7d4b9-abcde", "1/1", "Running", "0", "10m", "10.244.1.7", "node-1",
                      "<none>", "<none>"], id="running"),
        pytest.param(pod([running("app"), CRASHED | {"name": "sidecar"}]),
                     ["web-7d4b9-abcde", "1/2", "CrashLoopBackOff", "5 (3m ago)", "10m",
                      "10.244.1.7", "node-1", "<none>", "<none>"], id="crash-loop"),
        pytest.param(pod([running("app", restarts=2)]),
                     ["web-7d4b9-abcde", "1/1", "Running", "2", "10m", "10.244.1.7", "node-1",
                      "<none>", "<none>"], id="restarts-without-last-state"),
        pytest.param(pod([running("app")], metadata=meta(
            "web-7d4b9-abcde", deletionTimestamp="2024-05-01T11:59:00Z")),
                     ["web-7d4b9-abcde", "1/1", "Terminating", "0", "10m", "10.244.1.7",
                      "node-1", "<none>", "<none>"], id="terminating"),
        pytest.param(pod([running("app")], reason="NodeLost", metadata=meta(
            "web-7d4b9-abcde", deletionTimestamp="2024-05-01T11:59:00Z")),
                     ["web-7d4b9-abcde", "1/1", "Unknown", "0", "10m", "10.244.1.7", "node-1",
                      "<none>", "<none>"], id="node-lost"),
        pytest.param(
            {"metadata": meta("new"), "spec": {"containers": [{"name": "app"}]},
             "status": {"phase": "Pending"}},
            ["new", "0/1", "Pending", "0", "10m", "<none>", "<none>", "<none>", "<none>"],
            id="pending-unscheduled"),
        pytest.param(pod([{"name": "app", "ready": False, "restartCount": 0,
                           "state": {"waiting": {"reason": "ContainerCreating"}}}], phase="Pending"),
                     ["web-7d4b9-abcde", "0/1", "ContainerCreating", "0", "10m", "10.244.1.7",
                      "node-1", "<none>", "<none>"], id="container-creating"),
        pytest.param(pod([{"name": "app", "ready": False, "restartCount": 0,
                           "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
                         phase="Succeeded"),
                     ["web-7d4b9-abcde", "0/1", "Completed", "0", "10m", "10.244.1.7", "node-1",
                      "<none>", "<none>"], id="completed"),
        pytest.param(pod([{"name": "app", "ready": False, "restartCount": 0,
                           "state": {"terminated": {"exitCode": 137}}}], phase="Failed"),
                     ["web-7d4b9-abcde", "0/1", "ExitCode:137", "0", "10m", "10.244.1.7",
                      "node-1", "<none>", "<none>"], id="exit-code"),
        pytest.param(pod([{"name": "app", "ready": False, "restartCount": 0,
                           "state": {"terminated": {"exitCode": 0, "signal": 9}}}], phase="Failed"),
                     ["web-7d4b9-abcde", "0/1", "Signal:9", "0", "10m", "10.244.1.7", "node-1",
                      "<none>", "<none>"], id="signal"),
        pytest.param(pod([{"name": "app", "ready": False, "restartCount": 0,
                           "state": {"waiting": {"reason": "PodInitializing"}}}], phase="Pending",
                         init_containers=[{"name": "init"}],
                         init_statuses=[{"name": "init", "ready": False, "restartCount": 0,
                                         "state": {"running": {}}}]),
                     ["web-7d4b9-abcde", "0/1", "Init:0/1", "0", "10m", "10.244.1.7", "node-1",
                      "<none>", "<none>"], id="init-running"),
        pytest.param(pod([{"name": "app", "ready": False, "restartCount": 0,
                           "state": {"waiting": {"reason": "PodInitializing"}}}], phase="Pending",
                         init_containers=[{"name": "init"}],
                         init_statuses=[CRASHED | {"name": "init"}]),
                     ["web-7d4b9-abcde", "0/1", "Init:CrashLoopBackOff", "5 (3m ago)", "10m",
                      "10.244.1.7", "node-1", "<none>", "<none>"], id="init-crash-loop"),
        pytest.param(pod([{"name": "app", "ready": False, "restartCount": 0,
                           "state": {"waiting": {"reason": "PodInitializing"}}}], phase="Pending",
                         init_containers=[{"name": "init"}],
                         init_statuses=[{"name": "init", "ready": False, "restartCount": 0,
                                         "state": {"terminated": {"exitCode": 2}}}]),
                     ["web-7d4b9-abcde", "0/1", "Init:ExitCode:2", "0", "10m", "10.244.1.7",
                      "node-1", "<none>", "<none>"], id="init-failed"),
        pytest.param(pod([running("app")], init_containers=[{"name": "init"}],
                         init_statuses=[{"name": "init", "ready": False, "restartCount": 0,
                                         "state": {"terminated": {"exitCode": 0,
                                                                  "reason": "Completed"}}}]),
                     ["web-7d4b9-abcde", "1/1", "Running", "0", "10m", "10.244.1.7", "node-1",
                      "<none>", "<none>"], id="init-done"),
        pytest.param(pod([running("app")],
                         init_containers=[{"name": "proxy", "restartPolicy": "Always"}],
                         init_statuses=[running("proxy", started=True, restarts=1)]),
                     ["web-7d4b9-abcde", "2/2", "Running", "1", "10m", "10.244.1.7", "node-1",
                      "<none>", "<none>"], id="sidecar-counts"),
        pytest.param(pod([running("app"), {"name": "job", "ready": False, "restartCount": 0,
                                            "state": {"terminated": {"exitCode": 0,
                                                                     "reason": "Completed"}}}],
                         conditions=[{"type": "Ready", "status": "False"}]),
                     ["web-7d4b9-abcde", "1/2", "NotReady", "0", "10m", "10.244.1.7", "node-1",
                      "<none>", "<none>"], id="completed-beside-running"),
        pytest.param(
            {"metadata": meta("gated"), "spec": {"containers": [{"name": "app"}]},
             "status": {"phase": "Pending", "conditions": [
                 {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}},
            ["gated", "0/1", "SchedulingGated", "0", "10m", "<none>", "<none>", "<none>", "<none>"],
            id="scheduling-gated"),
        pytest.param(pod([running("app")], reason="Evicted", phase="Failed"),
                     ["web-7d4b9-abcde", "1/1", "Evicted", "0", "10m", "10.244.1.7", "node-1",
                      "<none>", "<none>"], id="status-reason"),
    ],
)
def test_pod_cells(obj: dict[str, Any], expected: list[Any]) -> None:
    assert cells("pods", obj) == expected


def test_pod_wide_cells_readiness_gates_and_nominated_node() -> None:
    obj = pod([running("app")], nominatedNodeName="node-2",
              conditions=[{"type": "example.com/lb", "status": "True"},
                          {"type": "example.com/dns", "status": "False"}])
    obj["spec"]["readinessGates"] = [{"conditionType": "example.com/lb"},
                                     {"conditionType": "example.com/dns"}]
    assert cells("pods", obj)[5:] == ["10.244.1.7", "node-1", "node-2", "1/2"]


def test_terminal_pods_carry_completed_condition() -> None:
    info = INDEX.by_name("pods")
    assert info is not None
    done = pod([], phase="Succeeded")
    [row] = to_table(info, [done], now=NOW)["rows"]
    assert row["conditions"] == [{"type": "Completed", "status": "True", "reason": "Succeeded",
                                  "message": "The pod has completed successfully."}]
    [row] = to_table(info, [pod([running("app")])], now=NOW)["rows"]
    assert "conditions" not in row


# -- workloads ------------------------------------------------------------------------

TEMPLATE = {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"},
                                    {"name": "log", "image": "busybox"}]}}
SELECTOR = {"matchLabels": {"app": "web"}}


def test_deployment_cells() -> None:
    obj = {"metadata": meta("web"), "spec": {"replicas": 3, "selector": SELECTOR,
                                              "template": TEMPLATE},
           "status": {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 2,
                      "availableReplicas": 2}}
    assert cells("deployments", obj) == ["web", "2/3", 3, 2, "10m", "web,log",
                                         "nginx:1.27,busybox", "app=web"]


def test_deployment_without_status() -> None:
    obj = {"metadata": meta("web"), "spec": {"replicas": 2, "selector": {
        "matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]},
        "template": TEMPLATE}}
    assert cells("deployments", obj)[:4] == ["web", "0/2", 0, 0]
    assert cells("deployments", obj)[-1] == "app in (api,web)"


def test_replica_set_cells() -> None:
    obj = {"metadata": meta("web-7d4b9"), "spec": {"replicas": 3, "selector": SELECTOR,
                                                    "template": TEMPLATE},
           "status": {"replicas": 3, "readyReplicas": 1}}
    assert cells("replicasets", obj) == ["web-7d4b9", 3, 3, 1, "10m", "web,log",
                                         "nginx:1.27,busybox", "app=web"]


def test_stateful_set_cells() -> None:
    obj = {"metadata": meta("db"), "spec": {"replicas": 3, "template": TEMPLATE},
           "status": {"readyReplicas": 3}}
    assert cells("statefulsets", obj) == ["db", "3/3", "10m", "web,log", "nginx:1.27,busybox"]


def test_daemon_set_cells() -> None:
    template = {**TEMPLATE, "spec": {**TEMPLATE["spec"],
                                     "nodeSelector": {"zone": "a", "kubernetes.io/os": "linux"}}}
    obj = {"metadata": meta("agent"), "spec": {"selector": SELECTOR, "template": template},
           "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2,
                      "updatedNumberScheduled": 3, "numberAvailable": 2}}
    assert cells("daemonsets", obj) == ["agent", 3, 3, 2, 3, 2, "kubernetes.io/os=linux,zone=a",
                                        "10m", "web,log", "nginx:1.27,busybox", "app=web"]


# -- services and nodes ---------------------------------------------------------------


def service(svc_type: str, ports: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    status = spec.pop("status", {"loadBalancer": {}})
    return {"metadata": meta("web"), "spec": {"type": svc_type, "clusterIP": "10.96.0.10",
                                              "clusterIPs": ["10.96.0.10"], "ports": ports,
                                              "selector": {"app": "web"}, **spec},
            "status": status}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(service("ClusterIP", [{"port": 80, "protocol": "TCP", "targetPort": 8080}]),
                     ["web", "ClusterIP", "10.96.0.10", "<none>", "80/TCP", "10m", "app=web"],
                     id="cluster-ip"),
        pytest.param(service("ClusterIP", [{"port": 53, "protocol": "UDP"}, {"port": 53}],
                             externalIPs=["1.2.3.4"]),
                     ["web", "ClusterIP", "10.96.0.10", "1.2.3.4", "53/UDP,53/TCP", "10m",
                      "app=web"], id="external-ips"),
        pytest.param(service("NodePort", [{"port": 80, "protocol": "TCP", "nodePort": 30080}]),
                     ["web", "NodePort", "10.96.0.10", "<none>", "80:30080/TCP", "10m",
                      "app=web"], id="node-port"),
        pytest.param(service("LoadBalancer", [{"port": 80, "protocol": "TCP", "nodePort": 31000}]),
                     ["web", "LoadBalancer", "10.96.0.10", "<pending>", "80:31000/TCP", "10m",
                      "app=web"], id="load-balancer-pending"),
        pytest.param(service("LoadBalancer", [{"port": 443, "protocol": "TCP", "nodePort": 31443}],
                             status={"loadBalancer": {"ingress": [{"ip": "203.0.113.7"},
                                                                  {"hostname": "lb.example.com"}]}}),
                     ["web", "LoadBalancer", "10.96.0.10", "203.0.113.7,lb.example.com",
                      "443:31443/TCP", "10m", "app=web"], id="load-balancer-ready"),
        pytest.param(service("ExternalName", [], externalName="db.example.com", clusterIP="",
                             clusterIPs=[], selector=None),
                     ["web", "ExternalName", "<none>", "db.example.com", "<none>", "10m",
                      "<none>"], id="external-name"),
        pytest.param(service("ClusterIP", [{"port": 5432, "protocol": "TCP"}], clusterIP="None",
                             clusterIPs=["None"]),
                     ["web", "ClusterIP", "None", "<none>", "5432/TCP", "10m", "app=web"],
                     id="headless"),
    ],
)
def test_service_cells(obj: dict[str, Any], expected: list[Any]) -> None:
    assert cells("services", obj) == expected


def node(ready: str | None, **extra: Any) -> dict[str, Any]:
    conditions = [{"type": "MemoryPressure", "status": "False"}]
    if ready is not None:
        conditions.append({"type": "Ready", "status": ready})
    return {"metadata": meta("node-1", namespace=None, labels=extra.pop("labels", {})),
            "spec": extra.pop("spec", {}),
            "status": {"conditions": conditions,
                       "addresses": [{"type": "InternalIP", "address": "172.18.0.2"},
                                     {"type": "Hostname", "address": "node-1"}],
                       "nodeInfo": {"kubeletVersion": "v1.32.0", "osImage": "Debian GNU/Linux 12",
                                    "kernelVersion": "6.1.0", "containerRuntimeVersion":
                                    "docker://27.3.1"}}}


@pytest.mark.parametrize(
    ("obj", "status", "roles"),
    [
        (node("True"), "Ready", "<none>"),
        (node("False"), "NotReady", "<none>"),
        (node("Unknown"), "NotReady", "<none>"),
        (node(None), "Unknown", "<none>"),
        (node("True", spec={"unschedulable": True}), "Ready,SchedulingDisabled", "<none>"),
        (node("True", labels={"node-role.kubernetes.io/control-plane": "",
                              "node-role.kubernetes.io/worker": "", "kubernetes.io/role": "infra"}),
         "Ready", "control-plane,infra,worker"),
    ],
)
def test_node_status_and_roles(obj: dict[str, Any], status: str, roles: str) -> None:
    assert cells("nodes", obj)[:5] == ["node-1", status, roles, "10m", "v1.32.0"]


def test_node_wide_cells() -> None:
    assert cells("nodes", node("True"))[5:] == ["172.18.0.2", "<none>", "Debian GNU/Linux 12",
                                                "6.1.0", "docker://27.3.1"]
    bare = {"metadata": {"name": "n"}, "status": {}}
    assert cells("nodes", bare) == ["n", "Unknown", "<none>", "<unknown>", "", "<none>", "<none>",
                                    "<unknown>", "<unknown>", "<unknown>"]


# -- the simple kinds -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "obj", "expected"),
    [
        ("namespaces", {"metadata": meta("dev"), "status": {"phase": "Active"}},
         ["dev", "Active", "10m"]),
        ("configmaps", {"metadata": meta("cfg"), "data": {"a": "1", "b": "2"},
                        "binaryData": {"c": "AA=="}}, ["cfg", 3, "10m"]),
        ("secrets", {"metadata": meta("tls"), "type": "kubernetes.io/tls",
                     "data": {"tls.crt": "x", "tls.key": "y"}},
         ["tls", "kubernetes.io/tls", 2, "10m"]),
        ("secrets", {"metadata": meta("s")}, ["s", "Opaque", 0, "10m"]),
        ("serviceaccounts", {"metadata": meta("default")}, ["default", 0, "10m"]),
        ("endpoints", {"metadata": meta("web")}, ["web", "<none>", "10m"]),
        ("endpoints", {"metadata": meta("web"), "subsets": [
            {"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 80}]}]},
         ["web", "10.0.0.1:80,10.0.0.2:80", "10m"]),
        ("endpoints", {"metadata": meta("web"), "subsets": [
            {"addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 6)],
             "ports": [{"port": 80}]}]},
         ["web", "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more...", "10m"]),
        ("endpoints", {"metadata": meta("headless"), "subsets": [
            {"addresses": [{"ip": "10.0.0.9"}]}]}, ["headless", "10.0.0.9", "10m"]),
        ("leases", {"metadata": meta("kube-scheduler"), "spec": {"holderIdentity": "host_1"}},
         ["kube-scheduler", "host_1", "10m"]),
        ("storageclasses", {"metadata": meta("standard", annotations={
            "storageclass.kubernetes.io/is-default-class": "true"}),
            "provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"},
         ["standard (default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer", False,
          "10m"]),
        ("ingresses", {"metadata": meta("web"), "spec": {
            "ingressClassName": "nginx", "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}],
            "tls": [{"hosts": ["a.example.com"]}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}]}}},
         ["web", "nginx", "a.example.com,b.example.com", "203.0.113.9", "80, 443", "10m"]),
        ("ingresses", {"metadata": meta("web"), "spec": {"rules": [{"http": {}}]}},
         ["web", "<none>", "*", "", "80", "10m"]),
        ("persistentvolumes", {"metadata": meta("pv1", namespace=None), "spec": {
            "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "standard",
            "claimRef": {"namespace": "default", "name": "data"}}, "status": {"phase": "Bound"}},
         ["pv1", "10Gi", "RWO,RWX", "Retain", "Bound", "default/data", "standard", "<unset>", "",
          "10m", "<unset>"]),
        ("persistentvolumeclaims", {"metadata": meta("data"), "spec": {
            "storageClassName": "standard", "volumeName": "pv1", "volumeMode": "Filesystem",
            "resources": {"requests": {"storage": "5Gi"}}},
            "status": {"phase": "Bound", "capacity": {"storage": "10Gi"},
                       "accessModes": ["ReadWriteOnce"]}},
         ["data", "Bound", "pv1", "10Gi", "RWO", "standard", "<unset>", "10m", "Filesystem"]),
        ("persistentvolumeclaims", {"metadata": meta("data"), "spec": {}, "status": {
            "phase": "Pending"}},
         ["data", "Pending", "", "", "", "", "<unset>", "10m", "<unset>"]),
    ],
)
def test_simple_kind_cells(resource: str, obj: dict[str, Any], expected: list[Any]) -> None:
    assert cells(resource, obj) == expected


def test_event_cells() -> None:
    obj = {"metadata": meta("web.17c"), "type": "Warning", "reason": "BackOff",
           "message": "Back-off restarting failed container\n", "count": 4,
           "firstTimestamp": "2024-05-01T11:50:00Z", "lastTimestamp": "2024-05-01T11:59:30Z",
           "involvedObject": {"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{app}"},
           "source": {"component": "kubelet", "host": "node-1"}}
    assert cells("events", obj) == ["30s", "Warning", "BackOff", "pod/web-1",
                                    "spec.containers{app}", "kubelet, node-1",
                                    "Back-off restarting failed container", "10m", 4, "web.17c"]
    new_style = {"metadata": meta("e2"), "type": "Normal", "reason": "Scheduled",
                 "eventTime": "2024-05-01T11:58:00.000000Z", "reportingComponent":
                 "default-scheduler", "involvedObject": {"kind": "Pod", "name": "web-1"}}
    assert cells("events", new_style) == ["2m", "Normal", "Scheduled", "pod/web-1", "",
                                          "default-scheduler", "", "2m", 1, "e2"]


@pytest.mark.parametrize(
    ("metrics", "current", "targets"),
    [
        ([], [], "<none>"),
        ([{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": 80}}}], [], "cpu: <unknown>/80%"),
        ([{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": 80}}}],
         [{"type": "Resource", "resource": {"name": "cpu", "current": {
             "averageUtilization": 40, "averageValue": "100m"}}}], "cpu: 40%/80%"),
        ([{"type": "Resource", "resource": {"name": "memory", "target": {
            "type": "AverageValue", "averageValue": "500Mi"}}}],
         [{"type": "Resource", "resource": {"name": "memory", "current": {
             "averageValue": "200Mi"}}}], "memory: 200Mi/500Mi"),
        ([{"type": "Pods", "pods": {"target": {"averageValue": "10"}}}] * 3, [],
         "<unknown>/10, <unknown>/10 + 1 more..."),
    ],
)
def test_hpa_cells(metrics: list[Any], current: list[Any], targets: str) -> None:
    obj = {"metadata": meta("web"), "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 1, "maxReplicas": 5, "metrics": metrics},
        "status": {"currentReplicas": 2, "currentMetrics": current}}
    assert cells("horizontalpodautoscalers", obj) == ["web", "Deployment/web", targets, "1", 5, 2,
                                                      "10m"]


def test_endpoint_slice_cells_list_ports_and_addresses_with_more() -> None:
    many = {"metadata": meta("web-abc"), "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080}, {"name": "all"}],
            "endpoints": [{"addresses": [f"10.0.0.{i}"]} for i in range(1, 6)]}
    assert headers("endpointslices") == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    assert cells("endpointslices", many) == [
        "web-abc", "IPv4", "8080,all", "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...", "10m"]
    empty = {"metadata": meta("web-def"), "addressType": "IPv4", "endpoints": []}
    assert cells("endpointslices", empty)[2:4] == ["<unset>", "<unset>"]
