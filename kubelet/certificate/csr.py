"""Ask the cluster for a certificate: post a CertificateSigningRequest, wait until it is issued.

The kubelet's two certificates come this way (`bootstrap` for the client one,
`serving` for the kubelet API's). The request is created with `generateName:
node-csr-`; then a watch on that one object (by name, from the create's
resourceVersion) waits for `status.certificate`. A `Denied` or `Failed` condition
ends the wait with `CertificateRequestRefused`; no answer before the deadline with
`TimeoutError`. A watch that ends early is re-opened from the last version seen.

Kubernetes counterpart: staging/src/k8s.io/client-go/util/certificate/csr/csr.go
(RequestCertificate, WaitForCertificate)
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time

from tinykube.api.certificates import DENIED, FAILED, CertificateSigningRequest
from tinykube.api.resources import CERTIFICATE_SIGNING_REQUESTS
from tinykube.client import Gone, RESTClient, TransportError

log = logging.getLogger(__name__)

WAIT_SECONDS = 15 * 60.0  # upstream waits up to 15 minutes for an approval
WATCH_SECONDS = 60


class CertificateRequestRefused(Exception):
    """The request was denied or the signer failed it."""


def _refusal(csr: CertificateSigningRequest) -> str | None:
    for condition in (csr.status.conditions if csr.status else None) or []:
        if condition.type in (DENIED, FAILED) and condition.status == "True":
            return f"{condition.type}: {condition.reason or ''} {condition.message or ''}".strip()
    return None


def _issued(name: str, csr: CertificateSigningRequest) -> bytes | None:
    refusal = _refusal(csr)
    if refusal:
        raise CertificateRequestRefused(f"certificate request {name}: {refusal}")
    if csr.status and csr.status.certificate:
        log.info("certificate issued csr=%s", name)
        return csr.status.certificate_pem
    return None


async def request_certificate(client: RESTClient, request_pem: bytes, signer_name: str,
                              usages: list[str], wait_seconds: float = WAIT_SECONDS) -> bytes:
    """The issued certificate (PEM) for `request_pem`."""
    created = await client.create(CERTIFICATE_SIGNING_REQUESTS, {
        "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"generateName": "node-csr-"},
        "spec": {"request": base64.b64encode(request_pem).decode(), "signerName": signer_name,
                 "usages": usages}})
    name = created["metadata"]["name"]
    log.info("certificate requested csr=%s signer=%s", name, signer_name)
    version = created["metadata"]["resourceVersion"]
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        try:
            async for event in client.watch(CERTIFICATE_SIGNING_REQUESTS, field_selector=f"metadata.name={name}",
                                            resource_version=version, timeout_seconds=WATCH_SECONDS):
                if event.type in ("ADDED", "MODIFIED"):
                    csr = CertificateSigningRequest.from_dict(event.object)
                    version = csr.metadata.resource_version or version
                    if (issued := _issued(name, csr)) is not None:
                        return issued
        except Gone:  # too old to watch from: read the object as it is now, then watch on
            csr = CertificateSigningRequest.from_dict(await client.get(CERTIFICATE_SIGNING_REQUESTS, name))
            version = csr.metadata.resource_version or version
            if (issued := _issued(name, csr)) is not None:
                return issued
        except TransportError as err:
            log.info("watching the certificate request failed csr=%s err=%s", name, err)
            await asyncio.sleep(1.0)  # the API server is away: try again shortly
    raise TimeoutError(f"certificate request {name} was not issued within {wait_seconds:g}s")
