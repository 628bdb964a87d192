"""The default plugin set ("profile"): which plugins run, in which order, and the
weight of each score.

Each plugin is listed once (upstream's multiPoint list); the framework runtime
finds the extension points it implements. Filters run in this order and stop at
the first failure for a node, so a node that is both tainted and full is reported
as tainted, as in Kubernetes. Weights are upstream's defaults: TaintToleration 3,
NodeAffinity 2, spreading 2 (PodTopologySpread's weight), NodeResourcesFit 1,
BalancedAllocation 1. VolumeBinding filters by the pod's claims and binds them in
PreBind. DefaultBinder binds.

Kubernetes counterpart: pkg/scheduler/apis/config/v1/default_plugins.go
"""

from __future__ import annotations

from scheduler.plugins.balanced_allocation import BalancedAllocation
from scheduler.plugins.default_binder import BindingClient, DefaultBinder
from scheduler.plugins.least_allocated import LeastAllocated
from scheduler.plugins.node_affinity import NodeAffinity
from scheduler.plugins.node_name import NodeName
from scheduler.plugins.node_ports import NodePorts
from scheduler.plugins.node_resources_fit import NodeResourcesFit
from scheduler.plugins.node_unschedulable import NodeUnschedulable
from scheduler.plugins.selector_spread import SelectorSpread
from scheduler.plugins.taint_toleration import TaintToleration
from scheduler.plugins.volume_binding import VolumeBinding
from scheduler.runtime import Framework, PluginEntry

DEFAULT_SCHEDULER_NAME = "default-scheduler"


def default_profile(client: BindingClient, scheduler_name: str = DEFAULT_SCHEDULER_NAME, *,
                    volume_binding: VolumeBinding | None = None) -> Framework:
    """`volume_binding` reads the scheduler's claim, volume and class caches; without
    it (tests) the plugin sees no claims, so pods with claims are unschedulable."""
    return Framework(scheduler_name, [
        PluginEntry(NodeUnschedulable()),
        PluginEntry(NodeName()),
        PluginEntry(TaintToleration(), weight=3),
        PluginEntry(NodeAffinity(), weight=2),
        PluginEntry(NodePorts()),
        PluginEntry(NodeResourcesFit()),
        PluginEntry(volume_binding or VolumeBinding(client)),  # type: ignore[arg-type]
        PluginEntry(SelectorSpread(), weight=2),
        PluginEntry(LeastAllocated(), weight=1),
        PluginEntry(BalancedAllocation(), weight=1),
        PluginEntry(DefaultBinder(client)),
    ])
