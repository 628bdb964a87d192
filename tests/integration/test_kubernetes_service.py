"""The `kubernetes` Service with two API server processes on one etcd.

The two share an etcd of their own. Each API server listens on its own loopback address (127.0.0.2, 127.0.0.3) at the
same secure port, as two control-plane hosts would, with a short endpoint lease.
Both appear in the Service's Endpoints and EndpointSlice; a SIGKILLed one (no
graceful removal) drops out once its lease expires; a stopped one at once.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tinykube.testing.processes import APIServerProcess, Etcd, free_port, start_apiserver, start_etcd, wait_until

ADDRESSES = ("127.0.0.2", "127.0.0.3")


@pytest.fixture
def lease_ttl() -> str:
    return "3s"


@pytest.fixture
def own_etcd(tmp_path: Path) -> Iterator[Etcd]:
    """An etcd of the test's own: the session's API server on the shared one would be
    a third endpoint."""
    server = start_etcd(tmp_path / "etcd")
    yield server
    server.stop()


@pytest.fixture
def two_apiservers(own_etcd: Etcd, tmp_path: Path, lease_ttl: str) -> Iterator[tuple[APIServerProcess, ...]]:
    etcd = own_etcd
    secure_port = free_port()
    servers: list[APIServerProcess] = []
    try:
        for address in ADDRESSES:
            servers.append(start_apiserver(
                etcd.url, tmp_path / address, secure_port=secure_port,
                flags=(f"--bind-address={address}", f"--advertise-address={address}",
                       f"--tls-sans={address}", f"--endpoint-lease-ttl={lease_ttl}",
                       "--endpoint-reconcile-interval=1s")))
        yield tuple(servers)
    finally:
        for server in servers:
            server.stop()


def addresses(http: httpx.Client) -> tuple[list[str], list[str]]:
    """What a client reads: (Endpoints addresses, EndpointSlice addresses)."""
    endpoints = http.get("/api/v1/namespaces/default/endpoints/kubernetes")
    slice_ = http.get("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes")
    if endpoints.status_code != 200 or slice_.status_code != 200:
        return [], []
    return ([a["ip"] for s in endpoints.json().get("subsets") or [] for a in s["addresses"]],
            [a for e in slice_.json().get("endpoints") or [] for a in e["addresses"]])


def test_both_api_servers_are_endpoints_and_a_killed_one_leaves_within_the_ttl(two_apiservers) -> None:
    first, second = two_apiservers
    with httpx.Client(base_url=first.http_url, timeout=10) as http:
        both = (list(ADDRESSES), list(ADDRESSES))
        wait_until(lambda: addresses(http) == both, 20, "both API servers in the endpoints")
        service = http.get("/api/v1/namespaces/default/services/kubernetes").json()
        assert service["spec"]["clusterIP"] == "10.96.0.1"
        port = service["spec"]["ports"][0]
        assert (port["name"], port["port"], port["targetPort"]) == ("https", 443, int(
            first.https_url.rsplit(":", 1)[1]))
        for address in ADDRESSES:  # every endpoint is a serving API server
            with httpx.Client(verify=False, timeout=10) as tls:
                answer = tls.get(f"https://{address}:{port['targetPort']}/version",
                                 headers={"Authorization": f"Bearer {first.token}"})
            assert answer.status_code == 200, answer.text

        second.proc.process.send_signal(signal.SIGKILL)
        second.proc.process.wait()
        one = ([ADDRESSES[0]], [ADDRESSES[0]])
        wait_until(lambda: addresses(http) == one, 15, "the killed API server to leave the endpoints")
        leases = http.get("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases").json()["items"]
        assert [lease["spec"]["holderIdentity"] for lease in leases
                if lease["metadata"]["name"].startswith("apiserver-endpoint-")] == [ADDRESSES[0]]

        second.restart()
        wait_until(lambda: addresses(http) == both, 20, "the restarted API server to come back")


@pytest.mark.parametrize("lease_ttl", ["600s"])  # only the stop itself can remove it in time
def test_a_stopped_api_server_takes_itself_out(two_apiservers) -> None:
    first, second = two_apiservers
    with httpx.Client(base_url=first.http_url, timeout=10) as http:
        wait_until(lambda: len(addresses(http)[1]) == 2, 20, "both API servers in the endpoints")
        second.stop()  # SIGTERM: a graceful stop
        # Its lease is far from expiring: the server removed its own address on the way out.
        assert addresses(http) == ([ADDRESSES[0]], [ADDRESSES[0]])
