"""How `tinykube trace` prints flow records: one line each, relative time first.

A write reads "who did what to which object, and what changed"; a delivery,
indented under the writes, "which component's watch received which event, how
long after the write". Components are named from their user agent
(`tinykube-scheduler` -> `scheduler`, `tinykube-kubelet/node-a` ->
`kubelet/node-a`); a person's client shows as `user (agent)`. Colours, one per
component, only when asked for (a TTY without NO_COLOR).

Kubernetes counterpart: none (tinykube's trace); the printing style follows
staging/src/k8s.io/kubectl/pkg/cmd/get (columns, no decoration when piped)
"""

from __future__ import annotations

from typing import Any

from tinykube.flow.chain import DELIVERY

_RESET = "\033[0m"
_COLOURS = {"controller-manager": "\033[36m", "scheduler": "\033[35m", "kubelet": "\033[32m",
            "kube-proxy": "\033[34m", "apiserver": "\033[90m"}
_PERSON = "\033[33m"  # a user's own client
_OTHER = "\033[94m"


def component_of(record: dict[str, Any]) -> str:
    """A short, stable name for who wrote or watched."""
    agent = str(record.get("userAgent") or "")
    user = str(record.get("user") or "")
    if agent.startswith("tinykube-"):
        return agent.removeprefix("tinykube-")
    if agent == "kube-apiserver":
        return "apiserver"
    if not agent:
        return user or "unknown"
    return f"{user} ({agent.split('/')[0].split(' ')[0]})"


def _colour_of(component: str) -> str:
    base = component.split("/")[0]
    if base in _COLOURS:
        return _COLOURS[base]
    return _PERSON if "(" in component else _OTHER


def _object_ref(obj: dict[str, Any]) -> str:
    kind = str(obj.get("kind") or "object").lower()
    return f"{kind}/{obj.get('name') or '?'}"


class Renderer:
    """Formats records; times are relative to the first record it formats."""

    def __init__(self, colour: bool) -> None:
        self.colour = colour
        self.start_ns: int | None = None

    def _paint(self, component: str, text: str) -> str:
        return f"{_colour_of(component)}{text}{_RESET}" if self.colour else text

    def relative(self, record: dict[str, Any]) -> str:
        when = int(record.get("monotonicNanos") or 0)
        if self.start_ns is None:
            self.start_ns = when
        return f"+{(when - self.start_ns) / 1e9:.3f}s"

    def line(self, record: dict[str, Any]) -> str:
        component = component_of(record)
        obj = record.get("object") or {}
        at = f"{self.relative(record):>9}"
        if record.get("type") == DELIVERY:
            latency = record.get("latencySeconds")
            after = f"  after {latency * 1000:.1f}ms" if isinstance(latency, (int, float)) else ""
            who = self._paint(component, f"{component:<26}")
            return f"{at}     ↳ {who} {str(record.get('event')):<8} {_object_ref(obj)}{after}"
        verb = str(record.get("verb") or "")
        sub = record.get("subresource")
        target = _object_ref(obj) + (f" ({sub})" if sub else "")
        change = str(record.get("change") or "")
        who = self._paint(component, f"{component:<28}")
        text = f"{at}  {who} {verb:<6} {target}"
        text += f"  {change}" if change else ""
        return f"{text}  rv={obj.get('resourceVersion', '?')}"
