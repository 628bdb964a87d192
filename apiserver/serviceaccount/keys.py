"""The ServiceAccount signing key and the keys that verify tokens.

- `--service-account-signing-key-file`: the RSA private key tokens are signed with;
- `--service-account-key-file` (may repeat): PEM files of public keys (or private
  keys, whose public half is used) that verify tokens, so a rotated-out key keeps
  its tokens valid until they expire. The signing key always verifies too.

Without a signing key flag the API server makes `sa.key`/`sa.pub` in `--cert-dir`
on first start and reuses them afterwards, as kubeadm's `certs sa` phase does, so
tokens stay valid across restarts and every API server sharing the directory
signs alike.

Kubernetes counterpart: staging/src/k8s.io/client-go/util/keyutil/key.go,
cmd/kubeadm/app/phases/certs/certs.go (CreateServiceAccountKeyAndPublicKeyFiles)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_BITS = 2048
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.S)


@dataclass(frozen=True)
class SigningKeys:
    private_key: rsa.RSAPrivateKey
    public_keys: tuple[rsa.RSAPublicKey, ...]


def ensure_signing_key(cert_dir: str | Path) -> Path:
    """`<cert_dir>/sa.key` (made once, mode 0600) and its public half `sa.pub`."""
    directory = Path(cert_dir)
    directory.mkdir(parents=True, exist_ok=True)
    key_path, pub_path = directory / "sa.key", directory / "sa.pub"
    if not key_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        partial = key_path.with_suffix(".key.tmp")
        with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            out.write(pem)
        os.replace(partial, key_path)  # two API servers starting at once: one key wins whole
    if not pub_path.exists():
        public = load_private_key(key_path).public_key()
        pub_path.write_bytes(public.public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo))
    return key_path


def load_private_key(path: str | Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path}: the service account signing key must be an RSA key")
    return key


def load_public_keys(path: str | Path) -> list[rsa.RSAPublicKey]:
    """Every RSA key of a PEM file: public keys, and the public half of private keys."""
    keys: list[rsa.RSAPublicKey] = []
    for match in _PEM_BLOCK.finditer(Path(path).read_bytes()):
        block, label = match.group(0), match.group(1)
        if b"PRIVATE KEY" in label:
            key = serialization.load_pem_private_key(block, password=None).public_key()
        elif label == b"CERTIFICATE":
            continue
        else:
            key = serialization.load_pem_public_key(block)
        if isinstance(key, rsa.RSAPublicKey):
            keys.append(key)
    if not keys:
        raise ValueError(f"{path}: no RSA keys found")
    return keys


def load_signing_keys(signing_key_file: str, key_files: list[str], cert_dir: str) -> SigningKeys:
    """The keys of the flags; a key made in `cert_dir` when no signing key is given."""
    path = signing_key_file or str(ensure_signing_key(cert_dir))
    private_key = load_private_key(path)
    public = [private_key.public_key()]
    for key_file in key_files:
        public.extend(load_public_keys(key_file))
    return SigningKeys(private_key, tuple(public))
