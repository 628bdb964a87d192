"""Kinds tinykube serves and stores but no controller acts on yet.

Kubernetes would do something with each of these objects; tinykube keeps them (so
manifests apply, and later controllers find them) but nothing happens. Rather than
accept them silently, every create and update of such an object is answered with a
warning, the way kube-apiserver warns about deprecated APIs: kubectl and the
tinykube CLI print `Warning: ...` on stderr, client libraries log it. The same list
is in docs/differences-from-kubernetes.md. A kind leaves this table when its
controller lands.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/registry/rest (WarningsOnCreate,
WarningsOnUpdate), staging/src/k8s.io/apiserver/pkg/warning
"""

from __future__ import annotations

from tinykube.api.resources import ResourceInfo

# (group, kind) -> what a user would otherwise wait for in vain.
NOT_ACTED_ON: dict[tuple[str, str], str] = {
    ("apps", "StatefulSet"): "tinykube has no StatefulSet controller yet: "
                             "no pods will be created for this StatefulSet",
    ("", "PersistentVolumeClaim"): "tinykube has no volume binder yet: the claim stays "
                                   "Pending, and pods that use it wait",
}


def not_acted_on_warning(info: ResourceInfo) -> str | None:
    """The warning for a write of this kind, or None when a controller acts on it."""
    return NOT_ACTED_ON.get((info.group, info.kind))
