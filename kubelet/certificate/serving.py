"""The kubelet API's serving certificate, signed by the cluster CA (`--rotate-server-certificates`).

Once its Node is registered, the kubelet asks for a `kubernetes.io/kubelet-serving`
certificate for `CN=system:node:<name>, O=system:nodes` whose SANs are the node's
name and IP (the addresses its Node publishes: the approver checks exactly that),
with its own client credential. Certificate and key go to
`<cert-dir>/kubelet-server-current.pem` (0600) and are reused on restart while
valid and covering the same names. The API server, started with
`--kubelet-certificate-authority`, then verifies the kubelet it dials.

Kubernetes counterpart: pkg/kubelet/certificate/kubelet.go (NewKubeletServerCertificateManager)
"""

from __future__ import annotations

import datetime
import logging
from pathlib import Path

from cryptography import x509

from kubelet.certificate.bootstrap import node_user, write_private
from kubelet.certificate.csr import request_certificate
from tinykube import pki
from tinykube.api.certificates import KUBELET_SERVING
from tinykube.client import RESTClient

log = logging.getLogger(__name__)

SERVING_FILE = "kubelet-server-current.pem"
SERVING_USAGES = ["digital signature", "server auth"]


def reusable(path: Path, sans: list[str], now: datetime.datetime) -> bool:
    try:
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return False
    return (certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc
            and pki.certificate_sans(certificate) == set(sans))


async def serving_certificate(client: RESTClient, cert_dir: Path, node_name: str, sans: list[str]) -> Path:
    """The PEM file (certificate, then key) the kubelet API serves with."""
    path = cert_dir / SERVING_FILE
    if reusable(path, sans, datetime.datetime.now(datetime.timezone.utc)):
        return path
    key = pki.new_private_key()
    request = pki.certificate_request_pem(key, node_user(node_name), ["system:nodes"], sans)
    log.info("requesting a serving certificate node=%s sans=%s", node_name, ",".join(sans))
    certificate = await request_certificate(client, request, KUBELET_SERVING, SERVING_USAGES)
    write_private(path, certificate + pki.private_key_pem(key))
    return path
