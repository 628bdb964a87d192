"""The ClusterRole aggregation controller: an aggregated ClusterRole's rules are the
union of the rules of the ClusterRoles its `aggregationRule` selects.

`admin`, `edit` and `view` are aggregated: adding a ClusterRole labelled
`rbac.authorization.k8s.io/aggregate-to-view: "true"` makes `view` (and, since
`view` is labelled aggregate-to-edit, `edit`, then `admin`) grow; removing it or
its label makes them shrink. Any ClusterRole change enqueues every aggregated
ClusterRole; `sync_cluster_role` recomputes one from the cache: the selected roles
in name order, each rule once, written only when it differs (a compare-and-swap
update; a conflict is retried by the worker loop).

Kubernetes counterpart: pkg/controller/clusterroleaggregation/clusterroleaggregation_controller.go
"""

from __future__ import annotations

import logging
from typing import Any

from controller_manager.controller_utils import Controller
from tinykube.api.rbac import ClusterRole, PolicyRule
from tinykube.api.resources import CLUSTER_ROLES
from tinykube.api.selectors import label_selector_from_dict
from tinykube.client import REAL_CLOCK, Clock, EventRecorder, NotFound, RESTClient, \
    SharedInformerFactory

log = logging.getLogger(__name__)


def aggregated_rules(role: ClusterRole, roles: list[ClusterRole]) -> list[PolicyRule]:
    """The rules `role` aggregates from `roles`: each selected role (itself excepted)
    in name order, each distinct rule once, in the order first seen."""
    rules: list[PolicyRule] = []
    selectors = [label_selector_from_dict(s.to_dict())
                 for s in (role.aggregation_rule.cluster_role_selectors or [])] \
        if role.aggregation_rule else []
    for other in sorted(roles, key=lambda r: r.metadata.name or ""):
        if other.metadata.name == role.metadata.name:
            continue
        labels = other.metadata.labels or {}
        if not any(selector.matches(labels) for selector in selectors):
            continue
        for rule in other.rules or []:
            if rule not in rules:
                rules.append(rule)
    return rules


class ClusterRoleAggregationController(Controller):
    """Guarantees: only roles with an aggregationRule are written, and only when
    their rules differ from the union of the selected roles' rules."""

    name = "clusterrole-aggregation"

    def __init__(self, client: RESTClient, factory: SharedInformerFactory,
                 recorder: EventRecorder, *, clock: Clock = REAL_CLOCK, **options: Any) -> None:
        super().__init__(client, recorder, self.sync_cluster_role, clock=clock)
        self.informer = factory.informer_for(CLUSTER_ROLES)
        self.informer.add_event_handler(self.enqueue_aggregated,
                                        lambda old, cur: self.enqueue_aggregated(cur),
                                        self.enqueue_aggregated)

    def enqueue_aggregated(self, changed: Any) -> None:
        for role in self.informer.indexer.list():
            if role.aggregation_rule is not None:
                self.enqueue(role)

    async def sync_cluster_role(self, key: str) -> None:
        role: ClusterRole | None = self.informer.indexer.get(key)
        if role is None or role.aggregation_rule is None:
            return
        rules = aggregated_rules(role, self.informer.indexer.list())
        if rules == (role.rules or []):
            return
        body = role.to_dict()
        body["rules"] = [rule.to_dict() for rule in rules]
        log.info("aggregating cluster role role=%s rules=%d", key, len(rules))
        try:
            await self.client.update(CLUSTER_ROLES, body)
        except NotFound:
            pass  # deleted meanwhile
