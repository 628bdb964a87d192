"""A control plane's config directory: made once, never changed, kubeconfigs that work."""

from __future__ import annotations

import base64
from pathlib import Path

import yaml

from tinykube.cluster.bootstrap import IDENTITIES, ensure_config_dir, kubeconfig_text


def test_config_dir_is_made_once_and_kept(tmp_path: Path) -> None:
    config = ensure_config_dir(tmp_path / "etc", "https://apiserver:6443")
    tokens = {identity: config.token(identity) for identity in IDENTITIES}
    assert len(set(tokens.values())) == len(IDENTITIES)  # one token per identity
    assert (config.tokens_file.stat().st_mode & 0o777) == 0o600
    node = yaml.safe_load(config.kubeconfig("node").read_text())
    assert node["clusters"][0]["cluster"] == {"server": "https://apiserver:6443",
                                              "certificate-authority": str(config.ca_file)}
    assert node["users"][0]["user"] == {"token": tokens["node"]}
    api_token = config.kubelet_api_token_file.read_text()

    again = ensure_config_dir(tmp_path / "etc", "https://elsewhere:6443")
    assert {identity: again.token(identity) for identity in IDENTITIES} == tokens
    assert again.kubelet_api_token_file.read_text() == api_token
    assert "https://apiserver:6443" in again.kubeconfig("admin").read_text()


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
