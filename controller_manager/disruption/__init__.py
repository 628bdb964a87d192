"""The disruption controller: PodDisruptionBudget status for the eviction subresource.

Read `status` (the budget math as pure functions) first, then `controller` (event
handlers, scale look-ups and `sync_pod_disruption_budget`).

Kubernetes counterpart: pkg/controller/disruption
"""

from __future__ import annotations

from controller_manager.disruption.controller import DisruptionController

__all__ = ["DisruptionController"]
