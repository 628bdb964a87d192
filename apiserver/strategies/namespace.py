"""Namespaces: Active on create, Terminating on delete.

A namespace carries the `kubernetes` finalizer in spec.finalizers. Deleting it
only marks it Terminating; the namespace controller empties it and clears the
finalizer through the `finalize` subresource (a PUT that may change nothing but
spec.finalizers), and the update that empties them removes the namespace. Nothing
new may be created in a Terminating namespace.

Kubernetes counterpart: pkg/registry/core/namespace/strategy.go
"""

from __future__ import annotations

from apiserver.jsoncopy import deep_copy_json
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

    def prepare_for_subresource_update(self, subresource: str, new: Obj, old: Obj) -> None:
        if subresource == "finalize":
            self.prepare_for_finalize(new, old)
        else:
            super().prepare_for_subresource_update(subresource, new, old)

    def prepare_for_finalize(self, new: Obj, old: Obj) -> None:
        """The finalize subresource changes spec.finalizers and nothing else."""
        finalizers = (new.get("spec") or {}).get("finalizers") or []
        new.clear()
        new.update(deep_copy_json(old))
        new.setdefault("spec", {})["finalizers"] = finalizers

    def prepare_for_delete(self, obj: Obj) -> None:
        obj["status"] = {**(obj.get("status") or {}), "phase": "Terminating"}

    def has_pending_finalizers(self, obj: Obj) -> bool:
        # spec.finalizers (the namespace controller's) hold it as metadata.finalizers do.
        return super().has_pending_finalizers(obj) or bool((obj.get("spec") or {}).get("finalizers"))

    def tracks_generation(self, obj: Obj) -> bool:
        return False
