"""kube-proxy's syncs against real iptables, in a network namespace of the test's own
(`unshare --net`): the rule set applies, a second sync changes nothing and adds no
duplicate jumps, and a deleted Service's chains are gone after the next sync."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from kube_proxy.proxier import Proxier
from tinykube.api.core import Service
from tinykube.api.discovery import EndpointSlice
from tinykube.api.registry import deep_copy

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("iptables-restore") is None,
                                reason="needs root and iptables to make a network namespace")


@pytest.fixture
def netns() -> Iterator[int]:
    """A process holding a fresh network namespace; its pid names the namespace.

    Yielded only once the holder is in its new namespace: before `unshare` has made
    it, /proc/<pid>/ns/net is still this machine's, and a sync would change the
    host's iptables."""
    holder = subprocess.Popen(["unshare", "--net", "sleep", "600"])
    try:
        deadline = time.monotonic() + 10
        while os.readlink(f"/proc/{holder.pid}/ns/net") == os.readlink("/proc/self/ns/net"):
            assert time.monotonic() < deadline, "unshare --net made no namespace"
            time.sleep(0.01)
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()


def in_netns(pid: int) -> Any:
    async def runner(argv: list[str], stdin: str | None) -> tuple[int, str]:
        result = subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", *argv], input=stdin, text=True,
                                capture_output=True)
        return result.returncode, result.stdout + result.stderr
    return runner


def save(pid: int) -> str:
    return subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", "iptables-save"], text=True,
                          capture_output=True, check=True).stdout


SERVICE = Service.from_dict({
    "metadata": {"name": "web", "namespace": "demo", "resourceVersion": "1"},
    "spec": {"type": "NodePort", "clusterIP": "10.96.0.50", "sessionAffinity": "ClientIP",
             "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080}]}})
EMPTY = Service.from_dict({
    "metadata": {"name": "idle", "namespace": "demo", "resourceVersion": "1"},
    "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.51", "ports": [{"port": 53, "protocol": "UDP"}]}})
ENDPOINTS = EndpointSlice.from_dict({
    "metadata": {"name": "web-x1y2z", "namespace": "demo", "resourceVersion": "1",
                 "labels": {"kubernetes.io/service-name": "web"}},
    "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    "endpoints": [{"addresses": ["10.244.0.2"], "nodeName": "node-1", "conditions": {"ready": True}},
                  {"addresses": ["10.244.1.2"], "nodeName": "node-2", "conditions": {"ready": True}}]})


async def test_syncs_apply_atomically_stay_idempotent_and_clean_up(netns: int) -> None:
    proxier = Proxier(None, "node-1", "10.244.0.0/16", runner=in_netns(netns))  # type: ignore[arg-type]
    for obj in (SERVICE, EMPTY):
        proxier.services.indexer.add(obj)
    proxier.endpoint_slices.indexer.add(ENDPOINTS)

    assert await proxier.sync()
    first = save(netns)
    assert any(line.startswith("-A KUBE-SERVICES -d 10.96.0.50/32") and "-j KUBE-SVC-" in line
               for line in first.splitlines())
    assert first.count("--to-destination 10.244.0.2:8080") == 1 and first.count("--to-destination 10.244.1.2:8080") == 1
    assert "-A KUBE-SERVICES -d 10.96.0.51/32 -p udp" in first and "icmp-port-unreachable" in first
    assert first.count("-A PREROUTING -j KUBE-SERVICES") == 1

    assert await proxier.sync()
    second = save(netns)
    assert second.count("-A PREROUTING -j KUBE-SERVICES") == 1
    assert second.count("DNAT") == first.count("DNAT")

    proxier.services.indexer.delete(SERVICE)
    assert await proxier.sync()
    third = save(netns)
    assert "KUBE-SVC-" not in third and "KUBE-SEP-" not in third and "DNAT" not in third
    assert proxier.stats.syncs == 3 and proxier.stats.failures == 0


async def test_a_rejected_rule_set_fails_the_sync_and_keeps_the_old_rules(netns: int) -> None:
    proxier = Proxier(None, "node-1", "10.244.0.0/16", runner=in_netns(netns))  # type: ignore[arg-type]
    proxier.services.indexer.add(SERVICE)
    proxier.endpoint_slices.indexer.add(ENDPOINTS)
    assert await proxier.sync()
    before = save(netns)
    broken = deep_copy(SERVICE)
    assert broken.spec is not None
    broken.metadata.name, broken.spec.cluster_ip = "broken", "not-an-ip"
    proxier.services.indexer.add(broken)
    assert not await proxier.sync()
    assert proxier.stats.failures == 1
    assert save(netns).count("DNAT") == before.count("DNAT")
