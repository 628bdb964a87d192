"""The `ServiceAccount` admission plugin: every pod runs as an account, with its token.

On pod CREATE (mirror pods aside):

1. an empty `serviceAccountName` becomes `default`;
2. the account must exist, else the pod is refused (403, upstream's message); it
   is read from the watch cache, then from storage for one made a moment ago;
3. unless `automountServiceAccountToken: false` (the pod's setting wins over the
   account's), a projected volume `kube-api-access-XXXXX` is added: a
   serviceAccountToken (3607 s, path `token`), `ca.crt` from the ConfigMap
   `kube-root-ca.crt`, and the pod's `namespace` from the downward API; every
   container and init container that has no mount at
   /var/run/secrets/kubernetes.io/serviceaccount mounts it there read-only.

Kubernetes counterpart: plugin/pkg/admission/serviceaccount/admission.go
"""

from __future__ import annotations

import random
from typing import Any

from apiserver import errors
from apiserver.admission import CREATE, PLUGINS, AdmissionRequest
from apiserver.storage.interface import KeyNotFoundError
from tinykube.api.resources import PODS, SERVICE_ACCOUNTS

Obj = dict[str, Any]

DEFAULT_SERVICE_ACCOUNT = "default"
TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
VOLUME_PREFIX = "kube-api-access-"
ROOT_CA_CONFIG_MAP = "kube-root-ca.crt"
TOKEN_EXPIRATION_SECONDS = 3607  # an hour, plus a few seconds that mark it as admission-made
MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"
# utilrand.String's alphabet: no vowels, no confusable digits.
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def token_volume(name: str) -> Obj:
    return {"name": name, "projected": {"defaultMode": 0o644, "sources": [
        {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION_SECONDS, "path": "token"}},
        {"configMap": {"name": ROOT_CA_CONFIG_MAP, "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
            "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
    ]}}


def should_automount(account: Obj, pod_spec: Obj) -> bool:
    if pod_spec.get("automountServiceAccountToken") is not None:
        return bool(pod_spec["automountServiceAccountToken"])
    if account.get("automountServiceAccountToken") is not None:
        return bool(account["automountServiceAccountToken"])
    return True


def mount_service_account_token(spec: Obj, suffix: str) -> None:
    """Add the token volume (once) and mount it in every container lacking the path."""
    volumes = spec.get("volumes") or []
    existing = next((v["name"] for v in volumes if v.get("name", "").startswith(VOLUME_PREFIX)), None)
    name = existing or VOLUME_PREFIX + suffix
    needs_volume = False
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or []:
            mounts = container.get("volumeMounts") or []
            if any(m.get("mountPath") == TOKEN_MOUNT_PATH for m in mounts):
                continue  # a mount of the user's own at the path wins
            container["volumeMounts"] = [*mounts, {"name": name, "readOnly": True,
                                                   "mountPath": TOKEN_MOUNT_PATH}]
            needs_volume = True
    if needs_volume and existing is None:
        spec["volumes"] = [*volumes, token_volume(name)]


class ServiceAccountPlugin:
    name = "ServiceAccount"

    def __init__(self, server: Any, rng: random.Random | None = None) -> None:
        self.server = server
        self.rng = rng or random.Random()

    def handles(self, request: AdmissionRequest) -> bool:
        return (request.info == PODS and request.operation == CREATE and not request.subresource
                and request.obj is not None)

    async def admit(self, request: AdmissionRequest) -> None:
        pod = request.obj or {}
        if MIRROR_POD_ANNOTATION in ((pod.get("metadata") or {}).get("annotations") or {}):
            return  # the kubelet's static pods get no API credentials
        spec = pod.setdefault("spec", {})
        if not spec.get("serviceAccountName"):
            spec["serviceAccountName"] = DEFAULT_SERVICE_ACCOUNT
        account = await self._service_account(request, spec["serviceAccountName"])
        if should_automount(account, spec):
            mount_service_account_token(spec, "".join(self.rng.choice(_ALPHABET) for _ in range(5)))

    async def validate(self, request: AdmissionRequest) -> None:
        return None

    async def _service_account(self, request: AdmissionRequest, name: str) -> Obj:
        registry = self.server.registries[SERVICE_ACCOUNTS]
        key = registry.key(request.namespace, name)
        account = registry.cache.cached(key)
        if account is None:
            try:  # made a moment ago, not yet in the cache
                account = await registry.storage.get(key)
            except KeyNotFoundError:
                pod_name = request.name or (request.obj or {}).get("metadata", {}).get("generateName", "")
                raise errors.forbidden(
                    PODS, pod_name, f"error looking up service account {request.namespace}/{name}: "
                    f'serviceaccount "{name}" not found') from None
        return account  # type: ignore[no-any-return]


PLUGINS[ServiceAccountPlugin.name] = ServiceAccountPlugin
