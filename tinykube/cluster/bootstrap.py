"""A control plane's configuration directory: tokens, certificates and kubeconfigs, made once.

Every control-plane host (the compose cluster's API server container, or a lab
host after `tinykube init`) keeps one directory, /etc/tinykube by default:

    tokens.csv                        kube-apiserver --token-auth-file
    pki/ca.crt, pki/ca.key            the cluster CA (the API server's --client-ca-file;
                                      the controller manager signs CSRs with it)
    pki/apiserver-kubelet-client.*    CN kube-apiserver-kubelet-client, O system:masters:
                                      what the API server presents to kubelets
    pki/apiserver.*                   made by the API server itself (--cert-dir)
    bootstrap-token                   the bootstrap token (kubeadm's <id>.<secret>)
    admin.kubeconfig                  system:masters: the user's key to the cluster
    encryption-config.yaml            --encryption-provider-config: Secrets in etcd under
                                      a random AES-GCM key (`k8s:enc:aesgcm:v1:key1:`)
    controller-manager.kubeconfig     system:kube-controller-manager
    scheduler.kubeconfig              system:kube-scheduler
    cloud-controller-manager.kubeconfig  system:cloud-controller-manager
    node/                             everything a worker node receives, and no more:
      ca.crt                          the cluster CA certificate (not its key)
      bootstrap-kubelet.kubeconfig    the bootstrap token: enough to ask for a certificate

Each component's identity is bound to its default ClusterRole of the same name
(apiserver/authorization/rbac/policy.py); add-ons run as ServiceAccounts (their
manifests in addons/). Tokens of identities this version no longer makes (the
add-ons' former shared `node` token) are dropped from tokens.csv on the next start.

A kubelet trades the bootstrap token for a certificate of its own (kubelet/certificate);
the token works once its Secret `kube-system/bootstrap-token-<id>` exists, and its
group may create CertificateSigningRequests once bound to `system:node-bootstrapper`
(`upload_bootstrap_token` does both, run by `init` and by the compose cluster's
controller manager container at start). It also binds `system:node-proxier` to the
group `system:nodes`: kube-proxy runs with its node's credential (see
docs/differences-from-kubernetes.md), and lets nodes get PersistentVolumes
(`tinykube:local-path-reclaimer`: the kubelet deletes the data of deleted local-path
volumes).

`ensure_config_dir` writes what is missing and never changes what exists, so a
restart keeps every credential valid.

    python -m tinykube.cluster.bootstrap init-config --dir /etc/tinykube --server https://apiserver:6443
    python -m tinykube.cluster.bootstrap upload-bootstrap-token --dir /etc/tinykube
    python -m tinykube.cluster.bootstrap kubeconfig --dir /etc/tinykube --user admin --server https://127.0.0.1:6443

Kubernetes counterpart: cmd/kubeadm/app/phases/kubeconfig, cmd/kubeadm/app/phases/bootstraptoken,
cmd/kubeadm/app/phases/certs
"""

from __future__ import annotations

import argparse
import base64
import csv
import datetime
import io
import secrets
import ssl
import string
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from tinykube import pki

DEFAULT_DIR = Path("/etc/tinykube")

# Each component's identity: (user, groups), bound to its default ClusterRole.
IDENTITIES = {
    "admin": ("kubernetes-admin", "system:masters"),
    "controller-manager": ("system:kube-controller-manager", ""),
    "scheduler": ("system:kube-scheduler", ""),
    "cloud-controller-manager": ("system:cloud-controller-manager", ""),
}
KUBELET_CLIENT = ("kube-apiserver-kubelet-client", ["system:masters"])
TOKEN_ALPHABET = string.ascii_lowercase + string.digits
BOOTSTRAP_GROUP = "system:bootstrappers:kubeadm:default-node-token"
BOOTSTRAP_BINDING = "kubeadm:kubelet-bootstrap"
NODE_PROXIER_BINDING = "tinykube:node-proxier"
LOCAL_PATH_RECLAIMER = "tinykube:local-path-reclaimer"


@dataclass(frozen=True)
class ConfigDir:
    path: Path

    @property
    def tokens_file(self) -> Path:
        return self.path / "tokens.csv"

    @property
    def encryption_config_file(self) -> Path:
        return self.path / "encryption-config.yaml"

    @property
    def cert_dir(self) -> Path:
        return self.path / "pki"

    @property
    def ca_file(self) -> Path:
        return self.cert_dir / "ca.crt"

    @property
    def ca_key_file(self) -> Path:
        return self.cert_dir / "ca.key"

    @property
    def kubelet_client_cert(self) -> Path:
        return self.cert_dir / "apiserver-kubelet-client.crt"

    @property
    def kubelet_client_key(self) -> Path:
        return self.cert_dir / "apiserver-kubelet-client.key"

    @property
    def bootstrap_token_file(self) -> Path:
        return self.path / "bootstrap-token"

    @property
    def node_dir(self) -> Path:
        return self.path / "node"

    @property
    def bootstrap_kubeconfig(self) -> Path:
        return self.node_dir / "bootstrap-kubelet.kubeconfig"

    def kubeconfig(self, identity: str) -> Path:
        return self.path / f"{identity}.kubeconfig"

    def token(self, identity: str) -> str:
        user = IDENTITIES[identity][0]
        with open(self.tokens_file, newline="") as handle:
            for row in csv.reader(handle):
                if len(row) >= 2 and row[1] == user:
                    return row[0]
        raise KeyError(f"{self.tokens_file} has no token for {user}")

    @property
    def bootstrap_token(self) -> str:
        return self.bootstrap_token_file.read_text().strip()


def new_bootstrap_token() -> str:
    """kubeadm's format: 6 and 16 characters of [a-z0-9], joined by a dot."""
    pick = lambda n: "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(n))  # noqa: E731
    return f"{pick(6)}.{pick(16)}"


def ensure_config_dir(path: Path, server: str) -> ConfigDir:
    """Tokens, certificates and kubeconfigs under `path`, created only where missing."""
    config = ConfigDir(path)
    config.cert_dir.mkdir(parents=True, exist_ok=True)
    config.node_dir.mkdir(exist_ok=True)
    path.chmod(0o700)
    config.node_dir.chmod(0o755)  # the node volume: nothing secret but the bootstrap token (0600)
    _sync_tokens(config)
    if not (config.ca_file.exists() and config.ca_key_file.exists()):
        pki.write_key_pair(config.ca_file, config.ca_key_file, pki.new_ca("tinykube-ca"))
    if not (config.kubelet_client_cert.exists() and config.kubelet_client_key.exists()):
        ca = pki.load_key_pair(config.ca_file, config.ca_key_file)
        pki.write_key_pair(config.kubelet_client_cert, config.kubelet_client_key,
                           pki.new_client_certificate(*KUBELET_CLIENT, ca))
    if not config.bootstrap_token_file.exists():
        _write_private(config.bootstrap_token_file, new_bootstrap_token() + "\n")
    ca_pem = config.ca_file.read_bytes()
    (config.node_dir / "ca.crt").write_bytes(ca_pem)
    if not config.bootstrap_kubeconfig.exists():
        _write_private(config.bootstrap_kubeconfig, kubeconfig_text(server, config.bootstrap_token, ca_data=ca_pem,
                                                                    user="kubelet-bootstrap"))
    if not config.encryption_config_file.exists():
        _write_private(config.encryption_config_file, encryption_config_text(secrets.token_bytes(32)))
    for identity in IDENTITIES:
        if not config.kubeconfig(identity).exists():
            _write_private(config.kubeconfig(identity), kubeconfig_text(server, config.token(identity),
                                                                        ca_file=config.ca_file))
    (config.node_dir / "node.kubeconfig").unlink(missing_ok=True)  # an older version's shared token
    return config


def _sync_tokens(config: ConfigDir) -> None:
    """One token per identity in tokens.csv: existing ones kept, missing ones made, and
    rows of users no identity has any more dropped (their tokens stop working)."""
    users = {user: groups for user, groups in IDENTITIES.values()}
    rows: list[list[str]] = []
    if config.tokens_file.exists():
        with open(config.tokens_file, newline="") as handle:
            rows = [row for row in csv.reader(handle) if len(row) >= 2]
    kept = [row for row in rows if row[1] in users]
    have = {row[1] for row in kept}
    kept += [[secrets.token_hex(16), user, user, groups] for user, groups in users.items() if user not in have]
    if kept != rows:
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(kept)
        _write_private(config.tokens_file, text.getvalue())


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


def bootstrap_token_secret(token: str, expiration: datetime.datetime | None) -> dict[str, Any]:
    """The Secret that makes `token` valid (kube-system/bootstrap-token-<id>), kubeadm's layout."""
    token_id, token_secret = token.split(".", 1)
    data = {"token-id": token_id, "token-secret": token_secret, "usage-bootstrap-authentication": "true",
            "auth-extra-groups": BOOTSTRAP_GROUP,
            "description": "tinykube: the token nodes join with"}
    if expiration is not None:
        data["expiration"] = expiration.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
            "metadata": {"name": f"bootstrap-token-{token_id}", "namespace": "kube-system"},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


def apply_object(client: httpx.Client, collection: str, name: str, body: dict[str, Any]) -> None:
    """Replace the object `name` of `collection`, creating it if absent."""
    path = f"{collection}/{name}"
    response = client.put(path, json=body)
    if response.status_code == 404:
        response = client.post(collection, json=body)
    if response.status_code >= 400:
        raise RuntimeError(f"writing {path}: {response.status_code} {response.text}")


def upload_bootstrap_token(client: httpx.Client, token: str, ttl: datetime.timedelta | None) -> None:
    """Store (or renew) the token's Secret (`ttl` None: it never expires), and where RBAC
    is served let its group ask for node certificates (kubeadm's `kubeadm:kubelet-bootstrap`)
    nodes read what kube-proxy watches (`tinykube:node-proxier`) and get PersistentVolumes
    (`tinykube:local-path-reclaimer`)."""
    expiration = None if ttl is None else datetime.datetime.now(datetime.timezone.utc) + ttl
    secret = bootstrap_token_secret(token, expiration)
    apply_object(client, "/api/v1/namespaces/kube-system/secrets", secret["metadata"]["name"], secret)
    bindings = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
    if client.get(bindings, params={"limit": 1}).status_code == 404:
        return  # no RBAC in this API server: nothing to bind
    # The kubelet's local-path reclaimer asks whether the PV of a `pvc-*` directory still
    # exists: the Node authorizer answers only for PVs of pods bound to the node.
    apply_object(client, "/apis/rbac.authorization.k8s.io/v1/clusterroles", LOCAL_PATH_RECLAIMER, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": LOCAL_PATH_RECLAIMER},
        "rules": [{"apiGroups": [""], "resources": ["persistentvolumes"], "verbs": ["get"]}]})
    for name, role, group in ((BOOTSTRAP_BINDING, "system:node-bootstrapper", BOOTSTRAP_GROUP),
                              # kube-proxy runs with its node's credential; the Node
                              # authorizer has no opinion on Services and EndpointSlices
                              (NODE_PROXIER_BINDING, "system:node-proxier", "system:nodes"),
                              (LOCAL_PATH_RECLAIMER, LOCAL_PATH_RECLAIMER, "system:nodes")):
        apply_object(client, bindings, name, {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}]})


def admin_client(config: ConfigDir, server: str) -> httpx.Client:
    context = ssl.create_default_context(cafile=config.ca_file)
    return httpx.Client(base_url=server, verify=context, timeout=10.0,
                        headers={"Authorization": f"Bearer {config.token('admin')}"})


def _write_private(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    temporary.chmod(0o600)
    temporary.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tinykube.cluster.bootstrap")
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser("init-config", help="write the tokens, certificates and kubeconfigs that are missing")
    init.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    init.add_argument("--server", required=True, help="the API server URL the components use")
    upload = commands.add_parser("upload-bootstrap-token", help="store the bootstrap token's Secret")
    upload.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    upload.add_argument("--ttl-hours", type=float, default=0, help="0: the token never expires")
    show = commands.add_parser("kubeconfig", help="print a kubeconfig with the CA embedded")
    show.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    show.add_argument("--user", choices=sorted(IDENTITIES), default="admin")
    show.add_argument("--server", required=True, help="the API server URL as seen by its user")
    args = parser.parse_args(argv)
    if args.command == "init-config":
        ensure_config_dir(args.dir, args.server)
        return 0
    config = ConfigDir(args.dir)
    if args.command == "upload-bootstrap-token":
        admin = yaml.safe_load(config.kubeconfig("admin").read_text())
        with admin_client(config, admin["clusters"][0]["cluster"]["server"]) as client:
            upload_bootstrap_token(client, config.bootstrap_token,
                                   datetime.timedelta(hours=args.ttl_hours) if args.ttl_hours else None)
        return 0
    sys.stdout.write(kubeconfig_text(args.server, config.token(args.user), ca_data=config.ca_file.read_bytes()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
