"""Image pull secrets: the registry credentials of a pod, matched to an image.

A pod names Secrets in `spec.imagePullSecrets`. Each is of type
`kubernetes.io/dockerconfigjson` (`.dockerconfigjson`: `{"auths": {registry: entry}}`)
or the older `kubernetes.io/dockercfg` (`.dockercfg`: `{registry: entry}`); an entry
has `username`/`password` or `auth` (base64 of `user:password`). The keyring keeps
every entry; `lookup(image)` answers the entries whose registry matches the image's
(its host, and a path prefix when the key has one), most specific first. Docker
Hub's spellings (`docker.io`, `index.docker.io`, `https://index.docker.io/v1/`,
`registry-1.docker.io`) are one registry, the one of an image without a host.

Kubernetes counterpart: pkg/credentialprovider/keyring.go (BasicDockerKeyring),
pkg/credentialprovider/config.go (DockerConfigJSON), pkg/credentialprovider/secrets/secrets.go
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from kubelet.runtime import AuthConfig
from tinykube.api.core import Secret
from tinykube.image_reference import DOCKER_HUB, HUB_ALIASES, image_registry

DOCKER_CONFIG_JSON = "kubernetes.io/dockerconfigjson"
DOCKER_CFG = "kubernetes.io/dockercfg"


def _key_registry(key: str) -> tuple[str, str]:
    """A keyring key (`registry:5000`, `https://index.docker.io/v1/`, `host/path`) as (host, path)."""
    parsed = urlsplit(key if "://" in key else f"//{key}")
    host = parsed.netloc.lower()
    path = parsed.path.strip("/")
    if host in HUB_ALIASES:
        return DOCKER_HUB, "" if path == "v1" else path
    return host, path


@dataclass(frozen=True)
class Credential:
    registry: str  # the key as written in the secret
    auth: AuthConfig


def _entry_auth(key: str, entry: dict[str, object]) -> AuthConfig | None:
    username, password = str(entry.get("username") or ""), str(entry.get("password") or "")
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            username, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
    if not username and not password:
        return None
    return AuthConfig(username=username, password=password, server_address=key)


def secret_credentials(secret: Secret) -> list[Credential]:
    """The entries of one pull secret; a secret of another type or a malformed one has none."""
    data = secret.data or {}
    try:
        if secret.type == DOCKER_CONFIG_JSON and ".dockerconfigjson" in data:
            entries = json.loads(base64.b64decode(data[".dockerconfigjson"])).get("auths") or {}
        elif secret.type == DOCKER_CFG and ".dockercfg" in data:
            entries = json.loads(base64.b64decode(data[".dockercfg"]))
        else:
            return []
    except (binascii.Error, ValueError, AttributeError):
        return []
    found = []
    for key, entry in entries.items() if isinstance(entries, dict) else ():
        auth = _entry_auth(key, entry) if isinstance(entry, dict) else None
        if auth is not None:
            found.append(Credential(key, auth))
    return found


class Keyring:
    """The credentials of a pod's pull secrets, in the secrets' order."""

    def __init__(self, secrets: list[Secret]) -> None:
        self.credentials = [c for secret in secrets for c in secret_credentials(secret)]

    def lookup(self, image: str) -> list[AuthConfig]:
        host, path = image_registry(image)
        matches: list[tuple[int, int, AuthConfig]] = []
        for order, credential in enumerate(self.credentials):
            key_host, key_path = _key_registry(credential.registry)
            if key_host != host:
                continue
            if key_path and path != key_path and not path.startswith(key_path + "/"):
                continue
            matches.append((-len(key_path), order, credential.auth))
        return [auth for _, _, auth in sorted(matches, key=lambda m: (m[0], m[1]))]
