"""Authentication: static bearer tokens, and the cluster's TLS certificates.

- A request presents `Credentials` (its Authorization header, and the client
  certificate its TLS connection verified, if any; `UserInfo`, `Credentials` and the
  client-certificate `X509Authenticator` live in `tinykube.authn`, shared with the
  kubelet API). Each authenticator answers a user or None; `UnionAuthenticator` asks them in turn, first answer wins (as
  kube-apiserver's union of token, certificate and service-account authenticators).
- Tokens come from a CSV file in kube-apiserver's `--token-auth-file` format:
  `token,user,uid,"group1,group2"`. A request over HTTPS without a valid token is
  401 (kubectl sends tokens only over TLS, so the HTTPS port is where auth lives);
  the plain HTTP port, when enabled, is anonymous and meant for local tests.
- Without `--tls-cert-file`, the server makes a cluster CA and a serving
  certificate on first start (in `--cert-dir`) and reuses them afterwards, so
  kubeconfigs that embed the CA stay valid.

Kubernetes counterpart: staging/src/k8s.io/apiserver/plugin/pkg/authenticator/token/tokenfile,
cmd/kubeadm/app/phases/certs
"""

from __future__ import annotations

import csv
import hmac
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tinykube import pki
from tinykube.authn import ANONYMOUS, Credentials, UserInfo, X509Authenticator

__all__ = ["ANONYMOUS", "INSECURE_SUPERUSER", "LOOPBACK", "Credentials", "UserInfo", "X509Authenticator", "Authenticator",
           "UnionAuthenticator", "TokenAuthenticator", "ServingCertificate", "ensure_serving_certificate"]


# Who calls on the plain HTTP port (tests only; never authorized): kube-apiserver's old
# insecure port ran as this user, in system:masters, so RBAC's escalation check and
# other admission plugins let its writes through as they let the admin's.
INSECURE_SUPERUSER = UserInfo("system:unsecured", "", ("system:masters", "system:authenticated"))
# Who the API server's own writes are from (kube-apiserver's loopback client identity).
LOOPBACK = UserInfo("system:apiserver", "", ("system:masters", "system:authenticated"))


class Authenticator(Protocol):
    def authenticate(self, credentials: Credentials) -> UserInfo | None: ...


class UnionAuthenticator:
    """Several authenticators; the first that recognises the credentials decides."""

    def __init__(self, authenticators: list[Authenticator]) -> None:
        self.authenticators = authenticators

    def authenticate(self, credentials: Credentials) -> UserInfo | None:
        for authenticator in self.authenticators:
            user = authenticator.authenticate(credentials)
            if user is not None:
                return user
        return None


class TokenAuthenticator:
    def __init__(self, tokens: dict[str, UserInfo]) -> None:
        self._tokens = tokens

    @classmethod
    def from_file(cls, path: str | Path) -> TokenAuthenticator:
        tokens: dict[str, UserInfo] = {}
        with open(path, newline="") as handle:
            for row in csv.reader(handle):
                if not row or row[0].startswith("#"):
                    continue
                if len(row) < 3:
                    raise ValueError(f"{path}: a token line needs token,user,uid")
                groups = tuple(g for g in (row[3].split(",") if len(row) > 3 else []) if g)
                tokens[row[0].strip()] = UserInfo(row[1].strip(), row[2].strip(),
                                                  groups + ("system:authenticated",))
        return cls(tokens)

    def authenticate(self, credentials: Credentials) -> UserInfo | None:
        presented = credentials.bearer_token
        if presented is None:
            return None
        for token, user in self._tokens.items():
            if hmac.compare_digest(token.encode(), presented.encode()):
                return user
        return None


@dataclass(frozen=True)
class ServingCertificate:
    cert_file: Path
    key_file: Path
    ca_file: Path


SERVING_DAYS = 825


def default_sans() -> list[str]:
    return ["localhost", "127.0.0.1", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local", "10.96.0.1", socket.gethostname()]


def ensure_serving_certificate(cert_dir: str | Path, extra_sans: list[str]) -> ServingCertificate:
    """Create the cluster CA and a serving certificate once; reuse them after (the
    serving certificate is remade, by the same CA, when it misses a wanted SAN)."""
    directory = Path(cert_dir)
    directory.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = directory / "ca.crt", directory / "ca.key"
    cert, key = directory / "apiserver.crt", directory / "apiserver.key"
    sans = sorted(set(default_sans() + extra_sans))
    if not (ca_cert.exists() and ca_key.exists()):
        pki.write_key_pair(ca_cert, ca_key, pki.new_ca("tinykube-ca"))
    if not (cert.exists() and key.exists()) or not pki.covers(pki.load_certificate(cert), sans):
        ca = pki.load_key_pair(ca_cert, ca_key)
        pki.write_key_pair(cert, key, pki.new_serving_certificate("kube-apiserver", sans,
                                                                  days=SERVING_DAYS, ca=ca))
    return ServingCertificate(cert, key, ca_cert)
