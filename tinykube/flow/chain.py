"""Which flow records belong to the causal chain of one object.

A chain starts at a root object (by uid, or by resource/namespace/name until its
first write names its uid) and grows down the owner references the records
carry: a write whose object, or one of whose owners, is already in the chain
adds its object (a Deployment's ReplicaSet, then that ReplicaSet's Pods); a
delivery belongs when the object it delivered does. Records must be offered in
sequence order, which is the order the API server wrote them. Used by the API
server (`?uids=`) and by `tinykube trace`, on the wire dicts.

Kubernetes counterpart: none; the owner walk is that of the garbage collector,
pkg/controller/garbagecollector/graph_builder.go
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

GROUP, VERSION = "flow.tinykube.io", "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
WRITE, DELIVERY = "Write", "Delivery"


@dataclass
class ChainFilter:
    uids: set[str] = field(default_factory=set)
    # (resource, namespace, name) of a root not yet known by uid.
    root: tuple[str, str, str] | None = None

    def matches(self, record: dict[str, Any]) -> bool:
        obj = record.get("object") or {}
        uid = obj.get("uid") or ""
        if record.get("type") == DELIVERY:
            return bool(uid) and uid in self.uids
        if uid in self.uids:
            return True
        if self.root is not None and (obj.get("resource"), obj.get("namespace") or "",
                                      obj.get("name")) == self.root:
            self.uids.add(uid)
            return True
        if any(ref.get("uid") in self.uids for ref in record.get("ownerReferences") or ()):
            self.uids.add(uid)
            return True
        return False
