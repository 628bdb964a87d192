"""Turn one Service's wanted endpoints into slice writes, moving as little as possible.

`reconcile` is pure: given the slices that exist for a Service (those its manager
wrote) and the endpoints wanted, grouped by the ports they serve, it returns which
slices to create, update and delete:

1. A slice whose ports no longer match any wanted group is emptied.
2. In each slice of a wanted group, endpoints still wanted stay where they are (and
   are refreshed if their conditions changed); the others are removed.
3. New endpoints fill the slices with room, fullest first (fewer, fuller slices), and
   then new slices of at most `max_per_slice`.
4. Slices left empty are deleted; one empty "placeholder" slice is kept (or made)
   when the Service has no endpoints at all, so consumers can tell "no endpoints"
   from "not computed yet".

A slice is written only when its endpoints, ports or labels differ, so a sync with
nothing new makes no request.

Kubernetes counterpart: pkg/controller/endpointslice/reconciler.go (reconcileByAddressType),
staging/src/k8s.io/endpointslice/reconciler.go
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tinykube.api.discovery import Endpoint, EndpointPort, EndpointSlice
from tinykube.api.registry import deep_copy

PortsKey = tuple[tuple[str, int, str], ...]


def ports_key(ports: list[EndpointPort] | None) -> PortsKey:
    return tuple(sorted((p.name or "", p.port or 0, p.protocol or "TCP") for p in ports or ()))


def endpoint_key(endpoint: Endpoint) -> tuple[str, ...]:
    """Which pod (or address) an endpoint stands for: its target's uid, else its addresses."""
    uid = endpoint.target_ref.uid if endpoint.target_ref else None
    return (uid,) if uid else tuple(endpoint.addresses)


@dataclass
class WantedGroup:
    ports: list[EndpointPort]
    endpoints: list[Endpoint] = field(default_factory=list)


@dataclass
class SlicePlan:
    create: list[EndpointSlice] = field(default_factory=list)
    update: list[EndpointSlice] = field(default_factory=list)
    delete: list[EndpointSlice] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.create or self.update or self.delete)


def reconcile(existing: list[EndpointSlice], wanted: list[WantedGroup], *, max_per_slice: int,
              new_slice: Callable[[list[EndpointPort] | None], EndpointSlice],
              labels: dict[str, str]) -> SlicePlan:
    """The writes that make `existing` hold exactly the `wanted` endpoints.

    `new_slice(ports)` makes an unsaved slice (metadata, owner, address type) to fill.
    """
    plan = SlicePlan()
    by_ports: dict[PortsKey, WantedGroup] = {ports_key(g.ports): g for g in wanted}
    working: dict[str, tuple[EndpointSlice, bool]] = {}  # name -> (copy, changed)
    slices_of: dict[PortsKey, list[str]] = {}
    for original in sorted(existing, key=lambda s: s.metadata.name or ""):
        copy = deep_copy(original)
        changed = (copy.metadata.labels or {}) != labels
        copy.metadata.labels = dict(labels)
        key = ports_key(copy.ports)
        group = by_ports.get(key)
        if group is None:
            changed = changed or bool(copy.endpoints)
            copy.endpoints = []
        else:
            still = {endpoint_key(e): e for e in group.endpoints}
            kept = [still[endpoint_key(e)] for e in copy.endpoints or () if endpoint_key(e) in still]
            changed = changed or [e.to_dict() for e in kept] != [e.to_dict() for e in copy.endpoints or ()]
            copy.endpoints = kept
            slices_of.setdefault(key, []).append(copy.metadata.name or "")
        working[copy.metadata.name or ""] = (copy, changed)

    for key, group in by_ports.items():
        placed = {endpoint_key(e) for name in slices_of.get(key, ())
                  for e in working[name][0].endpoints or ()}
        pending = [e for e in group.endpoints if endpoint_key(e) not in placed]
        # Fullest slices first: new endpoints go where they make the fewest slices.
        for name in sorted(slices_of.get(key, ()), key=lambda n: -len(working[n][0].endpoints or ())):
            slice_, _ = working[name]
            room = max_per_slice - len(slice_.endpoints or ())
            if room > 0 and pending:
                slice_.endpoints = [*(slice_.endpoints or ()), *pending[:room]]
                pending = pending[room:]
                working[name] = (slice_, True)
        while pending:
            created = new_slice(group.ports)
            created.metadata.labels = dict(labels)
            created.endpoints, pending = pending[:max_per_slice], pending[max_per_slice:]
            plan.create.append(created)

    empties = [name for name, (s, _) in working.items() if not s.endpoints]
    keep_placeholder = not plan.create and all(not s.endpoints for s, _ in working.values())
    for name, (slice_, changed) in working.items():
        if name in empties and not (keep_placeholder and name == empties[0]):
            plan.delete.append(slice_)
        elif name in empties:  # the placeholder: no endpoints, no ports
            if slice_.ports or changed:
                slice_.ports = None
                plan.update.append(slice_)
        elif changed:
            plan.update.append(slice_)
    if keep_placeholder and not empties:
        placeholder = new_slice(None)
        placeholder.metadata.labels = dict(labels)
        placeholder.endpoints = []
        plan.create.append(placeholder)
    return plan
