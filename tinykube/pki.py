"""The cluster's certificates: one place that makes, writes and reads them.

Three users, one key type (ECDSA P-256, SHA-256 signatures):

- the API server makes the cluster CA (`ca.crt`/`ca.key` in `--cert-dir`) and a
  serving certificate signed by it, remade when `--tls-sans` asks for a name it
  does not cover (`new_ca`, `new_serving_certificate(..., ca=...)`, `covers`);
- the kubelet makes a self-signed serving certificate under `--root-dir/pki`
  (`ensure_self_signed_files`);
- the Ingress controller makes a throwaway self-signed "fake certificate"
  (`self_signed`, PEM bytes; tests make their TLS Secrets with it too);
- client certificates: kubeadm-style ones made directly from the CA
  (`new_client_certificate`), and PKCS#10 requests a kubelet sends in a
  CertificateSigningRequest (`certificate_request_pem`); a subject's CN is the
  Kubernetes user name and each O a group (`user_of`).

A SAN that parses as an IP address is an IPAddress entry, anything else a DNSName.
Private keys are written PKCS#8, unencrypted, mode 0600. `ca_cert_hash` is kubeadm's
`--discovery-token-ca-cert-hash` of a CA.

Kubernetes counterpart: staging/src/k8s.io/client-go/util/cert/cert.go,
staging/src/k8s.io/client-go/util/keyutil/key.go, cmd/kubeadm/app/util/pkiutil/pki_helpers.go
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = ec.EllipticCurvePrivateKey
KeyPair = tuple[x509.Certificate, PrivateKey]

CA_DAYS = 3650
SERVING_DAYS = 365
BACKDATE = datetime.timedelta(minutes=5)  # tolerate clocks a little behind ours


def new_private_key() -> PrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, organizations: Iterable[str] = ()) -> x509.Name:
    """O=... then CN=... (a Kubernetes user: CN is the name, each O a group)."""
    return x509.Name([*(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: x509.Name, issuer: x509.Name, key: PrivateKey, days: int) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE).not_valid_after(now + datetime.timedelta(days=days)))


def new_ca(common_name: str = "tinykube-ca", days: int = CA_DAYS) -> KeyPair:
    """A self-signed CA that may sign certificates (and nothing else)."""
    key = new_private_key()
    usage = x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                          content_commitment=False, key_encipherment=False, data_encipherment=False,
                          key_agreement=False, encipher_only=False, decipher_only=False)
    certificate = (_builder(_name(common_name), _name(common_name), key, days)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .add_extension(usage, critical=True)
                   .sign(key, hashes.SHA256()))
    return certificate, key


def san_entries(sans: Iterable[str]) -> list[x509.GeneralName]:
    entries: list[x509.GeneralName] = []
    for san in sans:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(san)))
        except ValueError:
            entries.append(x509.DNSName(san))
    return entries


def new_serving_certificate(common_name: str, sans: Iterable[str], *, days: int = SERVING_DAYS,
                            ca: KeyPair | None = None, client_auth: bool = False) -> KeyPair:
    """A TLS server certificate for `sans`, signed by `ca` (self-signed without one);
    `client_auth` lets it also identify its holder as a client (etcd peers)."""
    key = new_private_key()
    issuer_key = ca[1] if ca else key
    builder = _builder(_name(common_name), ca[0].subject if ca else _name(common_name), key, days)
    entries = san_entries(sans)
    if entries:
        builder = builder.add_extension(x509.SubjectAlternativeName(entries), critical=False)
    usages = [ExtendedKeyUsageOID.SERVER_AUTH] + ([ExtendedKeyUsageOID.CLIENT_AUTH] if client_auth else [])
    certificate = (builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
                   .sign(issuer_key, hashes.SHA256()))
    return certificate, key


def new_client_certificate(common_name: str, organizations: Iterable[str], ca: KeyPair, *,
                           days: int = SERVING_DAYS) -> KeyPair:
    """A TLS client certificate (CN = user, O = groups) signed by `ca`, as kubeadm
    makes `apiserver-kubelet-client.crt`."""
    key = new_private_key()
    certificate = (_builder(_name(common_name, organizations), ca[0].subject, key, days)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                                  critical=False)
                   .sign(ca[1], hashes.SHA256()))
    return certificate, key


def certificate_request_pem(key: PrivateKey, common_name: str, organizations: Iterable[str] = (),
                            sans: Iterable[str] = ()) -> bytes:
    """A PKCS#10 request (PEM) for `key`, as a kubelet sends in a CertificateSigningRequest."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(_name(common_name, organizations))
    entries = san_entries(sans)
    if entries:
        builder = builder.add_extension(x509.SubjectAlternativeName(entries), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def user_of(certificate: x509.Certificate | x509.CertificateSigningRequest) -> tuple[str, list[str]]:
    """(CN, [O, ...]) of a certificate's or request's subject: Kubernetes' user and groups."""
    subject = certificate.subject
    names = subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    groups = [str(a.value) for a in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    return (str(names[0].value) if names else ""), groups


def certificate_sans(certificate: x509.Certificate) -> set[str]:
    """The DNS names and IP addresses a certificate is valid for."""
    try:
        present = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return ({str(v) for v in present.get_values_for_type(x509.DNSName)}
            | {str(v) for v in present.get_values_for_type(x509.IPAddress)})


def covers(certificate: x509.Certificate, sans: Iterable[str]) -> bool:
    return set(sans) <= certificate_sans(certificate)


# --- PEM ----------------------------------------------------------------------------

def certificate_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def private_key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def write_key_pair(cert_path: Path, key_path: Path, pair: KeyPair) -> None:
    """The key first (mode 0600), then the certificate."""
    certificate, key = pair
    key_path.write_bytes(private_key_pem(key))
    key_path.chmod(0o600)
    cert_path.write_bytes(certificate_pem(certificate))


def load_certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def load_private_key(pem: bytes, source: object = "key") -> PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{source}: not an ECDSA private key")
    return key


def load_key_pair(cert_path: Path, key_path: Path) -> KeyPair:
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{key_path}: not an ECDSA private key")
    return load_certificate(cert_path), key


# --- what the components ask for -----------------------------------------------------

def ensure_self_signed_files(cert_path: Path, key_path: Path, common_name: str,
                             sans: Iterable[str], days: int = SERVING_DAYS) -> tuple[Path, Path]:
    """A self-signed serving certificate made once at these paths, reused after."""
    if not (cert_path.exists() and key_path.exists()):
        cert_path.parent.mkdir(parents=True, exist_ok=True)
        write_key_pair(cert_path, key_path, new_serving_certificate(common_name, sans, days=days))
    return cert_path, key_path


def self_signed(common_name: str, hosts: tuple[str, ...] = ()) -> tuple[bytes, bytes]:
    """A throwaway self-signed serving certificate and its key, as PEM bytes."""
    certificate, key = new_serving_certificate(common_name, hosts)
    return certificate_pem(certificate), private_key_pem(key)


def ca_cert_hash(ca_pem: bytes) -> str:
    """kubeadm's `--discovery-token-ca-cert-hash`: sha256 of the CA's public key info."""
    public_key = x509.load_pem_x509_certificate(ca_pem).public_key()
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()
