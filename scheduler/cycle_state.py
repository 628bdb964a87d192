"""CycleState: the scratch space of one pod's scheduling and binding cycle.

Created when a pod is popped and dropped when its binding cycle ends. Plugins key
their data by their own name (usually "PreFilter<Plugin>"): a PreFilter computes
something about the pod once, Filter and Score read it for every node, Reserve
records what it reserved so Unreserve and PreBind find it. The framework itself
records which plugins' Filter to skip (their PreFilter returned Skip).

- One CycleState per pod attempt; never shared between pods.
- Reads of a key nobody wrote return None; the reader decides whether that is an error.

Kubernetes counterpart: pkg/scheduler/framework/cycle_state.go
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CycleState:
    """Per-cycle data by key, plus the Filter plugins PreFilter asked to skip."""

    data: dict[str, Any] = field(default_factory=dict)
    skip_filter_plugins: set[str] = field(default_factory=set)

    def read(self, key: str) -> Any:
        return self.data.get(key)

    def write(self, key: str, value: Any) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)
