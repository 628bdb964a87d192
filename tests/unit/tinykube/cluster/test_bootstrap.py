"""A control plane's config directory: made once, never changed, and a node directory with only
what a node needs."""

from __future__ import annotations

import base64
import datetime
from pathlib import Path

import yaml

from apiserver.auth_bootstrap_token import parse_token, token_user
from tinykube import pki
from tinykube.cluster.bootstrap import IDENTITIES, bootstrap_token_secret, ensure_config_dir, kubeconfig_text


def test_config_dir_is_made_once_and_kept(tmp_path: Path) -> None:
    config = ensure_config_dir(tmp_path / "etc", "https://apiserver:6443")
    tokens = {identity: config.token(identity) for identity in IDENTITIES}
    assert len(set(tokens.values())) == len(IDENTITIES)  # one token per identity
    assert (config.tokens_file.stat().st_mode & 0o777) == 0o600
    admin = yaml.safe_load(config.kubeconfig("admin").read_text())
    assert admin["clusters"][0]["cluster"] == {"server": "https://apiserver:6443",
                                               "certificate-authority": str(config.ca_file)}
    ca_pem, token = config.ca_file.read_bytes(), config.bootstrap_token

    again = ensure_config_dir(tmp_path / "etc", "https://elsewhere:6443")
    assert {identity: again.token(identity) for identity in IDENTITIES} == tokens
    assert again.ca_file.read_bytes() == ca_pem and again.bootstrap_token == token
    assert "https://apiserver:6443" in again.kubeconfig("admin").read_text()


def test_the_node_directory_holds_the_ca_and_a_bootstrap_token_only(tmp_path: Path) -> None:
    config = ensure_config_dir(tmp_path / "etc", "https://apiserver:6443")
    assert sorted(p.name for p in config.node_dir.iterdir()) == [
        "bootstrap-kubelet.kubeconfig", "ca.crt"]
    assert (config.node_dir / "ca.crt").read_bytes() == config.ca_file.read_bytes()
    assert b"PRIVATE KEY" not in b"".join(p.read_bytes() for p in config.node_dir.iterdir())
    bootstrap = yaml.safe_load(config.bootstrap_kubeconfig.read_text())
    assert bootstrap["users"][0]["user"] == {"token": config.bootstrap_token}
    assert base64.b64decode(bootstrap["clusters"][0]["cluster"]["certificate-authority-data"]) == \
        config.ca_file.read_bytes()
    assert parse_token(config.bootstrap_token) is not None


def test_every_component_has_its_own_token_and_an_older_shared_node_token_is_revoked(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    # what an older version wrote: no cloud controller manager, a shared add-on token
    (etc / "tokens.csv").write_text("t-admin,kubernetes-admin,kubernetes-admin,system:masters\n"
                                    "t-node,system:node:bootstrap,system:node:bootstrap,system:nodes\n")
    (etc / "node").mkdir()
    (etc / "node" / "node.kubeconfig").write_text("token: t-node\n")
    config = ensure_config_dir(etc, "https://apiserver:6443")
    assert config.token("admin") == "t-admin"  # kept: existing kubeconfigs stay valid
    assert "t-node" not in config.tokens_file.read_text()
    assert not (config.node_dir / "node.kubeconfig").exists()
    users = {IDENTITIES[identity][0] for identity in IDENTITIES}
    assert {"system:kube-controller-manager", "system:kube-scheduler", "system:cloud-controller-manager"} <= users
    ccm = yaml.safe_load(config.kubeconfig("cloud-controller-manager").read_text())
    assert ccm["users"][0]["user"] == {"token": config.token("cloud-controller-manager")}
    assert len({config.token(identity) for identity in IDENTITIES}) == len(IDENTITIES)


def test_the_api_servers_kubelet_client_certificate_is_kubeadms(tmp_path: Path) -> None:
    config = ensure_config_dir(tmp_path / "etc", "https://apiserver:6443")
    certificate, _ = pki.load_key_pair(config.kubelet_client_cert, config.kubelet_client_key)
    assert pki.user_of(certificate) == ("kube-apiserver-kubelet-client", ["system:masters"])
    assert certificate.issuer == pki.load_certificate(config.ca_file).subject


def test_the_bootstrap_token_secret_authenticates_until_it_expires() -> None:
    now = datetime.datetime(2026, 6, 1, tzinfo=datetime.timezone.utc)
    secret = bootstrap_token_secret("abcdef.0123456789abcdef", now + datetime.timedelta(hours=24))
    user = token_user(secret, "abcdef", "0123456789abcdef", now)
    assert user is not None and "system:bootstrappers:kubeadm:default-node-token" in user.groups
    assert token_user(secret, "abcdef", "0123456789abcdef", now + datetime.timedelta(hours=25)) is None
    forever = bootstrap_token_secret("abcdef.0123456789abcdef", None)
    assert token_user(forever, "abcdef", "0123456789abcdef", now + datetime.timedelta(days=3650)) is not None


def test_embedded_ca_and_a_kubeconfig_without_a_user_token() -> None:
    text = kubeconfig_text("https://10.0.0.1:6443", "", ca_data=b"PEM")
    loaded = yaml.safe_load(text)
    assert base64.b64decode(loaded["clusters"][0]["cluster"]["certificate-authority-data"]) == b"PEM"
    assert loaded["users"][0]["user"] == {}


def test_encryption_config_is_made_once_private_and_loads(tmp_path: Path) -> None:
    from apiserver.storage.value.encryption_config import load_encryption_config
    from apiserver.storage.value.resource_transformers import ResourceTransformers

    config = ensure_config_dir(tmp_path / "etc", "https://apiserver:6443")
    first = config.encryption_config_file.read_text()
    assert config.encryption_config_file.stat().st_mode & 0o777 == 0o600
    assert ensure_config_dir(tmp_path / "etc", "https://apiserver:6443") \
        .encryption_config_file.read_text() == first  # the key survives a restart
    other = ensure_config_dir(tmp_path / "other", "https://apiserver:6443")
    assert other.encryption_config_file.read_text() != first  # a random key per cluster
    secrets = ResourceTransformers(load_encryption_config(config.encryption_config_file)) \
        .for_key("/registry/secrets/default/a")
    assert secrets is not None
    assert secrets.to_storage(b"{}", b"/registry/secrets/default/a").startswith(b"k8s:enc:aesgcm:v1:key1:")
    assert secrets.from_storage(b"{}", b"k")[0] == b"{}"  # Secrets stored before stay readable
