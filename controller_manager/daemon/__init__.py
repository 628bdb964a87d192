"""The DaemonSet controller: one daemon pod per eligible node, rolled out by revision.

Read `util` (placement and the daemon pod's shape), then `controller` (the sync),
`update` (the RollingUpdate decision), `history` (ControllerRevisions) and `status`.

Kubernetes counterpart: pkg/controller/daemon
"""

from controller_manager.daemon.controller import DaemonSetsController

__all__ = ["DaemonSetsController"]
