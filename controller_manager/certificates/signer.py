"""csrsigning: issues the certificates of approved requests for the signers it knows.

The signers are Kubernetes' own, all signed here by one CA
(`--cluster-signing-cert-file` / `--cluster-signing-key-file`, the cluster CA, as
kubeadm sets it up):

- `kubernetes.io/kube-apiserver-client`: any client certificate the API server will
  trust (usages `client auth`, optionally `digital signature`, `key encipherment`);
- `kubernetes.io/kube-apiserver-client-kubelet`: a kubelet's client certificate;
- `kubernetes.io/kubelet-serving`: a kubelet's serving certificate.

A request is signed once it is Approved (and not Denied or Failed) and has no
certificate yet. One the signer cannot honour (usages or subject the signer does not
allow) gets a `Failed` condition, reason `SignerValidationFailure`, and no certificate.
The certificate copies the request's subject and SANs and the requested usages; it
is valid from five minutes ago (clock skew) for `spec.expirationSeconds`, capped by
`--cluster-signing-duration` (default one year) and by the CA's own expiry.

`issue` is the signing itself, a pure function of the request, the CA and the time.
Without the two files the controller does not run, as upstream.

Kubernetes counterpart: pkg/controller/certificates/signer/signer.go,
pkg/controller/certificates/authority/authority.go
"""

from __future__ import annotations

import base64
import datetime
import logging
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

from controller_manager.certificates.requests import (ParsedRequest, kubelet_client_problem,
                                                       kubelet_serving_problem)
from controller_manager.controller_utils import Controller
from tinykube import pki
from tinykube.api.certificates import (FAILED, KUBE_APISERVER_CLIENT, KUBE_APISERVER_CLIENT_KUBELET,
                                       KUBELET_SERVING, CertificateSigningRequest,
                                       CertificateSigningRequestCondition,
                                       CertificateSigningRequestStatus)
from tinykube.api.resources import CERTIFICATE_SIGNING_REQUESTS
from tinykube.client import REAL_CLOCK, Clock, Conflict, EventRecorder, NotFound, RESTClient, SharedInformerFactory

log = logging.getLogger(__name__)

SIGNERS = (KUBE_APISERVER_CLIENT, KUBE_APISERVER_CLIENT_KUBELET, KUBELET_SERVING)
DEFAULT_DURATION_SECONDS = 365 * 24 * 3600
BACKDATE = datetime.timedelta(minutes=5)
_KEY_USAGES = {"digital signature": "digital_signature", "key encipherment": "key_encipherment",
               "content commitment": "content_commitment", "data encipherment": "data_encipherment",
               "key agreement": "key_agreement"}
_EXTENDED_USAGES = {"client auth": ExtendedKeyUsageOID.CLIENT_AUTH,
                    "server auth": ExtendedKeyUsageOID.SERVER_AUTH}
API_CLIENT_USAGES = {"client auth", "digital signature", "key encipherment"}


def signer_problem(csr: CertificateSigningRequest) -> str | None:
    """Why this signer will not issue this request (None: it will)."""
    usages = csr.spec.usages or []
    try:
        request = ParsedRequest.from_pem(csr.spec.request_pem)
    except ValueError as err:
        return f"unable to parse csr: {err}"
    if csr.spec.signer_name == KUBE_APISERVER_CLIENT_KUBELET:
        return kubelet_client_problem(request, usages)
    if csr.spec.signer_name == KUBELET_SERVING:
        return kubelet_serving_problem(request, usages)
    if "client auth" not in usages or not set(usages) <= API_CLIENT_USAGES:
        return f"invalid usage for client certificate: {sorted(set(usages) - API_CLIENT_USAGES) or usages}"
    return None


def issue(csr: CertificateSigningRequest, ca: pki.KeyPair, now: datetime.datetime,
          max_duration_seconds: int = DEFAULT_DURATION_SECONDS) -> bytes:
    """The PEM certificate for an approved, valid request."""
    request = x509.load_pem_x509_csr(csr.spec.request_pem)
    ca_certificate, ca_key = ca
    seconds = min(csr.spec.expiration_seconds or max_duration_seconds, max_duration_seconds)
    not_after = min(now + datetime.timedelta(seconds=seconds), ca_certificate.not_valid_after_utc)
    usages = set(csr.spec.usages or [])
    flags = {name: name in {_KEY_USAGES[u] for u in usages if u in _KEY_USAGES} for name in (
        "digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement")}
    builder = (x509.CertificateBuilder().subject_name(request.subject).issuer_name(ca_certificate.subject)
               .public_key(request.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - BACKDATE).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
    if any(flags.values()):  # as Go's x509: no KeyUsage extension without a bit (TLS peers refuse an empty one)
        builder = builder.add_extension(x509.KeyUsage(key_cert_sign=False, crl_sign=False, encipher_only=False,
                                                      decipher_only=False, **flags), critical=True)
    extended = [_EXTENDED_USAGES[u] for u in sorted(usages) if u in _EXTENDED_USAGES]
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    try:
        sans = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        builder = builder.add_extension(sans, critical=False)
    except x509.ExtensionNotFound:
        pass
    return pki.certificate_pem(builder.sign(ca_key, hashes.SHA256()))


class CSRSigningController(Controller):
    """Guarantees: only Approved requests of its signers are signed, once (the status
    write carries the resourceVersion the decision was made on)."""

    name = "csrsigning"

    def __init__(self, client: RESTClient, factory: SharedInformerFactory, recorder: EventRecorder,
                 *, clock: Clock = REAL_CLOCK, cluster_signing_cert_file: str = "",
                 cluster_signing_key_file: str = "",
                 cluster_signing_duration_seconds: float = DEFAULT_DURATION_SECONDS, **options: Any) -> None:
        super().__init__(client, recorder, self.sync_csr, clock=clock)
        self.ca: pki.KeyPair | None = None
        if cluster_signing_cert_file and cluster_signing_key_file:
            self.ca = pki.load_key_pair(Path(cluster_signing_cert_file), Path(cluster_signing_key_file))
        self.max_duration_seconds = int(cluster_signing_duration_seconds)
        self.csr_informer = factory.informer_for(CERTIFICATE_SIGNING_REQUESTS)
        self.csr_informer.add_event_handler(self.enqueue, lambda old, cur: self.enqueue(cur), None)

    async def run(self, workers: int) -> None:
        if self.ca is None:
            log.info("skipping the CSR signer: no --cluster-signing-cert-file/--cluster-signing-key-file")
            return
        await super().run(workers)

    async def sync_csr(self, key: str) -> None:
        csr: CertificateSigningRequest | None = self.csr_informer.indexer.get(key)
        if csr is None or self.ca is None or csr.spec.signer_name not in SIGNERS:
            return
        if not csr.is_approved or csr.is_finished:
            return
        signed = csr.model_copy(deep=True)
        signed.status = signed.status or CertificateSigningRequestStatus()
        problem = signer_problem(csr)
        if problem:
            log.info("csr failed csr=%s reason=%s", key, problem)
            signed.status.conditions = [*(signed.status.conditions or []), CertificateSigningRequestCondition(
                type=FAILED, status="True", reason="SignerValidationFailure", message=problem)]
        else:
            now = datetime.datetime.fromtimestamp(self.clock.wall(), datetime.timezone.utc)
            signed.status.certificate = base64.b64encode(
                issue(csr, self.ca, now, self.max_duration_seconds)).decode()
            log.info("signed csr csr=%s signer=%s requestor=%s", key, csr.spec.signer_name, csr.spec.username)
        try:
            await self.client.update_status(CERTIFICATE_SIGNING_REQUESTS, signed.to_dict())
        except (Conflict, NotFound):
            pass  # changed or gone since the cache saw it: its next event brings it back
