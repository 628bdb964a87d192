"""The garbage collector: ownerReferences, and deletion that follows them.

Read `graph` first (the dependency graph and the events that feed it), then
`garbagecollector` (the workers that delete, orphan and finish foreground deletion).

Kubernetes counterpart: pkg/controller/garbagecollector
"""

from __future__ import annotations

from controller_manager.garbagecollector.garbagecollector import GarbageCollector
from controller_manager.garbagecollector.graph import GraphBuilder, GraphNode, ObjectReference

__all__ = ["GarbageCollector", "GraphBuilder", "GraphNode", "ObjectReference"]
