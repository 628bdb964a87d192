"""The HA compose topology generated from docker-compose.yml, and its certificates."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tinykube import pki
from apiserver.certs import main as make_api_certs
from tinykube.cluster.ha import control_plane_count, ensure_peer_certificates, ha_compose, write_ha_file
from tinykube.testing.processes import REPO_ROOT

BASE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def programs(service: dict) -> dict[str, list[str]]:
    """The supervisor's `--run NAME=COMMAND` arguments, split."""
    argv = service["command"]
    assert argv[:3] == ["python", "-m", "tinykube.cluster.supervisor"]
    runs = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--run"]
    return {run.split("=", 1)[0]: shlex.split(run.split("=", 1)[1]) for run in runs}


def flag(argv: list[str], name: str) -> str:
    values = [a.split("=", 1)[1] for a in argv if a.startswith(f"--{name}=")]
    assert len(values) == 1, (name, argv)
    return values[0]


def test_three_members_a_load_balancer_and_the_rest_kept() -> None:
    result = ha_compose(BASE, 3, token="proj")
    services = result["services"]
    assert {"etcd", "controller-manager", "scheduler"}.isdisjoint(services)
    assert {"control-plane-init", "cp-1", "cp-2", "cp-3", "apiserver", "node-1", "node-2",
            "cloud-controller-manager"} <= set(services)
    assert services["node-1"] == BASE["services"]["node-1"]
    balancer = services["apiserver"]
    assert balancer["ports"] == BASE["services"]["apiserver"]["ports"]
    assert balancer["command"][3:] == ["--listen=0.0.0.0:6443", "--backend=cp-1:6443",
                                       "--backend=cp-2:6443", "--backend=cp-3:6443"]
    assert {"cp-1-etcd", "cp-2-etcd", "cp-3-etcd"} <= set(result["volumes"]) and "etcd-data" not in result["volumes"]


def test_each_member_runs_etcd_with_peer_tls_and_the_same_component_flags() -> None:
    services = ha_compose(BASE, 3, token="proj")["services"]
    base_apiserver = shlex.split(BASE["services"]["apiserver"]["command"][-1].split("&& exec ")[1])
    for member in ("cp-1", "cp-2", "cp-3"):
        run = programs(services[member])
        assert list(run) == ["etcd", "apiserver", "controller-manager", "scheduler"]
        etcd = run["etcd"]
        assert flag(etcd, "name") == member
        assert flag(etcd, "initial-cluster") == \
            "cp-1=https://cp-1:2380,cp-2=https://cp-2:2380,cp-3=https://cp-3:2380"
        assert flag(etcd, "initial-advertise-peer-urls") == f"https://{member}:2380"
        assert flag(etcd, "peer-cert-file") == f"/etc/tinykube/pki/etcd/{member}-peer.crt"
        assert flag(etcd, "peer-client-cert-auth") == "true"
        assert flag(run["apiserver"], "etcd-servers") == "http://127.0.0.1:2379"
        assert set(flag(run["apiserver"], "tls-sans").split(",")) >= {"apiserver", "cp-1", "cp-2", "cp-3"}
        kept = [a for a in base_apiserver if not a.startswith(("--etcd-servers=", "--tls-sans="))]
        assert [a for a in run["apiserver"] if a in kept] == kept  # every other flag, as written
        assert run["controller-manager"] == BASE["services"]["controller-manager"]["command"]
        assert services[member]["hostname"] == member
        assert services[member]["depends_on"] == {
            "control-plane-init": {"condition": "service_completed_successfully"}}


def test_fewer_than_two_members_is_refused() -> None:
    with pytest.raises(ValueError):
        ha_compose(BASE, 1, token="proj")


def test_the_written_file_has_no_yaml_aliases_and_counts_its_members(tmp_path: Path) -> None:
    target = tmp_path / "control-planes.yml"
    assert control_plane_count(target) == 1
    write_ha_file(target, REPO_ROOT / "docker-compose.yml", 3, token="proj")
    assert "*id" not in target.read_text()
    assert control_plane_count(target) == 3


def test_peer_certificates_are_signed_by_the_cluster_ca_for_both_ends(tmp_path: Path) -> None:
    assert make_api_certs(["--cert-dir", str(tmp_path / "pki"), "--tls-sans", "apiserver,cp-1,cp-2"]) == 0
    ensure_peer_certificates(tmp_path, ["cp-1", "cp-2"])
    ca = pki.load_certificate(tmp_path / "pki" / "ca.crt")
    serving = pki.load_certificate(tmp_path / "pki" / "apiserver.crt")
    assert {"apiserver", "cp-1", "cp-2", "10.96.0.1"} <= pki.certificate_sans(serving)
    peer = pki.load_certificate(tmp_path / "pki" / "etcd" / "cp-2-peer.crt")
    assert peer.issuer == ca.subject
    assert pki.certificate_sans(peer) == {"cp-2", "localhost", "127.0.0.1"}
    usages = peer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    before = (tmp_path / "pki" / "etcd" / "cp-1-peer.crt").read_bytes()
    ensure_peer_certificates(tmp_path, ["cp-1", "cp-2"])  # again: nothing is remade
    assert (tmp_path / "pki" / "etcd" / "cp-1-peer.crt").read_bytes() == before
