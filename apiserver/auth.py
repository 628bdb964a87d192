"""Authentication: static bearer tokens, and the cluster's TLS certificates.

- Tokens come from a CSV file in kube-apiserver's `--token-auth-file` format:
  `token,user,uid,"group1,group2"`. A request over HTTPS without a valid token is
  401 (kubectl sends tokens only over TLS, so the HTTPS port is where auth lives);
  the plain HTTP port, when enabled, is anonymous and meant for local tests.
- Without `--tls-cert-file`, the server makes a cluster CA and a serving
  certificate on first start (in `--cert-dir`) and reuses them afterwards, so
  kubeconfigs that embed the CA stay valid.

Kubernetes counterpart: staging/src/k8s.io/apiserver/plugin/pkg/authenticator/token/tokenfile,
cmd/kubeadm/app/phases/certs
"""

from __future__ import annotations

import csv
import datetime
import hmac
import ipaddress
import socket
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class UserInfo:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = field(default=())


ANONYMOUS = UserInfo("system:anonymous", "", ("system:unauthenticated",))


class TokenAuthenticator:
    def __init__(self, tokens: dict[str, UserInfo]) -> None:
        self._tokens = tokens

    @classmethod
    def from_file(cls, path: str | Path) -> TokenAuthenticator:
        tokens: dict[str, UserInfo] = {}
        with open(path, newline="") as handle:
            for row in csv.reader(handle):
                if not row or row[0].startswith("#"):
                    continue
                if len(row) < 3:
                    raise ValueError(f"{path}: a token line needs token,user,uid")
                groups = tuple(g for g in (row[3].split(",") if len(row) > 3 else []) if g)
                tokens[row[0].strip()] = UserInfo(row[1].strip(), row[2].strip(),
                                                  groups + ("system:authenticated",))
        return cls(tokens)

    def authenticate(self, authorization: str | None) -> UserInfo | None:
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        presented = authorization[7:].strip()
        for token, user in self._tokens.items():
            if hmac.compare_digest(token.encode(), presented.encode()):
                return user
        return None


@dataclass(frozen=True)
class ServingCertificate:
    cert_file: Path
    key_file: Path
    ca_file: Path


def default_sans() -> list[str]:
    return ["localhost", "127.0.0.1", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local", "10.96.0.1", socket.gethostname()]


def ensure_serving_certificate(cert_dir: str | Path, extra_sans: list[str]) -> ServingCertificate:
    """Create the cluster CA and a serving certificate once; reuse them after."""
    directory = Path(cert_dir)
    directory.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = directory / "ca.crt", directory / "ca.key"
    cert, key = directory / "apiserver.crt", directory / "apiserver.key"
    sans = sorted(set(default_sans() + extra_sans))
    if not (ca_cert.exists() and ca_key.exists()):
        _write_ca(ca_cert, ca_key)
    if not (cert.exists() and key.exists()) or not _covers(cert, sans):
        _write_serving(ca_cert, ca_key, cert, key, sans)
    return ServingCertificate(cert, key, ca_cert)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _write_key(path: Path) -> ec.EllipticCurvePrivateKey:
    private_key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(private_key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    path.chmod(0o600)
    return private_key


def _write_ca(cert_path: Path, key_path: Path) -> None:
    private_key = _write_key(key_path)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tinykube-ca")])
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(private_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(private_key, hashes.SHA256())
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def _san_entries(sans: list[str]) -> list[x509.GeneralName]:
    entries: list[x509.GeneralName] = []
    for san in sans:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(san)))
        except ValueError:
            entries.append(x509.DNSName(san))
    return entries


def _covers(cert_path: Path, sans: list[str]) -> bool:
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    try:
        present = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have = {str(v) for v in present.get_values_for_type(x509.DNSName)} | \
        {str(v) for v in present.get_values_for_type(x509.IPAddress)}
    return set(sans) <= have


def _write_serving(ca_cert_path: Path, ca_key_path: Path, cert_path: Path, key_path: Path,
                   sans: list[str]) -> None:
    ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
    private_key = _write_key(key_path)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_cert.subject).public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(_san_entries(sans)), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
