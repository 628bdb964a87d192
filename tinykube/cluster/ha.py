"""The HA compose topology: N control-plane nodes behind a load balancer.

`tinykube up --control-planes 3` runs the project from a compose file generated
here out of docker-compose.yml (var/<project>/control-planes.yml), so the single
control plane stays the default and every apiserver, controller-manager and
scheduler flag of docker-compose.yml is reused as written:

- `control-plane-init` (runs once, then exits): the same init-config as the single
  API server container, `python -m apiserver.certs` (the cluster CA and one API
  serving certificate for every control-plane name, before any API server starts),
  then `init-pki`: an etcd peer certificate per member;
- `cp-1` .. `cp-N`: a control-plane node each (hostname cp-i, its own etcd volume),
  where `tinykube.cluster.supervisor` runs an etcd member (peers over TLS with
  certificates of the cluster CA, clients on plain HTTP inside the project network
  as in the single topology), an API server on that member, a controller manager
  and a scheduler (both leader-elected, through the load balancer);
- `apiserver`: the load balancer (tinykube.cluster.loadbalancer), under the API
  server's service name and host port, so kubeconfigs (`https://apiserver:6443`),
  node containers and `tinykube up` itself are unchanged;
- etcd, controller-manager and scheduler of docker-compose.yml are left out; the
  nodes and the cloud controller manager are kept as they are.

Kubernetes counterpart: kubeadm's stacked etcd topology (docs: ha-topology.md),
cmd/kubeadm/app/phases/certs (etcd peer certificates), cmd/kubeadm/app/phases/etcd
"""

from __future__ import annotations

import argparse
import copy
import os
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from tinykube import pki

Obj = dict[str, Any]
CONFIG_DIR = "/etc/tinykube"
PEER_PORT = 2380
CLIENT_PORT = 2379
API_PORT = 6443
REPLACED = ("etcd", "apiserver", "controller-manager", "scheduler")
API_SANS = ("apiserver", "localhost", "127.0.0.1")


def member_names(count: int) -> list[str]:
    return [f"cp-{i}" for i in range(1, count + 1)]


def peer_files(cert_dir: Path, member: str) -> tuple[Path, Path]:
    return cert_dir / "etcd" / f"{member}-peer.crt", cert_dir / "etcd" / f"{member}-peer.key"


def ensure_peer_certificates(config_dir: Path, members: list[str]) -> None:
    """An etcd peer certificate per member, signed by the cluster CA (made before by
    `python -m apiserver.certs`), each made only when missing."""
    cert_dir = config_dir / "pki"
    ca = pki.load_key_pair(cert_dir / "ca.crt", cert_dir / "ca.key")
    (cert_dir / "etcd").mkdir(parents=True, exist_ok=True)
    for member in members:
        cert, key = peer_files(cert_dir, member)
        if not (cert.exists() and key.exists()):
            pki.write_key_pair(cert, key, pki.new_serving_certificate(
                member, [member, "localhost", "127.0.0.1"], ca=ca, client_auth=True))


def _apiserver_command(base: Obj) -> tuple[str, list[str]]:
    """(the shell prefix that writes the configuration, the API server's argv) of the
    single topology's `apiserver` service: `<init> && exec python -m apiserver ...`."""
    script = base["services"]["apiserver"]["command"][-1]
    init, sep, server = script.partition("&& exec ")
    if not sep:
        raise ValueError("docker-compose.yml's apiserver command is not `<init> && exec python -m apiserver ...`")
    return init.strip(), shlex.split(server)


def _replace_flags(argv: list[str], **flags: str) -> list[str]:
    names = {f"--{name.replace('_', '-')}" for name in flags}
    kept = [arg for arg in argv if arg.split("=", 1)[0] not in names]
    return kept + [f"--{name.replace('_', '-')}={value}" for name, value in flags.items()]


def etcd_command(base: Obj, member: str, members: list[str], token: str) -> list[str]:
    cert, key = peer_files(Path(CONFIG_DIR) / "pki", member)
    return _replace_flags(
        list(base["services"]["etcd"]["command"]), name=member,
        listen_client_urls=f"http://0.0.0.0:{CLIENT_PORT}", advertise_client_urls=f"http://{member}:{CLIENT_PORT}",
        listen_peer_urls=f"https://0.0.0.0:{PEER_PORT}", initial_advertise_peer_urls=f"https://{member}:{PEER_PORT}",
        initial_cluster=",".join(f"{m}=https://{m}:{PEER_PORT}" for m in members),
        initial_cluster_state="new", initial_cluster_token=token,
        peer_cert_file=str(cert), peer_key_file=str(key), peer_trusted_ca_file=f"{CONFIG_DIR}/pki/ca.crt",
        peer_client_cert_auth="true")


def control_plane_service(base: Obj, member: str, members: list[str], token: str) -> Obj:
    services = base["services"]
    _, apiserver = _apiserver_command(base)
    apiserver = _replace_flags(apiserver, etcd_servers=f"http://127.0.0.1:{CLIENT_PORT}",
                               tls_sans=",".join([*API_SANS, *members]))
    programs = {"etcd": etcd_command(base, member, members, token), "apiserver": apiserver,
                "controller-manager": services["controller-manager"]["command"],
                "scheduler": services["scheduler"]["command"]}
    command = ["python", "-m", "tinykube.cluster.supervisor"]
    for name, argv in programs.items():
        command += ["--run", f"{name}={shlex.join(argv)}"]
    service = copy.deepcopy(services["apiserver"])
    service.pop("ports", None)
    service.update(hostname=member, command=command,
                   volumes=[f"config:{CONFIG_DIR}", f"{member}-etcd:/var/lib/etcd"],
                   depends_on={"control-plane-init": {"condition": "service_completed_successfully"}})
    service["healthcheck"] = {**service["healthcheck"], "retries": 120}
    return service


def ha_compose(base: Obj, count: int, token: str) -> Obj:
    """docker-compose.yml (parsed) turned into the HA topology with `count` members."""
    if count < 2:
        raise ValueError("an HA control plane has at least 2 members (3 tolerate the loss of one)")
    members = member_names(count)
    services = base["services"]
    init, _ = _apiserver_command(base)
    result = copy.deepcopy(base)
    for name in REPLACED:
        result["services"].pop(name, None)
    result["volumes"].pop("etcd-data", None)
    generated: Obj = {"control-plane-init": {
        **{k: v for k, v in copy.deepcopy(services["apiserver"]).items()
           if k not in ("ports", "healthcheck", "depends_on")},
        "hostname": "control-plane-init", "restart": "no",
        "command": ["sh", "-c", f"{init} && python -m apiserver.certs --cert-dir {CONFIG_DIR}/pki "
                                f"--tls-sans={','.join([*API_SANS, *members])} "
                                f"&& exec python -m tinykube.cluster.ha init-pki --dir {CONFIG_DIR} "
                                f"--members {count}"]}}
    for member in members:
        generated[member] = control_plane_service(base, member, members, token)
        result["volumes"][f"{member}-etcd"] = None
    balancer = copy.deepcopy(services["apiserver"])
    balancer["command"] = ["python", "-m", "tinykube.cluster.loadbalancer", f"--listen=0.0.0.0:{API_PORT}",
                           *(f"--backend={m}:{API_PORT}" for m in members)]
    balancer["depends_on"] = {m: {"condition": "service_started"} for m in members}
    generated["apiserver"] = balancer
    result["services"] = {**generated, **result["services"]}
    return result


def control_plane_count(ha_file: Path) -> int:
    """How many control-plane nodes a project runs (1: no HA file, docker-compose.yml's)."""
    if not ha_file.exists():
        return 1
    return sum(1 for name in yaml.safe_load(ha_file.read_text())["services"] if name.startswith("cp-"))


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def write_ha_file(ha_file: Path, compose_file: Path, count: int, token: str) -> None:
    generated = ha_compose(yaml.safe_load(compose_file.read_text()), count, token)
    ha_file.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=ha_file.parent, delete=False) as handle:
        handle.write(f"# Generated by `tinykube up --control-planes {count}` from {compose_file.name} "
                     "(tinykube/cluster/ha.py): do not edit.\n")
        yaml.dump(generated, handle, Dumper=_NoAliases, sort_keys=False)
    os.replace(handle.name, ha_file)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tinykube.cluster.ha")
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser("init-pki", help="the etcd peer certificates, if missing")
    init.add_argument("--dir", type=Path, default=Path(CONFIG_DIR))
    init.add_argument("--members", type=int, required=True)
    args = parser.parse_args(argv)
    ensure_peer_certificates(args.dir, member_names(args.members))
    return 0


if __name__ == "__main__":
    sys.exit(main())
