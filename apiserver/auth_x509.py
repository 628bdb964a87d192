"""Client certificate authentication: the user is the certificate's CN, the groups its O.

The TLS handshake already verified the certificate against `--client-ca-file`
(the listener asks for an optional certificate with that CA, `tinykube.tlspeer`
puts the DER bytes in the request scope); a certificate that does not chain to
the CA never gets this far. What is left is upstream's check that the leaf may be
used for client authentication (an ExtendedKeyUsage without clientAuth is refused;
none at all allows any use, as Go's x509 does) and the mapping to a user:
`CN=system:node:node-1, O=system:nodes` is user `system:node:node-1` in group
`system:nodes` (plus `system:authenticated`). A certificate without a CN is no
answer, so the next authenticator is asked.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/authentication/request/x509/x509.go
(CommonNameUserConversion)
"""

from __future__ import annotations

import datetime
import logging

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from apiserver.auth import Credentials, UserInfo
from tinykube import pki

log = logging.getLogger(__name__)


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
