"""ClusterRole aggregation: an aggregated role's rules follow the roles its selectors match."""

from __future__ import annotations

from typing import Any

from controller_fakes import FakeClient, cache_add, typed_factory

from controller_manager.clusterroleaggregation import ClusterRoleAggregationController
from tinykube.client import EventRecorder

Obj = dict[str, Any]
LABEL = "rbac.authorization.k8s.io/aggregate-to-view"
PODS = {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}
CRONTABS = {"verbs": ["get"], "apiGroups": ["stable.example.com"], "resources": ["crontabs"]}


def cluster_role(name: str, rules: list[Obj], labels: dict[str, str] | None = None,
                 aggregate: bool = False) -> Obj:
    role: Obj = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                 "metadata": {"name": name, "labels": labels or {}, "resourceVersion": "3"},
                 "rules": rules}
    if aggregate:
        role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {LABEL: "true"}}]}
    return role


def make_controller(*roles: Obj) -> tuple[ClusterRoleAggregationController, FakeClient]:
    client = FakeClient()
    controller = ClusterRoleAggregationController(
        client, typed_factory(client), EventRecorder(client, "test"))  # type: ignore[arg-type]
    cache_add(controller.informer, *roles)
    return controller, client


async def test_the_aggregated_role_gets_the_union_of_selected_rules_in_name_order() -> None:
    controller, client = make_controller(
        cluster_role("view", [], aggregate=True),
        cluster_role("b-pods", [PODS], {LABEL: "true"}),
        cluster_role("a-crontabs", [CRONTABS, PODS], {LABEL: "true"}),
        cluster_role("unlabelled", [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]))
    await controller.sync_cluster_role("view")
    [update] = client.writes("clusterroles", "update")
    assert update.body["rules"] == [CRONTABS, PODS]


async def test_nothing_is_written_when_the_rules_already_match() -> None:
    controller, client = make_controller(cluster_role("view", [PODS], aggregate=True),
                                         cluster_role("pods", [PODS], {LABEL: "true"}),
                                         cluster_role("plain", [CRONTABS]))
    await controller.sync_cluster_role("view")
    await controller.sync_cluster_role("plain")  # not aggregated: never written
    assert client.writes("clusterroles") == []


async def test_a_change_to_any_role_enqueues_the_aggregated_ones() -> None:
    controller, _ = make_controller(cluster_role("view", [], aggregate=True),
                                    cluster_role("plain", [CRONTABS]))
    controller.enqueue_aggregated(None)
    assert await controller.queue.get() == "view"
    assert len(controller.queue) == 0
