"""Where a DaemonSet's pods belong, and what a daemon pod looks like: pure functions.

- `node_should_run_daemon_pod(node, ds)` answers two questions, as upstream:
  should a new daemon pod be placed on this node (`should_run`: nodeSelector,
  required node affinity and every NoSchedule/NoExecute taint tolerated), and may
  an existing one stay (`should_continue_running`: a NoSchedule taint alone does
  not evict, an untolerated NoExecute taint does).
- Every daemon pod tolerates the taints Kubernetes adds for node conditions
  (`add_or_update_daemon_pod_tolerations`): not-ready and unreachable (NoExecute,
  no tolerationSeconds, so a daemon pod is never evicted for them), the pressure
  taints and unschedulable (NoSchedule), and network-unavailable for hostNetwork pods.
- A pod is pinned to its node by a required node affinity term
  `matchFields metadata.name In [node]`, not by spec.nodeName: the default
  scheduler binds it (upstream since 1.12), so resources and ports are checked.
- A pod is "updated" when its `controller-revision-hash` label is the current
  revision's hash (or its `pod-template-generation` is the template generation).

Kubernetes counterpart: pkg/controller/daemon/util/daemonset_util.go,
pkg/controller/daemon/daemon_controller.go (NodeShouldRunDaemonPod, predicates)
"""

from __future__ import annotations

from controller_manager.history import CONTROLLER_REVISION_HASH_LABEL
from tinykube.api.apps import DaemonSet
from tinykube.api.core import (
    Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod, PodSpec,
    PodTemplateSpec, TaintEffect, Toleration,
)
from tinykube.api.meta import ObjectMeta
from tinykube.api.nodeaffinity import RequiredNodeAffinity, find_matching_untolerated_taint
from tinykube.api.registry import deep_copy

# The label on daemon pods (apps.DaemonSetTemplateGenerationKey), next to the shared
# CONTROLLER_REVISION_HASH_LABEL, and the annotation the API server keeps the
# template generation in (apps/v1 has no spec.templateGeneration).
POD_TEMPLATE_GENERATION_LABEL = "pod-template-generation"
TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"

NODE_NAME_FIELD = "metadata.name"

TAINT_NODE_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_NODE_UNREACHABLE = "node.kubernetes.io/unreachable"
TAINT_NODE_DISK_PRESSURE = "node.kubernetes.io/disk-pressure"
TAINT_NODE_MEMORY_PRESSURE = "node.kubernetes.io/memory-pressure"
TAINT_NODE_PID_PRESSURE = "node.kubernetes.io/pid-pressure"
TAINT_NODE_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
TAINT_NODE_NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable"

_NO_EXECUTE, _NO_SCHEDULE = TaintEffect.NO_EXECUTE.value, TaintEffect.NO_SCHEDULE.value
_DAEMON_TOLERATIONS = (
    (TAINT_NODE_NOT_READY, _NO_EXECUTE), (TAINT_NODE_UNREACHABLE, _NO_EXECUTE),
    (TAINT_NODE_DISK_PRESSURE, _NO_SCHEDULE), (TAINT_NODE_MEMORY_PRESSURE, _NO_SCHEDULE),
    (TAINT_NODE_PID_PRESSURE, _NO_SCHEDULE), (TAINT_NODE_UNSCHEDULABLE, _NO_SCHEDULE),
)


# --- the pod template -----------------------------------------------------------------


def add_or_update_toleration(spec: PodSpec, toleration: Toleration) -> None:
    """Append `toleration` unless an equal one is there (v1helper.AddOrUpdateTolerationInPodSpec)."""
    tolerations = list(spec.tolerations or [])
    if any(t.to_dict() == toleration.to_dict() for t in tolerations):
        return
    spec.tolerations = tolerations + [toleration]


def add_or_update_daemon_pod_tolerations(spec: PodSpec) -> None:
    for key, effect in _DAEMON_TOLERATIONS:
        add_or_update_toleration(spec, Toleration(key=key, operator="Exists", effect=effect))
    if spec.host_network:
        add_or_update_toleration(spec, Toleration(key=TAINT_NODE_NETWORK_UNAVAILABLE, operator="Exists",
                                                  effect=_NO_SCHEDULE))


def template_generation(ds: DaemonSet) -> int | None:
    value = (ds.metadata.annotations or {}).get(TEMPLATE_GENERATION_ANNOTATION)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def create_pod_template(ds: DaemonSet, hash_: str) -> PodTemplateSpec:
    """The template every new daemon pod starts from (util.CreatePodTemplate)."""
    template = deep_copy(ds.spec.template) if ds.spec and ds.spec.template else PodTemplateSpec()
    template.metadata = template.metadata or ObjectMeta()
    template.spec = template.spec or PodSpec(containers=[])
    labels = dict(template.metadata.labels or {})
    generation = template_generation(ds)
    if generation is not None:
        labels[POD_TEMPLATE_GENERATION_LABEL] = str(generation)
    if hash_:
        labels[CONTROLLER_REVISION_HASH_LABEL] = hash_
    template.metadata.labels = labels
    add_or_update_daemon_pod_tolerations(template.spec)
    return template


def replace_daemon_set_pod_node_name_node_affinity(affinity: Affinity | None, node_name: str) -> Affinity:
    """`affinity` with its required node terms replaced by the one term `metadata.name In [node]`.

    The node's labels were already checked against the template's terms; keeping them
    would only let a label change strand the pod unschedulable.
    """
    term = NodeSelectorTerm(match_fields=[
        NodeSelectorRequirement(key=NODE_NAME_FIELD, operator="In", values=[node_name])])
    result = deep_copy(affinity) if affinity is not None else Affinity()
    node_affinity = result.node_affinity or NodeAffinity()
    node_affinity.required_during_scheduling_ignored_during_execution = NodeSelector(node_selector_terms=[term])
    result.node_affinity = node_affinity
    return result


def get_target_node_name(pod: Pod) -> str | None:
    """The node a daemon pod is bound to, or pinned to by its node-name affinity."""
    spec = pod.spec
    if spec is None:
        return None
    if spec.node_name:
        return spec.node_name
    node_affinity = spec.affinity.node_affinity if spec.affinity else None
    required = node_affinity.required_during_scheduling_ignored_during_execution if node_affinity else None
    terms = (required.node_selector_terms if required else None) or []
    if len(terms) != 1:
        return None
    for requirement in terms[0].match_fields or ():
        if requirement.key == NODE_NAME_FIELD and requirement.operator == "In" \
                and len(requirement.values or ()) == 1:
            return (requirement.values or [""])[0]
    return None


def is_pod_updated(pod: Pod, hash_: str, generation: int | None) -> bool:
    labels = pod.metadata.labels or {}
    template_matches = generation is not None and labels.get(POD_TEMPLATE_GENERATION_LABEL) == str(generation)
    return bool(hash_) and labels.get(CONTROLLER_REVISION_HASH_LABEL) == hash_ or template_matches


# --- placement ------------------------------------------------------------------------


def node_should_run_daemon_pod(node: Node, ds: DaemonSet) -> tuple[bool, bool]:
    """(should_run, should_continue_running) for `ds` on `node`."""
    template_spec = ds.spec.template.spec if ds.spec and ds.spec.template else None
    if template_spec is None:
        return False, False
    node_name = node.metadata.name or ""
    if template_spec.node_name and template_spec.node_name != node_name:
        return False, False
    spec = deep_copy(template_spec)
    add_or_update_daemon_pod_tolerations(spec)
    if not RequiredNodeAffinity.from_pod_spec(spec).match(node):
        return False, False
    taints = (node.spec.taints if node.spec else None) or []
    tolerations = spec.tolerations or []
    if find_matching_untolerated_taint(taints, tolerations, (_NO_SCHEDULE, _NO_EXECUTE)) is None:
        return True, True
    # A pod already there may stay unless a NoExecute taint would evict it.
    return False, find_matching_untolerated_taint(taints, tolerations, (_NO_EXECUTE,)) is None
