"""Server-side Table columns for certificates.k8s.io/v1 CertificateSigningRequests.

`kubectl get csr` prints NAME AGE SIGNERNAME REQUESTOR REQUESTEDDURATION CONDITION.
CONDITION is Denied, else Approved, else Pending, then ",Failed" and ",Issued" when
those apply ("Approved,Issued" is a finished request).

Kubernetes counterpart: pkg/printers/internalversion/printers.go
(printCertificateSigningRequest, extractCSRStatus)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from apiserver.table_printers import AGE, NAME, Column, Obj, TablePrinter, age, get_path, human_duration, name_of


def csr_condition(obj: Obj) -> str:
    types = {c.get("type") for c in get_path(obj, "status", "conditions", default=None) or []}
    status = "Denied" if "Denied" in types else "Approved" if "Approved" in types else "Pending"
    if "Failed" in types:
        status += ",Failed"
    if get_path(obj, "status", "certificate"):
        status += ",Issued"
    return status


def print_certificate_signing_request(obj: Obj, now: datetime) -> list[Any]:
    spec = obj.get("spec") or {}
    seconds = spec.get("expirationSeconds")
    return [name_of(obj), age(obj, now), spec.get("signerName") or "<none>", spec.get("username") or "",
            human_duration(seconds) if isinstance(seconds, int) else "<none>", csr_condition(obj)]


CERTIFICATE_PRINTERS = {
    ("certificates.k8s.io", "certificatesigningrequests"): TablePrinter((
        NAME, AGE,
        Column("SignerName", description="Only one signer may be requested per request."),
        Column("Requestor", description="Name of the user who requested the certificate."),
        Column("RequestedDuration", description="The requested duration of the issued certificate."),
        Column("Condition", description="The approval state of the request: Approved, Denied or "
               "Pending, then Failed and Issued."),
    ), print_certificate_signing_request),
}
