"""Namespaces: Active on create, Terminating on delete.

A namespace carries the `kubernetes` finalizer in spec.finalizers. Deleting it
only marks it Terminating; the namespace controller empties it and clears the
finalizer through the `finalize` subresource, and then it is removed. Nothing new
may be created in a Terminating namespace.

Kubernetes counterpart: pkg/registry/core/namespace/strategy.go
"""

from __future__ import annotations

from apiserver.strategy import Obj, Strategy
from tinykube.api.validation import is_dns1123_label

FINALIZER_KUBERNETES = "kubernetes"


class NamespaceStrategy(Strategy):
    name_validator = staticmethod(is_dns1123_label)

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        spec = obj.setdefault("spec", {})
        finalizers = spec.setdefault("finalizers", [])
        if FINALIZER_KUBERNETES not in finalizers:
            finalizers.append(FINALIZER_KUBERNETES)
        obj["status"] = {"phase": "Active"}
        labels = obj["metadata"].setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = obj["metadata"].get("name", "")

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        # spec.finalizers changes only through the finalize subresource.
        if "spec" in old:
            new["spec"] = old["spec"]
        labels = new["metadata"].setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = old["metadata"]["name"]

    def prepare_for_finalize(self, new: Obj, old: Obj) -> None:
        finalizers = (new.get("spec") or {}).get("finalizers") or []
        new.clear()
        new.update({**old, "spec": {**(old.get("spec") or {}), "finalizers": finalizers}})

    def prepare_for_delete(self, obj: Obj) -> None:
        obj["status"] = {**(obj.get("status") or {}), "phase": "Terminating"}

    def tracks_generation(self, obj: Obj) -> bool:
        return False
