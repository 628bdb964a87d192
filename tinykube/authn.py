"""Who is calling: the user, the credentials a request presents, and client-certificate users.

Shared by every server that authenticates callers (the API server, the kubelet API),
as upstream shares k8s.io/apiserver's authentication packages:

- `UserInfo(name, uid, groups)`; `ANONYMOUS` is who an unrecognised caller is when
  anonymous access is on;
- `Credentials` is what one request presents: its Authorization header and the client
  certificate its TLS connection verified (`tinykube.tlspeer` puts it in the scope);
- `X509Authenticator`: the user is the verified certificate's CN, the groups its O
  (plus `system:authenticated`). The handshake already checked the chain against the
  server's client CA; what is left is upstream's check that the leaf may be used for
  client authentication (an ExtendedKeyUsage without clientAuth is refused, none at
  all allows any use, as Go's x509) and that it is within its validity. A
  certificate without a CN is no answer, so the next authenticator is asked.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/authentication/user/user.go,
staging/src/k8s.io/apiserver/pkg/authentication/request/x509/x509.go (CommonNameUserConversion)
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tinykube import pki

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UserInfo:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = field(default=())
    # e.g. a ServiceAccount token's `authentication.kubernetes.io/pod-name`
    extra: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)


ANONYMOUS = UserInfo("system:anonymous", "", ("system:unauthenticated",))


@dataclass(frozen=True)
class Credentials:
    authorization: str | None = None
    client_certificate: bytes | None = None  # DER, already verified against the client CA

    @classmethod
    def from_scope(cls, scope: Any) -> Credentials:
        """The credentials of an ASGI request or WebSocket scope."""
        authorization = None
        for key, value in scope.get("headers", ()):
            if key == b"authorization":
                authorization = value.decode("latin-1")
                break
        tls = scope.get("extensions", {}).get("tls", {})
        return cls(authorization, tls.get("client_certificate"))

    @property
    def bearer_token(self) -> str | None:
        if not self.authorization or not self.authorization.lower().startswith("bearer "):
            return None
        return self.authorization[7:].strip() or None


def allows_client_auth(certificate: x509.Certificate) -> bool:
    try:
        usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return ExtendedKeyUsageOID.CLIENT_AUTH in usages or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in usages


def certificate_user(certificate: x509.Certificate, now: datetime.datetime | None = None) -> UserInfo | None:
    """The user a verified client certificate names, or None if it may not authenticate."""
    moment = now or datetime.datetime.now(datetime.timezone.utc)
    if not (certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc):
        return None
    if not allows_client_auth(certificate):
        return None
    name, groups = pki.user_of(certificate)
    if not name:
        return None
    return UserInfo(name, "", (*groups, "system:authenticated"))


class X509Authenticator:
    """Authenticates a request by the client certificate its TLS connection verified."""

    def authenticate(self, credentials: Credentials) -> UserInfo | None:
        if not credentials.client_certificate:
            return None
        try:
            certificate = x509.load_der_x509_certificate(credentials.client_certificate)
        except ValueError as err:
            log.info("unreadable client certificate err=%s", err)
            return None
        return certificate_user(certificate)
