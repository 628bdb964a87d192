"""Node lifecycle: heartbeats, taints for silent nodes, evictions, orphaned pods.

Read `node_lifecycle_controller` (heartbeats → conditions → taints), then
`taint_eviction` (NoExecute taints → pod deletions after tolerationSeconds), then
`podgc` (pods of deleted nodes). The controller-manager runs them as one
controller named "nodelifecycle".

Kubernetes counterpart: pkg/controller/nodelifecycle, pkg/controller/tainteviction,
pkg/controller/podgc
"""

from __future__ import annotations

from controller_manager.nodelifecycle.node_lifecycle_controller import NodeLifecycleController
from controller_manager.nodelifecycle.podgc import PodGCController
from controller_manager.nodelifecycle.taint_eviction import TaintEvictionController

__all__ = ["NodeLifecycleController", "PodGCController", "TaintEvictionController"]
