"""The flow view's layout: flow records turned into a sequence diagram.

Components are lanes (vertical lines); every record is one arrow on a row of its
own, top to bottom in the order the API server recorded them, except that a
delivery is drawn after its write (tinykube/flow/order.py):

- a write goes from the writer's lane to the API server's ("patch
  deployment/web (scale) replicas 1→2");
- a watch delivery goes from the API server's lane to the watcher's ("MODIFIED
  pod/web-x", with its latency after the write).

Lanes are ordered as the seed tells the story: the user's clients, the API
server, the controller manager, the scheduler, the kubelets, then anyone else;
a lane appears when a component first shows up. `FlowLayout.add(record)` returns
what the browser must draw (a new lane list and/or one arrow); the browser only
turns lane indexes and rows into SVG coordinates.

Noise is left out unless `everything` is asked for: Leases and Events (heartbeats
and their records), node status writes that change nothing the summary shows and
their deliveries, and the dashboard's own watch deliveries (it watches
everything; its writes stay). A `namespace` keeps the objects of that namespace.

Kubernetes counterpart: none (tinykube's flow view); components are named as
`tinykube trace` names them (tinykube/cli/trace_render.py)
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from tinykube.cli.trace_render import component_of
from tinykube.flow.chain import DELIVERY
from tinykube.flow.order import WritesFirst

APISERVER = "apiserver"
DASHBOARD = "dashboard"
NOISY_KINDS = frozenset({"Lease", "Event"})
# How many dropped writes are remembered, so their deliveries are dropped too.
DROPPED_MEMORY = 4096
HOLD_SECONDS = 1.0  # how long a delivery waits for its write to be drawn first
_RANKS = {APISERVER: 1, "controller-manager": 2, "scheduler": 3, "kubelet": 4, "kube-proxy": 5}


def lane_rank(component: str) -> int:
    """Where a lane goes, left to right: people's clients (0) before the API server."""
    base = component.split("/")[0]
    if base in _RANKS:
        return _RANKS[base]
    if "(" in component:  # a user's client: "admin (tinykube)"
        return 0
    return 6


def _ref(obj: dict[str, Any]) -> str:
    return f"{str(obj.get('kind') or 'object').lower()}/{obj.get('name') or '?'}"


def write_label(record: dict[str, Any]) -> str:
    obj = record.get("object") or {}
    sub = record.get("subresource")
    label = f"{record.get('verb') or ''} {_ref(obj)}" + (f" ({sub})" if sub else "")
    change = record.get("change")
    return f"{label} {change}" if change else label


def delivery_label(record: dict[str, Any]) -> str:
    label = f"{record.get('event') or ''} {_ref(record.get('object') or {})}"
    latency = record.get("latencySeconds")
    if isinstance(latency, (int, float)):
        label += f" +{latency * 1000:.1f}ms"
    return label


@dataclass
class FlowLayout:
    namespace: str = ""
    everything: bool = False
    lanes: list[str] = field(default_factory=lambda: [APISERVER])
    rows: int = 0
    start_ns: int | None = None
    _dropped: deque[str] = field(default_factory=lambda: deque(maxlen=DROPPED_MEMORY))
    hold_seconds: float = HOLD_SECONDS
    order: WritesFirst = field(init=False)

    def __post_init__(self) -> None:
        self.order = WritesFirst(self.hold_seconds)

    def shown(self, record: dict[str, Any], component: str) -> bool:
        obj = record.get("object") or {}
        delivery = record.get("type") == DELIVERY
        if self.namespace and obj.get("namespace") != self.namespace:
            return False
        if self.everything:
            return True
        if obj.get("kind") in NOISY_KINDS or (delivery and component == DASHBOARD):
            return False
        version = str(obj.get("resourceVersion") or "")
        if delivery:
            return version not in self._dropped
        if obj.get("kind") == "Node" and not record.get("change"):
            self._dropped.append(version)
            return False
        return True

    def _lane(self, component: str) -> tuple[int, bool]:
        if component in self.lanes:
            return self.lanes.index(component), False
        rank = lane_rank(component)
        at = next((i for i, lane in enumerate(self.lanes) if lane_rank(lane) > rank), len(self.lanes))
        self.lanes.insert(at, component)
        return at, True

    def add(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """What to draw for one record, in order: maybe `{"type": "lanes"}`, then
        `{"type": "arrow"}` with lane names, its row and its text; nothing when
        the record is left out. A delivery is drawn after its write (WritesFirst)."""
        return [item for shown in self.order.push(record) for item in self._draw(shown)]

    def flush(self) -> list[dict[str, Any]]:
        """What to draw for held deliveries whose wait is over (on a quiet stream)."""
        return [item for shown in self.order.due() for item in self._draw(shown)]

    def _draw(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        component = component_of(record)
        if component == APISERVER and record.get("type") == DELIVERY:
            return []  # a watch the API server holds on itself: no arrow to draw
        if not self.shown(record, component):
            return []
        _, new_lane = self._lane(component)
        out: list[dict[str, Any]] = []
        if new_lane:
            out.append({"type": "lanes", "lanes": list(self.lanes)})
        when = int(record.get("monotonicNanos") or 0)
        if self.start_ns is None:
            self.start_ns = when
        delivery = record.get("type") == DELIVERY
        source, target = (APISERVER, component) if delivery else (component, APISERVER)
        out.append({"type": "arrow", "row": self.rows, "from": source, "to": target,
                    "kind": "delivery" if delivery else "write",
                    "label": delivery_label(record) if delivery else write_label(record),
                    "at": f"+{(when - self.start_ns) / 1e9:.3f}s",
                    "object": (record.get("object") or {}).get("uid") or ""})
        self.rows += 1
        return out
