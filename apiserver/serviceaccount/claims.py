"""The claims of a ServiceAccount token, made and checked.

A token names its issuer (`iss`), its audiences (`aud`), its lifetime (`iat`,
`nbf`, `exp`), its subject `system:serviceaccount:NS:NAME` and, under the
private `kubernetes.io` claim, the namespace, the ServiceAccount's name and uid,
and the Pod or Secret it is bound to (name and uid). `validate` checks what the
signature cannot: the issuer is ours, one audience is one we accept, the token is
in its lifetime. Whether the ServiceAccount and bound object still exist is the
authenticator's question (it reads the caches).

Kubernetes counterpart: pkg/serviceaccount/claims.go
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from apiserver.serviceaccount.jwt import Claims, InvalidToken

SUBJECT_PREFIX = "system:serviceaccount:"
PRIVATE_CLAIM = "kubernetes.io"


@dataclass(frozen=True)
class ObjectRef:
    """A named object with its uid: the ServiceAccount, or what a token is bound to."""

    name: str
    uid: str


@dataclass(frozen=True)
class PrivateClaims:
    namespace: str
    service_account: ObjectRef
    pod: ObjectRef | None = None
    secret: ObjectRef | None = None


def subject(namespace: str, name: str) -> str:
    return f"{SUBJECT_PREFIX}{namespace}:{name}"


def new_claims(issuer: str, audiences: Sequence[str], private: PrivateClaims, *, now: int,
               expiration_seconds: int, jti: str) -> Claims:
    kubernetes: dict[str, Any] = {
        "namespace": private.namespace,
        "serviceaccount": {"name": private.service_account.name, "uid": private.service_account.uid},
    }
    for kind, ref in (("pod", private.pod), ("secret", private.secret)):
        if ref is not None:
            kubernetes[kind] = {"name": ref.name, "uid": ref.uid}
    return {
        "aud": list(audiences), "exp": now + expiration_seconds, "iat": now, "iss": issuer,
        "jti": jti, PRIVATE_CLAIM: kubernetes, "nbf": now,
        "sub": subject(private.namespace, private.service_account.name),
    }


def _ref(value: Any) -> ObjectRef | None:
    if not isinstance(value, dict):
        return None
    return ObjectRef(str(value.get("name") or ""), str(value.get("uid") or ""))


def validate(claims: Claims, issuer: str, api_audiences: Sequence[str], now: int) -> PrivateClaims:
    """The private claims of a token we issued, in its lifetime, for one of our audiences."""
    if claims.get("iss") != issuer:
        raise InvalidToken("token issuer is not ours")
    audiences = claims.get("aud")
    if isinstance(audiences, str):
        audiences = [audiences]
    if not isinstance(audiences, list) or not set(audiences) & set(api_audiences):
        raise InvalidToken("token audiences is invalid for the target audiences")
    expires, not_before = claims.get("exp"), claims.get("nbf")
    if not isinstance(expires, int) or now >= expires:
        raise InvalidToken("service account token has expired")
    if isinstance(not_before, int) and now < not_before:
        raise InvalidToken("service account token is not valid yet")
    private = claims.get(PRIVATE_CLAIM)
    if not isinstance(private, dict):
        raise InvalidToken("service account token claims are missing")
    namespace = str(private.get("namespace") or "")
    account = _ref(private.get("serviceaccount"))
    if not namespace or account is None or not account.name:
        raise InvalidToken("service account token does not name its service account")
    if claims.get("sub") != subject(namespace, account.name):
        raise InvalidToken("service account token subject does not match its claims")
    return PrivateClaims(namespace, account, _ref(private.get("pod")), _ref(private.get("secret")))
