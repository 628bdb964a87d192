"""A control plane's configuration directory: tokens and kubeconfigs, made once.

Every control-plane host (the compose cluster's API server container, or a lab
host after `tinykube init`) keeps one directory, /etc/tinykube by default:

    tokens.csv                       kube-apiserver --token-auth-file
    kubelet-api.token                what the API server presents to kubelets
    encryption-config.yaml           --encryption-provider-config: Secrets in etcd under
                                     a random AES-GCM key (`k8s:enc:aesgcm:v1:key1:`)
    pki/ca.crt, pki/apiserver.*      made by the API server itself (--cert-dir)
    admin.kubeconfig                 system:masters: the user's key to the cluster
    controller-manager.kubeconfig
    scheduler.kubeconfig
    node.kubeconfig                  kubelets and kube-proxies (the join token)

`ensure_config_dir` writes what is missing and never changes what exists, so a
restart keeps every token valid. Kubeconfigs name the CA by path: they can be
written before the API server has made its CA on first start.

    python -m tinykube.cluster.bootstrap init-config --dir /etc/tinykube --server https://apiserver:6443
    python -m tinykube.cluster.bootstrap kubeconfig --dir /etc/tinykube --user admin --server https://127.0.0.1:6443

Kubernetes counterpart: cmd/kubeadm/app/phases/kubeconfig, cmd/kubeadm/app/phases/bootstraptoken
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_DIR = Path("/etc/tinykube")

# Each component's identity: (user, groups). The node identity's token is the join token.
IDENTITIES = {
    "admin": ("kubernetes-admin", "system:masters"),
    "controller-manager": ("system:kube-controller-manager", ""),
    "scheduler": ("system:kube-scheduler", ""),
    "node": ("system:node:bootstrap", "system:nodes"),
}


@dataclass(frozen=True)
class ConfigDir:
    path: Path

    @property
    def tokens_file(self) -> Path:
        return self.path / "tokens.csv"

    @property
    def kubelet_api_token_file(self) -> Path:
        return self.path / "kubelet-api.token"

    @property
    def encryption_config_file(self) -> Path:
        return self.path / "encryption-config.yaml"

    @property
    def cert_dir(self) -> Path:
        return self.path / "pki"

    @property
    def ca_file(self) -> Path:
        return self.cert_dir / "ca.crt"

    def kubeconfig(self, identity: str) -> Path:
        return self.path / f"{identity}.kubeconfig"

    def token(self, identity: str) -> str:
        user = IDENTITIES[identity][0]
        with open(self.tokens_file, newline="") as handle:
            for row in csv.reader(handle):
                if len(row) >= 2 and row[1] == user:
                    return row[0]
        raise KeyError(f"{self.tokens_file} has no token for {user}")


def ensure_config_dir(path: Path, server: str) -> ConfigDir:
    """Tokens and kubeconfigs under `path`, created only where missing."""
    config = ConfigDir(path)
    config.cert_dir.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    if not config.tokens_file.exists():
        rows = io.StringIO()
        writer = csv.writer(rows, lineterminator="\n")
        for user, groups in IDENTITIES.values():
            writer.writerow([secrets.token_hex(16), user, user, groups])
        _write_private(config.tokens_file, rows.getvalue())
    if not config.kubelet_api_token_file.exists():
        _write_private(config.kubelet_api_token_file, secrets.token_hex(16) + "\n")
    if not config.encryption_config_file.exists():
        _write_private(config.encryption_config_file, encryption_config_text(secrets.token_bytes(32)))
    for identity in IDENTITIES:
        if not config.kubeconfig(identity).exists():
            _write_private(config.kubeconfig(identity),
                           kubeconfig_text(server, config.token(identity), ca_file=config.ca_file))
    return config


def encryption_config_text(key: bytes) -> str:
    """Secrets written with AES-GCM under `key`; `identity` last so Secrets stored
    before encryption was turned on stay readable until they are rewritten."""
    return yaml.safe_dump({
        "apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
        "resources": [{"resources": ["secrets"], "providers": [
            {"aesgcm": {"keys": [{"name": "key1", "secret": base64.b64encode(key).decode()}]}},
            {"identity": {}}]}]}, sort_keys=False)


def kubeconfig_text(server: str, token: str, *, ca_file: Path | None = None, ca_data: bytes | None = None,
                    name: str = "tinykube", user: str = "tinykube-admin") -> str:
    """A kubeconfig with one cluster, user and context; the CA by path or embedded."""
    cluster: dict[str, str] = {"server": server}
    if ca_data is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_data).decode()
    elif ca_file is not None:
        cluster["certificate-authority"] = str(ca_file)
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token} if token else {}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": user, "namespace": "default"}}],
        "current-context": name, "preferences": {}}, sort_keys=False)


def _write_private(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    temporary.chmod(0o600)
    temporary.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tinykube.cluster.bootstrap")
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser("init-config", help="write the tokens and kubeconfigs that are missing")
    init.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    init.add_argument("--server", required=True, help="the API server URL the components use")
    show = commands.add_parser("kubeconfig", help="print a kubeconfig with the CA embedded")
    show.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    show.add_argument("--user", choices=sorted(IDENTITIES), default="admin")
    show.add_argument("--server", required=True, help="the API server URL as seen by its user")
    args = parser.parse_args(argv)
    if args.command == "init-config":
        ensure_config_dir(args.dir, args.server)
        return 0
    config = ConfigDir(args.dir)
    if not config.ca_file.exists():
        print(f"{config.ca_file} does not exist yet: the API server writes it on first start",
              file=sys.stderr)
        return 1
    sys.stdout.write(kubeconfig_text(args.server, config.token(args.user), ca_data=config.ca_file.read_bytes()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
