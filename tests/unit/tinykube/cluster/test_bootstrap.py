"""A control plane's config directory: made once, never changed, kubeconfigs that work."""

from __future__ import annotations

import base64
import datetime
import hashlib
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tinykube.cluster.bootstrap import IDENTITIES, ca_cert_hash, ensure_config_dir, kubeconfig_text


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


def test_ca_cert_hash_is_the_sha256_of_the_public_key_info() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    assert ca_cert_hash(pem) == "sha256:" + hashlib.sha256(spki).hexdigest()
