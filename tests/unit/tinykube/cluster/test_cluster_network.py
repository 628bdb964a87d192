"""The compose cluster's subnet: chosen once, kept while nothing else overlaps it."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from tinykube.cluster.network import choose_subnet, compose_environment, host_routes, load_saved

Net = ipaddress.IPv4Network


def test_the_first_free_candidate_is_chosen_and_a_saved_one_kept() -> None:
    assert choose_subnet(None, [Net("172.30.0.0/16")]) == Net("172.31.0.0/24")
    assert choose_subnet(None, [Net("172.17.0.0/16"), Net("172.30.0.0/24")]) == Net("172.30.1.0/24")
    assert choose_subnet(Net("172.30.9.0/24"), [Net("172.30.0.0/24")]) == Net("172.30.9.0/24")
    # another network took the saved one meanwhile: a new one
    assert choose_subnet(Net("172.30.9.0/24"), [Net("172.30.8.0/22")]) == Net("172.30.0.0/24")


def test_docker_hands_out_the_lower_half() -> None:
    assert compose_environment(Net("172.30.4.0/24")) == {
        "TINYKUBE_SUBNET": "172.30.4.0/24", "TINYKUBE_IP_RANGE": "172.30.4.0/25"}


def test_host_routes_are_read_without_the_default_route(tmp_path: Path) -> None:
    table = tmp_path / "route"
    table.write_text(
        "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
        "eth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
        "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n")
    assert host_routes(str(table)) == [Net("172.17.0.0/16")]


def test_a_missing_or_broken_saved_subnet_is_none(tmp_path: Path) -> None:
    assert load_saved(tmp_path / "absent") is None
    (tmp_path / "subnet").write_text("not a subnet\n")
    assert load_saved(tmp_path / "subnet") is None
    (tmp_path / "subnet").write_text("172.30.3.0/24\n")
    assert load_saved(tmp_path / "subnet") == Net("172.30.3.0/24")
