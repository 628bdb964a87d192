"""The API server's ServiceAccount token issuer: sign with one key, verify with all.

`TokenIssuer` carries the flags that shape a token (`--service-account-issuer`,
`--api-audiences`, `--service-account-max-token-expiration`) and the keys.
`issue` signs the claims of one TokenRequest; `verify` turns a bearer token back
into its private claims or raises `InvalidToken`. The clock is injected (seconds
since the epoch) so tests can age tokens.

Kubernetes counterpart: pkg/serviceaccount/jwt.go (JWTTokenGenerator, JWTTokenAuthenticator),
pkg/controlplane/apiserver/options (ServiceAccountIssuer, ServiceAccountMaxExpiration)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from apiserver.serviceaccount import claims, jwt
from apiserver.serviceaccount.keys import SigningKeys

DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"  # kubeadm's default
Seconds = Callable[[], float]


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expiration_timestamp: int  # seconds since the epoch


@dataclass
class TokenIssuer:
    keys: SigningKeys
    issuer: str = DEFAULT_ISSUER
    api_audiences: Sequence[str] = ()  # empty: the issuer is the one audience
    max_expiration_seconds: int = 0  # 0: no cap
    clock: Seconds = field(default=time.time)

    def __post_init__(self) -> None:
        self.api_audiences = tuple(self.api_audiences) or (self.issuer,)

    def capped(self, expiration_seconds: int) -> int:
        """A requested lifetime, lowered to --service-account-max-token-expiration."""
        if self.max_expiration_seconds:
            return min(expiration_seconds, self.max_expiration_seconds)
        return expiration_seconds

    def issue(self, private: claims.PrivateClaims, audiences: Sequence[str],
              expiration_seconds: int) -> IssuedToken:
        now = int(self.clock())
        body = claims.new_claims(self.issuer, audiences or self.api_audiences, private, now=now,
                                 expiration_seconds=expiration_seconds, jti=str(uuid.uuid4()))
        return IssuedToken(jwt.sign(body, self.keys.private_key), body["exp"])

    def verify(self, token: str) -> claims.PrivateClaims:
        body = jwt.verify(token, self.keys.public_keys)
        return claims.validate(body, self.issuer, self.api_audiences, int(self.clock()))
