"""The HorizontalPodAutoscaler controller: scales a target's /scale by its pods' resource metrics.

Read `metrics` (where the numbers come from), `replica_calculator` (one metric's
proposal), `behavior` (stabilization and rate limits), then `controller`.

Kubernetes counterpart: pkg/controller/podautoscaler
"""

from controller_manager.podautoscaler.controller import HorizontalController

__all__ = ["HorizontalController"]
