"""The StatefulSet controller: ordered pods with stable names, hostnames and claims.

Read `utils` (a pod's identity, storage and claim ownership), then `control` (the
plan: which pod to create, fix or delete next), `status`, and `controller` (the
sync that runs the plan). Revisions live in `controller_manager.history`, shared
with the DaemonSet controller.

Kubernetes counterpart: pkg/controller/statefulset
"""

from controller_manager.statefulset.controller import StatefulSetController

__all__ = ["StatefulSetController"]
