"""certificates.k8s.io/v1 CertificateSigningRequest: asking the cluster to sign a certificate.

A client (a kubelet bootstrapping, an administrator) posts a PKCS#10 request with
the signer it wants (`spec.signerName`) and the key usages; the API server records
who asked (`spec.username`, `groups`, `uid`); an approver adds an `Approved` or
`Denied` condition through the `approval` subresource; the signer of that name puts
the issued certificate in `status.certificate` through `status`. `request` and
`certificate` are PEM, base64-encoded on the wire (Go's []byte).

Kubernetes counterpart: staging/src/k8s.io/api/certificates/v1/types.go
"""

from __future__ import annotations

import base64

from tinykube.api.meta import Condition, KubeModel, KubeObject

# The signers Kubernetes defines (and tinykube's controller manager signs for).
KUBE_APISERVER_CLIENT = "kubernetes.io/kube-apiserver-client"
KUBE_APISERVER_CLIENT_KUBELET = "kubernetes.io/kube-apiserver-client-kubelet"
KUBELET_SERVING = "kubernetes.io/kubelet-serving"
LEGACY_UNKNOWN = "kubernetes.io/legacy-unknown"

APPROVED, DENIED, FAILED = "Approved", "Denied", "Failed"


class CertificateSigningRequestSpec(KubeModel):
    request: str  # base64 of the PEM CERTIFICATE REQUEST
    signer_name: str
    usages: list[str] | None = None
    expiration_seconds: int | None = None
    username: str | None = None
    uid: str | None = None
    groups: list[str] | None = None
    extra: dict[str, list[str]] | None = None

    @property
    def request_pem(self) -> bytes:
        return base64.b64decode(self.request)


class CertificateSigningRequestCondition(Condition):
    last_update_time: str | None = None


class CertificateSigningRequestStatus(KubeModel):
    conditions: list[CertificateSigningRequestCondition] | None = None
    certificate: str | None = None  # base64 of PEM CERTIFICATE blocks

    @property
    def certificate_pem(self) -> bytes:
        return base64.b64decode(self.certificate or "")


class CertificateSigningRequest(KubeObject):
    api_version: str = "certificates.k8s.io/v1"
    kind: str = "CertificateSigningRequest"
    spec: CertificateSigningRequestSpec
    status: CertificateSigningRequestStatus | None = None

    def has_condition(self, condition_type: str) -> bool:
        return any(c.type == condition_type and c.status == "True"
                   for c in (self.status.conditions if self.status else None) or [])

    @property
    def is_approved(self) -> bool:
        return self.has_condition(APPROVED) and not self.has_condition(DENIED)

    @property
    def is_finished(self) -> bool:
        """Denied, failed or issued: nothing more will happen to it."""
        issued = bool(self.status and self.status.certificate)
        return issued or self.has_condition(DENIED) or self.has_condition(FAILED)
