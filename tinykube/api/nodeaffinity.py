"""Does a pod's required node affinity admit a node, and which taint does it not tolerate?

Pure functions over the models, shared by every component that places pods
(upstream they live in component-helpers for the scheduler, the kubelet's
admission and the DaemonSet controller alike):
- `RequiredNodeAffinity.from_pod_spec(spec).match(node)`: every nodeSelector pair,
  and at least one required nodeSelectorTerm (terms are ORed; inside a term the
  matchExpressions on labels and matchFields on `metadata.name` are ANDed; an
  empty term matches nothing). A spec without either admits every node.
- `find_matching_untolerated_taint(taints, tolerations, effects)`: the first taint
  with one of `effects` that no toleration tolerates, or None.

Kubernetes counterpart: staging/src/k8s.io/component-helpers/scheduling/corev1/nodeaffinity/nodeaffinity.go,
staging/src/k8s.io/component-helpers/scheduling/corev1/helpers.go
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tinykube.api.core import Node, NodeSelectorRequirement, NodeSelectorTerm, PodSpec, Taint, Toleration


def _int_or_none(text: str | None) -> int | None:
    try:
        return None if text is None else int(text)
    except ValueError:
        return None


def node_selector_requirement_matches(requirement: NodeSelectorRequirement, values: Mapping[str, str]) -> bool:
    """One requirement against a node's labels (or fields): In, NotIn, Exists, DoesNotExist, Gt, Lt."""
    operator, wanted = requirement.operator, requirement.values or []
    present = requirement.key in values
    value = values.get(requirement.key)
    match operator:
        case "In":
            return present and value in wanted
        case "NotIn":
            return not present or value not in wanted
        case "Exists":
            return present
        case "DoesNotExist":
            return not present
        case "Gt" | "Lt" if len(wanted) == 1:
            have, bound = _int_or_none(value), _int_or_none(wanted[0])
            if have is None or bound is None:
                return False
            return have > bound if operator == "Gt" else have < bound
    return False


def node_selector_term_matches(term: NodeSelectorTerm, labels: Mapping[str, str], name: str) -> bool:
    if not term.match_expressions and not term.match_fields:
        return False
    fields = {"metadata.name": name}
    return (all(node_selector_requirement_matches(r, labels) for r in term.match_expressions or ())
            and all(node_selector_requirement_matches(r, fields) for r in term.match_fields or ()))


@dataclass(frozen=True)
class RequiredNodeAffinity:
    """A pod's hard placement constraints: nodeSelector AND (any required term)."""

    node_selector: Mapping[str, str]
    terms: tuple[NodeSelectorTerm, ...]

    @classmethod
    def from_pod_spec(cls, spec: PodSpec) -> RequiredNodeAffinity:
        node_affinity = spec.affinity.node_affinity if spec.affinity else None
        required = node_affinity.required_during_scheduling_ignored_during_execution if node_affinity else None
        return cls(dict(spec.node_selector or {}), tuple((required.node_selector_terms if required else None) or ()))

    @property
    def constrains(self) -> bool:
        """False when the pod admits every node (no nodeSelector, no required terms)."""
        return bool(self.node_selector or self.terms)

    def match(self, node: Node) -> bool:
        return self.matches(node.metadata.labels or {}, node.metadata.name or "")

    def matches(self, labels: Mapping[str, str], name: str) -> bool:
        """`match` for a node known by its labels and name (the scheduler's NodeInfo)."""
        if any(labels.get(key) != value for key, value in self.node_selector.items()):
            return False
        return not self.terms or any(node_selector_term_matches(term, labels, name) for term in self.terms)


def find_matching_untolerated_taint(taints: Iterable[Taint], tolerations: Iterable[Toleration],
                                    effects: tuple[str, ...]) -> Taint | None:
    tolerations = list(tolerations)
    return next((taint for taint in taints if taint.effect in effects
                 and not any(t.tolerates_taint(taint) for t in tolerations)), None)
