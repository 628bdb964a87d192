"""Service clusterIP and nodePort allocation as a client sees it.

ClusterIPs come from the service CIDR 10.96.0.0/16, nodePorts from 30000-32767;
a requested free value is honoured, and values come back when the Service is
deleted or stops needing them.
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any

import httpx

SERVICE_RANGE = ipaddress.ip_network("10.96.0.0/16")


def services(namespace: str) -> str:
    return f"/api/v1/namespaces/{namespace}/services"


def service(name: str, **spec: Any) -> dict[str, Any]:
    ports = spec.pop("ports", [{"name": "http", "port": 80}])
    return {"metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": ports, **spec}}


def create(http: httpx.Client, namespace: str, body: dict[str, Any]) -> httpx.Response:
    return http.post(services(namespace), json=body)


def created(http: httpx.Client, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    response = create(http, namespace, body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def create_with_free(http: httpx.Client, namespace: str, name: str,
                     spec_for: Any, candidates: list[Any]) -> tuple[dict[str, Any], Any]:
    """Create with the first candidate value nobody else holds (other tests share the range)."""
    for value in candidates:
        response = create(http, namespace, service(name, **spec_for(value)))
        if response.status_code == 201:
            return dict(response.json()), value
        assert response.status_code == 422, response.text
        assert "already allocated" in response.json()["message"]
    raise AssertionError("every candidate was taken")


def some_ips() -> list[str]:
    return [f"10.96.{random.randint(100, 199)}.{random.randint(1, 254)}" for _ in range(20)]


def some_node_ports() -> list[int]:
    return random.sample(range(31000, 32767), 20)


def delete(http: httpx.Client, namespace: str, name: str) -> None:
    assert http.delete(f"{services(namespace)}/{name}").status_code == 200
    assert http.get(f"{services(namespace)}/{name}").status_code == 404


def test_cluster_ip_is_allocated_from_the_service_range(http: httpx.Client,
                                                        namespace: str) -> None:
    svc = created(http, namespace, service("auto"))
    ip = svc["spec"]["clusterIP"]
    assert ipaddress.ip_address(ip) in SERVICE_RANGE
    assert svc["spec"]["clusterIPs"] == [ip]
    assert svc["spec"]["type"] == "ClusterIP"


def test_requested_cluster_ip_is_honoured_and_released_on_delete(http: httpx.Client,
                                                                 namespace: str) -> None:
    svc, ip = create_with_free(http, namespace, "fixed", lambda v: {"clusterIP": v}, some_ips())
    assert svc["spec"]["clusterIP"] == ip

    taken = create(http, namespace, service("other", clusterIP=ip))
    assert taken.status_code == 422

    delete(http, namespace, "fixed")
    again = created(http, namespace, service("other", clusterIP=ip))
    assert again["spec"]["clusterIP"] == ip


def test_cluster_ip_none_is_headless(http: httpx.Client, namespace: str) -> None:
    svc = created(http, namespace, service("headless", clusterIP="None"))
    assert svc["spec"]["clusterIP"] == "None"
    stored = http.get(f"{services(namespace)}/headless").json()
    assert stored["spec"]["clusterIP"] == "None"
    assert stored["spec"]["clusterIPs"] == ["None"]


def test_node_port_is_allocated_in_range(http: httpx.Client, namespace: str) -> None:
    svc = created(http, namespace, service("np", type="NodePort"))
    node_port = svc["spec"]["ports"][0]["nodePort"]
    assert 30000 <= node_port <= 32767
    assert ipaddress.ip_address(svc["spec"]["clusterIP"]) in SERVICE_RANGE


def test_requested_node_port_is_honoured_and_released_on_delete(http: httpx.Client,
                                                                namespace: str) -> None:
    def node_port_spec(port: int) -> dict[str, Any]:
        return {"type": "NodePort", "ports": [{"port": 80, "nodePort": port}]}

    svc, port = create_with_free(http, namespace, "np", node_port_spec, some_node_ports())
    assert svc["spec"]["ports"][0]["nodePort"] == port

    taken = create(http, namespace, service("np2", **node_port_spec(port)))
    assert taken.status_code == 422
    assert "spec.ports[0].nodePort" in taken.json()["message"]

    delete(http, namespace, "np")
    again = created(http, namespace, service("np2", **node_port_spec(port)))
    assert again["spec"]["ports"][0]["nodePort"] == port


def test_update_without_cluster_ip_keeps_it(http: httpx.Client, namespace: str) -> None:
    svc = created(http, namespace, service("keep"))
    ip = svc["spec"]["clusterIP"]
    del svc["spec"]["clusterIP"]
    del svc["spec"]["clusterIPs"]
    svc["metadata"]["labels"] = {"changed": "yes"}
    response = http.put(f"{services(namespace)}/keep", json=svc)
    assert response.status_code == 200, response.text
    stored = http.get(f"{services(namespace)}/keep").json()
    assert stored["spec"]["clusterIP"] == ip
    assert stored["metadata"]["labels"] == {"changed": "yes"}


def test_switching_type_allocates_and_releases_the_node_port(http: httpx.Client,
                                                             namespace: str) -> None:
    path = f"{services(namespace)}/switch"
    svc = created(http, namespace, service("switch"))
    assert "nodePort" not in svc["spec"]["ports"][0]

    svc["spec"]["type"] = "NodePort"
    as_node_port = http.put(path, json=svc)
    assert as_node_port.status_code == 200, as_node_port.text
    node_port = as_node_port.json()["spec"]["ports"][0]["nodePort"]
    assert 30000 <= node_port <= 32767

    # The patch leaves the nodePort in place: switching type drops it, as in Kubernetes.
    as_cluster_ip = http.patch(path, content=b'{"spec": {"type": "ClusterIP"}}',
                               headers={"Content-Type": "application/merge-patch+json"})
    assert as_cluster_ip.status_code == 200, as_cluster_ip.text
    assert "nodePort" not in as_cluster_ip.json()["spec"]["ports"][0]

    # Released: another Service may now ask for exactly that port.
    claimed = created(http, namespace, service(
        "claimer", type="NodePort", ports=[{"port": 80, "nodePort": node_port}]))
    assert claimed["spec"]["ports"][0]["nodePort"] == node_port
