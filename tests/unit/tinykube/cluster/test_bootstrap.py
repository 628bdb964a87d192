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
