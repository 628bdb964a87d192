"""tinykube.pki: the CA, serving certificates (CA-signed and self-signed), PEM files."""

from __future__ import annotations

import hashlib
import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from tinykube import pki


def test_ca_is_a_p256_ca_that_only_signs() -> None:
    certificate, key = pki.new_ca("tinykube-ca")
    assert isinstance(key.curve, ec.SECP256R1)
    assert certificate.subject == certificate.issuer
    assert certificate.subject.rfc4514_string() == "CN=tinykube-ca"
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and not usage.key_encipherment
    certificate.verify_directly_issued_by(certificate)


def test_serving_certificate_signed_by_the_ca_names_ips_and_dns_names() -> None:
    ca = pki.new_ca()
    certificate, key = pki.new_serving_certificate("kube-apiserver", ["10.96.0.1", "kubernetes", "::1"],
                                                   days=825, ca=ca)
    certificate.verify_directly_issued_by(ca[0])
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["kubernetes"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.96.0.1"),
                                                         ipaddress.ip_address("::1")]
    usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert 825 <= lifetime.days <= 826
    assert pki.certificate_sans(certificate) == {"10.96.0.1", "kubernetes", "::1"}
    assert pki.covers(certificate, ["kubernetes", "10.96.0.1"])
    assert not pki.covers(certificate, ["kubernetes", "apiserver"])
    assert isinstance(key, ec.EllipticCurvePrivateKey)


def test_self_signed_without_hosts_has_no_san() -> None:
    cert_pem, key_pem = pki.self_signed("tinykube-ingress-fake-certificate")
    certificate = x509.load_pem_x509_certificate(cert_pem)
    certificate.verify_directly_issued_by(certificate)
    assert pki.certificate_sans(certificate) == set()
    assert b"BEGIN PRIVATE KEY" in key_pem  # PKCS#8
    with_hosts = x509.load_pem_x509_certificate(pki.self_signed("a.example", ("a.example",))[0])
    assert pki.certificate_sans(with_hosts) == {"a.example"}


def test_key_pairs_round_trip_through_files_and_load_into_ssl(tmp_path: Path) -> None:
    cert_path, key_path = tmp_path / "ca.crt", tmp_path / "ca.key"
    pair = pki.new_ca()
    pki.write_key_pair(cert_path, key_path, pair)
    assert key_path.stat().st_mode & 0o777 == 0o600
    loaded_cert, loaded_key = pki.load_key_pair(cert_path, key_path)
    assert loaded_cert == pair[0]
    assert loaded_key.private_numbers() == pair[1].private_numbers()
    ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert_path, key_path)


def test_load_key_pair_refuses_a_key_of_another_type(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    other = ed25519.Ed25519PrivateKey.generate()
    (tmp_path / "k").write_bytes(other.private_bytes(serialization.Encoding.PEM,
                                                     serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))
    (tmp_path / "c").write_bytes(pki.certificate_pem(pki.new_ca()[0]))
    with pytest.raises(ValueError, match="not an ECDSA"):
        pki.load_key_pair(tmp_path / "c", tmp_path / "k")


def test_ensure_self_signed_files_makes_once_and_reuses(tmp_path: Path) -> None:
    cert_path, key_path = tmp_path / "pki" / "kubelet.crt", tmp_path / "pki" / "kubelet.key"
    made = pki.ensure_self_signed_files(cert_path, key_path, "node-a@1", ["node-a", "localhost", "10.0.0.5"])
    assert made == (cert_path, key_path)
    first = cert_path.read_bytes()
    assert pki.certificate_sans(pki.load_certificate(cert_path)) == {"node-a", "localhost", "10.0.0.5"}
    pki.ensure_self_signed_files(cert_path, key_path, "node-a@2", ["elsewhere"])
    assert cert_path.read_bytes() == first


def test_ca_cert_hash_is_the_sha256_of_the_public_key_info() -> None:
    certificate, key = pki.new_ca("test-ca")
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    assert pki.ca_cert_hash(pki.certificate_pem(certificate)) == "sha256:" + hashlib.sha256(spki).hexdigest()
