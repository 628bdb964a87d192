"""Bootstrap tokens: short-lived tokens, stored as Secrets, that let a new node ask for credentials.

kubeadm's format: a token `abcdef.0123456789abcdef` (a 6-character id, a dot, a
16-character secret, both `[a-z0-9]`) is valid while the Secret
`kube-system/bootstrap-token-<id>` exists with

- `type: bootstrap.kubernetes.io/token`,
- `token-id` and `token-secret` equal to the token's two halves,
- `usage-bootstrap-authentication: "true"`,
- an `expiration` (RFC 3339) in the future, if it has one,
- and is not being deleted.

The user is `system:bootstrap:<id>`, in `system:bootstrappers`, the groups listed in
`auth-extra-groups` (each must start `system:bootstrappers:`) and `system:authenticated`.
The Secrets are read from the API server's own watch cache (`--enable-bootstrap-token-auth`),
never from etcd per request.

Kubernetes counterpart: plugin/pkg/auth/authenticator/token/bootstrap/bootstrap.go,
staging/src/k8s.io/cluster-bootstrap/token/api/types.go
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hmac
import logging
import re
from collections.abc import Callable
from typing import Any

from apiserver.auth import Credentials, UserInfo

log = logging.getLogger(__name__)

SECRET_TYPE = "bootstrap.kubernetes.io/token"
SECRET_PREFIX = "bootstrap-token-"
NAMESPACE = "kube-system"
BOOTSTRAPPERS = "system:bootstrappers"
USER_PREFIX = "system:bootstrap:"
TOKEN_PATTERN = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
EXTRA_GROUP_PATTERN = re.compile(r"^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$")

SecretLookup = Callable[[str, str], dict[str, Any] | None]  # (namespace, name) -> Secret


def parse_token(token: str) -> tuple[str, str] | None:
    """(id, secret) of a bootstrap token, or None if it does not have that shape."""
    match = TOKEN_PATTERN.match(token)
    return (match.group(1), match.group(2)) if match else None


def _data(secret: dict[str, Any], key: str) -> str:
    value = (secret.get("data") or {}).get(key)
    if not isinstance(value, str):
        return ""
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, ValueError):
        return ""


def _parse_time(value: str) -> datetime.datetime | None:
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def token_user(secret: dict[str, Any] | None, token_id: str, token_secret: str,
               now: datetime.datetime) -> UserInfo | None:
    """The user a bootstrap token Secret grants to this token at `now`, or None (and why, logged)."""
    def refuse(reason: str) -> None:
        log.info("bootstrap token refused token_id=%s reason=%s", token_id, reason)

    if secret is None:
        return refuse("no such secret")
    if (secret.get("metadata") or {}).get("deletionTimestamp"):
        return refuse("secret is being deleted")
    if secret.get("type") != SECRET_TYPE:
        return refuse(f"secret has type {secret.get('type')!r}")
    if _data(secret, "token-id") != token_id or not hmac.compare_digest(
            _data(secret, "token-secret").encode(), token_secret.encode()):
        return refuse("token does not match")
    expiration = _data(secret, "expiration")
    if expiration:
        expires = _parse_time(expiration)
        if expires is None or expires <= now:
            return refuse(f"expired or unreadable expiration {expiration!r}")
    if _data(secret, "usage-bootstrap-authentication") != "true":
        return refuse("not marked for authentication")
    extra = [g.strip() for g in _data(secret, "auth-extra-groups").split(",") if g.strip()]
    if any(not EXTRA_GROUP_PATTERN.match(group) for group in extra):
        return refuse(f"invalid auth-extra-groups {extra}")
    groups = [BOOTSTRAPPERS, *(g for g in extra if g != BOOTSTRAPPERS), "system:authenticated"]
    return UserInfo(USER_PREFIX + token_id, "", tuple(groups))


class BootstrapTokenAuthenticator:
    """Bearer tokens of the bootstrap-token shape, checked against their Secret."""

    def __init__(self, lookup: SecretLookup,
                 clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.timezone.utc)) -> None:
        self.lookup, self.clock = lookup, clock

    def authenticate(self, credentials: Credentials) -> UserInfo | None:
        token = credentials.bearer_token
        parsed = parse_token(token) if token else None
        if parsed is None:
            return None
        token_id, token_secret = parsed
        return token_user(self.lookup(NAMESPACE, SECRET_PREFIX + token_id), token_id, token_secret,
                          self.clock())
