"""The Deployment controller: ReplicaSets per pod template, rolled forward by strategy.

Read in this order: `util` (hashes, revisions, fenceposts), `progress` (status and
conditions), `sync` (new ReplicaSet, scaling, cleanup), `rolling`, `recreate`, and
`controller` (event handlers and `sync_deployment`, which picks among them).

Kubernetes counterpart: pkg/controller/deployment
"""

from __future__ import annotations

from controller_manager.deployment.controller import DeploymentController

__all__ = ["DeploymentController"]
