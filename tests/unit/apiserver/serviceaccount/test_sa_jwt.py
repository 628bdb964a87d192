"""ServiceAccount JWTs: RS256 signatures, the claims kube-apiserver writes, and what
verification refuses (tampered, other key, expired, not yet valid, wrong issuer or
audience)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from apiserver.serviceaccount import jwt
from apiserver.serviceaccount.claims import ObjectRef, PrivateClaims
from apiserver.serviceaccount.issuer import TokenIssuer
from apiserver.serviceaccount.keys import (
    SigningKeys, ensure_signing_key, load_public_keys, load_signing_keys,
)

ISSUER = "https://kubernetes.default.svc.cluster.local"
ACCOUNT = PrivateClaims("team", ObjectRef("builder", "sa-uid"), pod=ObjectRef("web", "pod-uid"))


class FakeTime:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def issuer_with(key: rsa.RSAPrivateKey, clock: FakeTime, **kwargs: object) -> TokenIssuer:
    return TokenIssuer(SigningKeys(key, (key.public_key(),)), clock=clock, **kwargs)  # type: ignore[arg-type]


def parts(token: str) -> tuple[dict, dict]:
    header, claims, _ = token.split(".")
    return json.loads(jwt.b64url_decode(header)), json.loads(jwt.b64url_decode(claims))


def test_a_token_carries_upstreams_claims_and_verifies(key) -> None:
    clock = FakeTime()
    issuer = issuer_with(key, clock)
    issued = issuer.issue(ACCOUNT, [], 3600)
    header, claims = parts(issued.token)
    assert header == {"alg": "RS256", "kid": jwt.key_id(key.public_key())}
    assert claims["iss"] == ISSUER and claims["aud"] == [ISSUER]
    assert claims["sub"] == "system:serviceaccount:team:builder"
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (1_700_000_000, 1_700_000_000,
                                                             1_700_003_600)
    assert claims["kubernetes.io"] == {"namespace": "team",
                                       "serviceaccount": {"name": "builder", "uid": "sa-uid"},
                                       "pod": {"name": "web", "uid": "pod-uid"}}
    assert issued.expiration_timestamp == 1_700_003_600
    assert issuer.verify(issued.token) == ACCOUNT


def test_a_tampered_claim_or_signature_is_refused(key) -> None:
    issuer = issuer_with(key, FakeTime())
    token = issuer.issue(ACCOUNT, [], 3600).token
    header, claims, signature = token.split(".")
    _, decoded = parts(token)
    decoded["kubernetes.io"]["serviceaccount"]["name"] = "admin"
    forged = ".".join([header, jwt.b64url_encode(json.dumps(decoded).encode()), signature])
    with pytest.raises(jwt.InvalidToken, match="invalid signature"):
        issuer.verify(forged)
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    with pytest.raises(jwt.InvalidToken):
        issuer.verify(f"{header}.{claims}.{flipped}")
    unsigned = jwt.b64url_encode(json.dumps({"alg": "none"}).encode())
    with pytest.raises(jwt.InvalidToken, match="unsupported algorithm"):
        issuer.verify(f"{unsigned}.{claims}.")


def test_a_token_signed_by_another_key_is_refused(key) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = issuer_with(other, FakeTime()).issue(ACCOUNT, [], 3600).token
    with pytest.raises(jwt.InvalidToken, match="invalid signature"):
        issuer_with(key, FakeTime()).verify(token)


def test_expired_and_not_yet_valid_tokens_are_refused(key) -> None:
    clock = FakeTime()
    issuer = issuer_with(key, clock)
    token = issuer.issue(ACCOUNT, [], 600).token
    clock.now += 599
    assert issuer.verify(token) == ACCOUNT
    clock.now += 1
    with pytest.raises(jwt.InvalidToken, match="expired"):
        issuer.verify(token)
    clock.now -= 700  # before nbf
    with pytest.raises(jwt.InvalidToken, match="not valid yet"):
        issuer.verify(token)


def test_wrong_issuer_or_audience_is_refused(key) -> None:
    clock = FakeTime()
    token = issuer_with(key, clock, issuer="https://elsewhere").issue(ACCOUNT, [], 3600).token
    with pytest.raises(jwt.InvalidToken, match="issuer"):
        issuer_with(key, clock).verify(token)
    ours = issuer_with(key, clock, api_audiences=["api"])
    vault = ours.issue(ACCOUNT, ["vault"], 3600).token
    with pytest.raises(jwt.InvalidToken, match="audiences"):
        ours.verify(vault)
    assert ours.verify(ours.issue(ACCOUNT, ["vault", "api"], 3600).token) == ACCOUNT


def test_max_expiration_caps_a_request(key) -> None:
    issuer = issuer_with(key, FakeTime(), max_expiration_seconds=7200)
    assert issuer.capped(86400) == 7200
    assert issuer.capped(3600) == 3600


def test_the_signing_key_is_made_once_and_rotated_keys_still_verify(tmp_path: Path, key) -> None:
    path = ensure_signing_key(tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600
    first = path.read_bytes()
    assert ensure_signing_key(tmp_path).read_bytes() == first  # a restart keeps the key
    old = tmp_path / "old.pub"
    old.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    keys = load_signing_keys("", [str(old)], str(tmp_path))
    assert len(keys.public_keys) == 2
    clock = FakeTime()
    old_token = issuer_with(key, clock).issue(ACCOUNT, [], 3600).token
    assert TokenIssuer(keys, clock=clock).verify(old_token) == ACCOUNT
    assert load_public_keys(path)[0].public_numbers() == keys.private_key.public_key().public_numbers()
