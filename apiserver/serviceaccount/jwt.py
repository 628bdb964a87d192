"""Compact JWS with RS256: what a ServiceAccount token is on the wire.

A token is `base64url(header).base64url(claims).base64url(signature)`, the
header `{"alg": "RS256", "kid": KEY_ID}`, the signature RSASSA-PKCS1-v1_5 with
SHA-256 over the first two parts. `verify` tries the key named by `kid` first,
then every other key (a key file may hold the keys of a rotation), and answers
the claims only for a valid signature; it checks nothing in the claims (see
`claims.validate`).

The key id is upstream's: base64url of the SHA-256 of the public key's DER
(SubjectPublicKeyInfo), so tokens name the key they were signed with.

Kubernetes counterpart: pkg/serviceaccount/jwt.go (JWTTokenGenerator, keyIDFromPublicKey),
gopkg.in/square/go-jose.v2/jwt
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ALGORITHM = "RS256"
Claims = dict[str, Any]


class InvalidToken(Exception):
    """Not a JWT, not RS256, or no key verifies its signature."""


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken("malformed base64url") from None


def key_id(public_key: rsa.RSAPublicKey) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return b64url_encode(hashlib.sha256(der).digest())


def sign(claims: Claims, private_key: rsa.RSAPrivateKey) -> str:
    header = {"alg": ALGORITHM, "kid": key_id(private_key.public_key())}
    signing_input = ".".join(b64url_encode(json.dumps(part, separators=(",", ":")).encode())
                             for part in (header, claims))
    signature = private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url_encode(signature)}"


def looks_like_jwt(token: str) -> bool:
    """Upstream's cheap pre-check: three dot-separated parts, a JSON header with `alg`."""
    parts = token.split(".")
    if len(parts) != 3:
        return False
    try:
        header = json.loads(b64url_decode(parts[0]))
    except (InvalidToken, ValueError):
        return False
    return isinstance(header, dict) and "alg" in header


def verify(token: str, public_keys: Sequence[rsa.RSAPublicKey]) -> Claims:
    """The claims of a token signed by one of `public_keys`; InvalidToken otherwise."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("a JWT has three parts")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
    except ValueError:
        raise InvalidToken("malformed JSON") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise InvalidToken("header and claims must be JSON objects")
    if header.get("alg") != ALGORITHM:
        raise InvalidToken(f"unsupported algorithm {header.get('alg')!r}")
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    signature = b64url_decode(parts[2])
    kid = header.get("kid")
    ordered = sorted(public_keys, key=lambda k: key_id(k) != kid)  # the named key first
    for public_key in ordered:
        try:
            public_key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            continue
        return claims
    raise InvalidToken("invalid signature")
