"""Which transformer an etcd key's value goes through.

`ResourceTransformers.for_key(key)` names the resource of a key and looks its
transformer up as kube-apiserver does (exact `resource.group`, then `*.group`,
then `*.*`). Keys are `/registry/<plural>/...` for built-ins, whose group comes
from the resource index (a built-in plural never holds a dot), and
`/registry/<group>/<plural>/...` for custom resources (a CRD's group always holds
one). Keys of no REST resource (`/registry/ranges/...`, `compact_rev_key`) and
resources no rule names are stored as they are: None. Answers are remembered per
key prefix, so the lookup costs one split and one dict read per value.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/server/options/encryptionconfig/config.go
(transformerFromOverrides), staging/src/k8s.io/apiserver/pkg/server/storage/storage_factory.go
"""

from __future__ import annotations

from collections.abc import Mapping

from apiserver.storage.value.encryption_config import ANY, GroupResource
from apiserver.storage.value.transformer import Transformer
from tinykube.api.resources import INDEX

REGISTRY_PREFIX = "/registry/"


def builtin_groups() -> dict[str, str]:
    """Each built-in resource's plural -> its API group (views of another resource left out)."""
    return {info.plural: info.group for info in INDEX.resources if not info.view_of}


class ResourceTransformers:
    def __init__(self, overrides: Mapping[GroupResource, Transformer],
                 groups: Mapping[str, str] | None = None) -> None:
        self.overrides = dict(overrides)
        self.groups = builtin_groups() if groups is None else dict(groups)
        self._by_segment: dict[str, Transformer | None] = {}

    def for_resource(self, group: str, resource: str) -> Transformer | None:
        return (self.overrides.get((group, resource)) or self.overrides.get((group, "*"))
                or self.overrides.get(ANY))

    def for_key(self, key: str) -> Transformer | None:
        if not key.startswith(REGISTRY_PREFIX):
            return None
        parts = key[len(REGISTRY_PREFIX):].split("/", 2)
        segment = parts[0] if "." not in parts[0] else "/".join(parts[:2])
        if segment in self._by_segment:
            return self._by_segment[segment]
        if "." in parts[0]:  # a custom resource: /registry/<group>/<plural>/
            found = self.for_resource(parts[0], parts[1]) if len(parts) > 1 else None
        else:
            group = self.groups.get(parts[0])
            found = None if group is None else self.for_resource(group, parts[0])
        self._by_segment[segment] = found
        return found
