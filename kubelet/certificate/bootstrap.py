"""TLS bootstrap: a kubelet that holds only a bootstrap token gets a client certificate of its own.

`--bootstrap-kubeconfig` names the API server, its CA and a bootstrap token
(`system:bootstrap:<id>`, group `system:bootstrappers`). When `--kubeconfig` is
missing, or its client certificate has expired, the kubelet

1. makes a private key and a request for `CN=system:node:<name>, O=system:nodes`,
2. posts it as a CertificateSigningRequest for `kubernetes.io/kube-apiserver-client-kubelet`
   with the bootstrap token (the controller manager's csrapproving approves it, csrsigning
   signs it),
3. writes certificate and key to `<cert-dir>/kubelet-client-current.pem` (0600), and
4. writes `--kubeconfig` naming that file, so every later start (and every other
   client of the node) uses the node's own identity. A restart reuses both.

Kubernetes counterpart: pkg/kubelet/certificate/bootstrap/bootstrap.go (LoadClientCert)
"""

from __future__ import annotations

import base64
import datetime
import logging
import os
from pathlib import Path

import yaml
from cryptography import x509

from kubelet.certificate.csr import request_certificate
from tinykube import pki
from tinykube.api.certificates import KUBE_APISERVER_CLIENT_KUBELET
from tinykube.client import ClientConfig, ConfigError, RESTClient, load_kubeconfig

log = logging.getLogger(__name__)

CLIENT_FILE = "kubelet-client-current.pem"
CLIENT_USAGES = ["digital signature", "client auth"]


def node_user(node_name: str) -> str:
    return f"system:node:{node_name}"


def _still_valid(pem: bytes, now: datetime.datetime) -> bool:
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        return False
    return certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc


def kubeconfig_still_valid(path: Path, now: datetime.datetime) -> bool:
    """A kubeconfig that loads, and whose client certificate (if any) has not expired."""
    try:
        config = load_kubeconfig(path)
    except ConfigError:
        return False
    if config.client_cert_data:
        return _still_valid(config.client_cert_data, now)
    if config.client_cert_file:
        try:
            return _still_valid(Path(config.client_cert_file).read_bytes(), now)
        except OSError:
            return False
    return True


def _ca_data(config: ClientConfig) -> bytes | None:
    if config.ca_data:
        return config.ca_data
    return Path(config.ca_file).read_bytes() if config.ca_file else None


def node_kubeconfig(config: ClientConfig, credential_file: Path) -> str:
    """A kubeconfig for `config`'s server and CA, authenticating with the PEM at `credential_file`."""
    cluster: dict[str, object] = {"server": config.server}
    ca = _ca_data(config)
    if ca:
        cluster["certificate-authority-data"] = base64.b64encode(ca).decode()
    elif config.insecure_skip_tls_verify:
        cluster["insecure-skip-tls-verify"] = True
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "default-cluster", "cluster": cluster}],
        "users": [{"name": "default-auth", "user": {"client-certificate": str(credential_file),
                                                    "client-key": str(credential_file)}}],
        "contexts": [{"name": "default-context", "context": {"cluster": "default-cluster",
                                                            "user": "default-auth"}}],
        "current-context": "default-context"}, sort_keys=False)


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read, atomically (rename over the old one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    partial.replace(path)


async def load_client_certificate(kubeconfig: Path, bootstrap_kubeconfig: Path, cert_dir: Path,
                                  node_name: str) -> None:
    """Make sure `kubeconfig` holds a valid node credential, bootstrapping one if needed."""
    now = datetime.datetime.now(datetime.timezone.utc)
    if kubeconfig_still_valid(kubeconfig, now):
        log.info("kubeconfig is valid, skipping TLS bootstrap kubeconfig=%s", kubeconfig)
        return
    bootstrap = load_kubeconfig(bootstrap_kubeconfig)
    credential = cert_dir / CLIENT_FILE
    if not (credential.exists() and _still_valid(credential.read_bytes(), now)):
        key = pki.new_private_key()
        request = pki.certificate_request_pem(key, node_user(node_name), ["system:nodes"])
        log.info("requesting a client certificate node=%s server=%s", node_name, bootstrap.server)
        async with RESTClient(bootstrap) as client:
            certificate = await request_certificate(client, request, KUBE_APISERVER_CLIENT_KUBELET,
                                                    CLIENT_USAGES)
        write_private(credential, certificate + pki.private_key_pem(key))
    write_private(kubeconfig, node_kubeconfig(bootstrap, credential).encode())
    log.info("wrote the node's kubeconfig kubeconfig=%s credential=%s", kubeconfig, credential)
