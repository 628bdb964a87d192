"""CertificateSigningRequests: who asked, what may change through which path, validation.

- create: the server records the requesting user in `spec.username`, `uid`,
  `groups` (whatever the client sent there is replaced) and clears status;
- the main resource changes metadata only (spec is immutable, status is kept);
- `approval` changes `status.conditions` only: the one path that may add or change
  an `Approved`/`Denied` condition;
- `status` changes status (the certificate, a `Failed` condition) but not the
  approval conditions, and a certificate once issued never changes;
- no path removes an Approved, Denied or Failed condition; condition times are
  filled in by the server (`lastUpdateTime`, `lastTransitionTime`).

Validation follows upstream's: the request is a PEM CERTIFICATE REQUEST whose
signature verifies, usages known and unique, a `domain/path` signer (never
`kubernetes.io/legacy-unknown`), `expirationSeconds` >= 600, Approved and Denied
mutually exclusive, `status.certificate` only CERTIFICATE PEM blocks.

Kubernetes counterpart: pkg/registry/certificates/certificates/strategy.go,
pkg/apis/certificates/validation/validation.go
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timezone
from typing import Any

from cryptography import x509

from apiserver.auth import UserInfo
from apiserver.strategy import Obj, Strategy
from tinykube.api.certificates import APPROVED, DENIED, FAILED, LEGACY_UNKNOWN
from tinykube.api.validation import (FieldError, duplicate, forbidden, invalid,
                                     is_dns1123_subdomain, not_supported, required,
                                     validate_object_meta_update)

VALID_USAGES = sorted((
    "signing", "digital signature", "content commitment", "key encipherment", "key agreement",
    "data encipherment", "cert sign", "crl sign", "encipher only", "decipher only", "any",
    "server auth", "client auth", "code signing", "email protection", "s/mime",
    "ipsec end system", "ipsec tunnel", "ipsec user", "timestamping", "ocsp signing",
    "microsoft sgc", "netscape sgc"))
TRUE_ONLY_TYPES = (APPROVED, DENIED, FAILED)
APPROVAL_TYPES = (APPROVED, DENIED)
SIGNER_NAME_FORMAT = "must be a fully qualified domain and path of the form 'example.com/signer-name'"
MIN_EXPIRATION_SECONDS = 600


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _b64(value: Any) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def parse_csr(pem: bytes) -> x509.CertificateSigningRequest:
    """A PEM CERTIFICATE REQUEST whose signature verifies; ValueError says why not."""
    if b"-----BEGIN CERTIFICATE REQUEST-----" not in pem:
        raise ValueError("PEM block type must be CERTIFICATE REQUEST")
    try:
        csr = x509.load_pem_x509_csr(pem)
    except ValueError as err:
        raise ValueError(f"x509: malformed certificate request: {err}") from None
    if not csr.is_signature_valid:
        raise ValueError("x509: ECDSA verification failure")
    return csr


def certificate_problem(pem: bytes) -> str | None:
    """Why `status.certificate` is not one or more CERTIFICATE PEM blocks (None: it is)."""
    if not pem:
        return None
    blocks = 0
    for chunk in pem.split(b"-----BEGIN ")[1:]:
        block_type = chunk.split(b"-----", 1)[0].decode(errors="replace")
        if block_type != "CERTIFICATE":
            return f'only CERTIFICATE PEM blocks are allowed, found "{block_type}"'
        try:
            x509.load_pem_x509_certificate(b"-----BEGIN " + chunk)
        except ValueError as err:
            return f"x509: malformed certificate: {err}"
        blocks += 1
    return None if blocks else "must contain at least one CERTIFICATE PEM block"


def validate_signer_name(field: str, name: Any) -> list[FieldError]:
    if not isinstance(name, str) or not name:
        return [required(field)]
    domain, slash, path = name.partition("/")
    if not slash or not path or is_dns1123_subdomain(domain) or "." not in domain:
        return [invalid(field, name, SIGNER_NAME_FORMAT)]
    return []


def _conditions(obj: Obj) -> list[Obj]:
    return [c for c in ((obj.get("status") or {}).get("conditions") or []) if isinstance(c, dict)]


def _of_type(obj: Obj, condition_type: str) -> list[Obj]:
    return [c for c in _conditions(obj) if c.get("type") == condition_type]


def validate_conditions(obj: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, condition in enumerate(_conditions(obj)):
        path, kind, status = f"status.conditions[{i}]", condition.get("type") or "", condition.get("status")
        if not kind:
            errs.append(required(f"{path}.type"))
        allowed = ["True"] if kind in TRUE_ONLY_TYPES else ["False", "True", "Unknown"]
        if not status:
            errs.append(required(f"{path}.status"))
        elif status not in allowed:
            errs.append(not_supported(f"{path}.status", status, allowed))
        if kind in APPROVAL_TYPES and ({APPROVED, DENIED} - {kind}) & seen:
            errs.append(invalid(f"{path}.type", kind, "Approved and Denied conditions are mutually exclusive"))
        if kind in seen:
            errs.append(duplicate(f"{path}.type", kind))
        seen.add(kind)
    return errs


def validate_csr(obj: Obj) -> list[FieldError]:
    """Everything but metadata: upstream's validateCertificateSigningRequest (v1)."""
    spec = obj.get("spec") or {}
    errs: list[FieldError] = []
    pem = _b64(spec.get("request"))
    try:
        parse_csr(pem or b"")
    except ValueError as err:
        errs.append(invalid("spec.request", spec.get("request"), str(err)))
    usages = spec.get("usages") or []
    if not usages:
        errs.append(required("spec.usages"))
    for i, usage in enumerate(usages):
        if usage not in VALID_USAGES:
            errs.append(not_supported(f"spec.usages[{i}]", usage, VALID_USAGES))
        elif usage in usages[:i]:
            errs.append(duplicate(f"spec.usages[{i}]", usage))
    if spec.get("signerName") == LEGACY_UNKNOWN:
        errs.append(invalid("spec.signerName", LEGACY_UNKNOWN,
                            "the legacy signerName is not allowed via this API version"))
    else:
        errs += validate_signer_name("spec.signerName", spec.get("signerName"))
    seconds = spec.get("expirationSeconds")
    if isinstance(seconds, int) and seconds < MIN_EXPIRATION_SECONDS:
        errs.append(invalid("spec.expirationSeconds", seconds,
                            "may not specify a duration less than 600 seconds (10 minutes)"))
    errs += validate_conditions(obj)
    return errs


class CertificateSigningRequestStrategy(Strategy):
    name_validator = staticmethod(lambda name: [])  # upstream: "we don't care what you call" them

    def prepare_for_create_by(self, obj: Obj, user: UserInfo) -> None:
        spec = obj.setdefault("spec", {})
        for key in ("username", "uid", "groups", "extra"):
            spec.pop(key, None)
        spec["username"] = user.name
        if user.uid:
            spec["uid"] = user.uid
        if user.groups:
            spec["groups"] = list(user.groups)

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = super().validate(obj) + validate_csr(obj)
        problem = certificate_problem(_b64((obj.get("status") or {}).get("certificate")) or b"")
        if problem:
            errs.append(invalid("status.certificate", "<certificate data>", problem))
        return errs

    def tracks_generation(self, obj: Obj) -> bool:
        return False

    def prepare_for_subresource_update(self, subresource: str, new: Obj, old: Obj) -> None:
        if subresource == "approval":
            conditions = (new.get("status") or {}).get("conditions")
            self.prepare_for_status_update(new, old)
            new["status"] = {**(old.get("status") or {}), "conditions": conditions}
            if conditions is None:
                new["status"].pop("conditions")
        elif subresource == "status":
            self.prepare_for_status_update(new, old)
        else:
            self.prepare_for_update(new, old)
            new["spec"] = old["spec"]
        _stamp_conditions(new, old)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return self.validate_subresource_update("", new, old)

    def validate_subresource_update(self, subresource: str, new: Obj, old: Obj) -> list[FieldError]:
        errs = validate_object_meta_update(new.get("metadata"), old.get("metadata"))
        errs += validate_csr(new)
        old_certificate = (old.get("status") or {}).get("certificate") or ""
        certificate = (new.get("status") or {}).get("certificate") or ""
        if certificate != old_certificate:
            problem = certificate_problem(_b64(certificate) or b"")
            if problem:
                errs.append(invalid("status.certificate", "<certificate data>", problem))
            if subresource != "status":
                errs.append(forbidden("status.certificate", "updates may not set certificate content"))
            elif old_certificate:
                errs.append(forbidden("status.certificate",
                                      "updates may not modify existing certificate content"))
        for kind in TRUE_ONLY_TYPES:
            before, after = _of_type(old, kind), _of_type(new, kind)
            if len(after) < len(before):
                errs.append(forbidden("status.conditions", f'updates may not remove a condition of type "{kind}"'))
            elif kind in APPROVAL_TYPES and subresource != "approval":
                if len(after) > len(before):
                    errs.append(forbidden("status.conditions", f'updates may not add a condition of type "{kind}"'))
                elif after != before:
                    errs.append(forbidden("status.conditions", f'updates may not modify a condition of type "{kind}"'))
        return errs


def _stamp_conditions(new: Obj, old: Obj) -> None:
    """The server's times on conditions: an unchanged condition keeps the stored one's;
    a new or changed one gets lastUpdateTime now when missing, and lastTransitionTime
    kept from the old condition of that type while its status is unchanged."""
    now = _now()
    times = ("lastUpdateTime", "lastTransitionTime")
    previous = {c.get("type"): c for c in _conditions(old)}
    for condition in _conditions(new):
        before = previous.get(condition.get("type"))
        if before is not None and _without(before, times) == _without(condition, times):
            for key in times:
                if key not in condition and key in before:
                    condition[key] = before[key]
            continue
        condition.setdefault("lastUpdateTime", now)
        if "lastTransitionTime" in condition:
            continue
        if before is not None and before.get("status") == condition.get("status") \
                and before.get("lastTransitionTime"):
            condition["lastTransitionTime"] = before["lastTransitionTime"]
        else:
            condition["lastTransitionTime"] = now


def _without(condition: Obj, keys: tuple[str, ...]) -> Obj:
    return {k: v for k, v in condition.items() if k not in keys}
