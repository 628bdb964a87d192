"""Server-side apply and managedFields tracking, against a Deployment-like stub schema."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Mapping

import pytest

from apiserver.fieldmanager import ApplyConflict, InvalidApply, apply_patch, update_managed_fields
from apiserver.fieldpath import (
    fields_v1_to_paths,
    format_path,
    key_element,
    paths_to_fields_v1,
    remove_prefixed,
)


@dataclass(frozen=True, eq=False)
class S:
    """Test-local stand-in for apiserver.schema.FieldSchema."""

    type: str
    items: S | None = None
    patch_merge_key: str | None = None
    list_type: str | None = None
    list_map_keys: tuple[str, ...] = ()
    field_map: Mapping[str, S] = field(default_factory=dict)

    @property
    def fields(self) -> Mapping[str, S]:
        return self.field_map


STR, INT = S("string"), S("integer")


def obj(**fields: S) -> S:
    return S("object", field_map=fields)


PORT = obj(containerPort=INT, protocol=STR, name=STR)
CONTAINER = obj(
    name=STR, image=STR,
    args=S("array", items=STR),
    ports=S("array", items=PORT, list_type="map", list_map_keys=("containerPort", "protocol")),
    env=S("array", items=obj(name=STR, value=STR), patch_merge_key="name"),
)
META = obj(name=STR, namespace=STR, uid=STR, resourceVersion=STR, labels=S("map", items=STR),
           annotations=S("map", items=STR), finalizers=S("array", items=STR, list_type="set"),
           managedFields=S("array", items=S("any")))
DEPLOYMENT = obj(
    apiVersion=STR, kind=STR, metadata=META,
    spec=obj(
        replicas=INT, paused=S("boolean"),
        selector=obj(matchLabels=S("map", items=STR)),
        strategy=obj(type=STR, rollingUpdate=obj(maxSurge=S("int-or-string"))),
        template=obj(metadata=obj(labels=S("map", items=STR)),
                     spec=obj(containers=S("array", items=CONTAINER, patch_merge_key="name"))),
    ),
    status=obj(replicas=INT, conditions=S("array", items=obj(type=STR, status=STR), list_type="map",
                                          list_map_keys=("type",))),
)

T0, T1, T2 = "2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z", "2024-05-01T12:00:00Z"
NGINX = 'k:{"name":"nginx"}'


def deployment(replicas: int | None = 1, image: str = "nginx:1.27", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "nginx", "image": image}]}},
            **spec,
        },
    }
    if replicas is not None:
        body["spec"]["replicas"] = replicas
    return body


def apply(live: dict[str, Any] | None, config: dict[str, Any], manager: str = "kubectl", *,
          force: bool = False, now: str = T0) -> dict[str, Any]:
    return apply_patch(live, config, manager=manager, api_version="apps/v1", schema=DEPLOYMENT,
                       force=force, now=now)


def update(old: dict[str, Any] | None, new: dict[str, Any], manager: str, *, now: str = T1,
           subresource: str = "") -> dict[str, Any]:
    return update_managed_fields(old, new, manager=manager, api_version="apps/v1", schema=DEPLOYMENT,
                                 now=now, subresource=subresource)


def entries(obj_: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["manager"], e["operation"]): e for e in obj_["metadata"].get("managedFields", [])}


def owned(obj_: dict[str, Any], manager: str, operation: str = "Update") -> set[tuple[str, ...]]:
    entry = entries(obj_).get((manager, operation))
    return fields_v1_to_paths(entry["fieldsV1"]) if entry else set()


REPLICAS = ("f:spec", "f:replicas")
IMAGE = ("f:spec", "f:template", "f:spec", "f:containers", NGINX, "f:image")


# --- fieldsV1 encoding -------------------------------------------------------------------

def test_paths_to_fields_v1_marks_members_with_children() -> None:
    containers = ("f:spec", "f:template", "f:spec", "f:containers")
    paths = {REPLICAS, containers + (NGINX,), IMAGE, containers + (NGINX, "f:name")}
    fields_v1 = paths_to_fields_v1(paths)
    assert fields_v1 == {"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
        NGINX: {".": {}, "f:image": {}, "f:name": {}}}}}}}
    assert fields_v1_to_paths(fields_v1) == paths


def test_fields_v1_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        fields_v1_to_paths({"spec": {}})


@pytest.mark.parametrize(("path", "text"), [
    (REPLICAS, ".spec.replicas"),
    (IMAGE, '.spec.template.spec.containers[name="nginx"].image'),
    (("f:spec", "f:ports", key_element({"protocol": "TCP", "containerPort": 80})),
     '.spec.ports[containerPort=80,protocol="TCP"]'),
    (("f:metadata", "f:finalizers", 'v:"a/b"'), '.metadata.finalizers[="a/b"]'),
])
def test_format_path(path: tuple[str, ...], text: str) -> None:
    assert format_path(path) == text


def test_key_element_sorts_key_fields_compactly() -> None:
    assert key_element({"protocol": "TCP", "containerPort": 80}) == 'k:{"containerPort":80,"protocol":"TCP"}'


def test_remove_prefixed_drops_subtrees() -> None:
    item = ("f:spec", "f:template", "f:spec", "f:containers", NGINX)
    assert remove_prefixed({item, IMAGE, REPLICAS}, {item}) == {REPLICAS}


# --- apply -----------------------------------------------------------------------------

def test_create_via_apply_records_apply_entry() -> None:
    created = apply(None, deployment(replicas=2))
    assert created["spec"]["replicas"] == 2
    [entry] = created["metadata"]["managedFields"]
    assert entry == {
        "manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1", "time": T0, "fieldsType": "FieldsV1",
        "fieldsV1": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:selector": {"f:matchLabels": {"f:app": {}}},
                "f:template": {"f:metadata": {"f:labels": {"f:app": {}}},
                               "f:spec": {"f:containers": {NGINX: {".": {}, "f:image": {}, "f:name": {}}}}},
            },
        },
    }


def test_conflict_with_update_manager_names_manager_and_path() -> None:
    live = apply(None, deployment(replicas=1))
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 5
    live = update(live, scaled, "kubectl-client-side-apply")
    assert owned(live, "kubectl-client-side-apply") == {REPLICAS}
    assert REPLICAS not in owned(live, "kubectl", "Apply")

    with pytest.raises(ApplyConflict) as caught:
        apply(live, deployment(replicas=3))
    assert caught.value.conflicts == [("kubectl-client-side-apply", ".spec.replicas")]
    assert str(caught.value) == ('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" '
                                 'using apps/v1: .spec.replicas')
    assert caught.value.causes == [{"reason": "FieldManagerConflict", "field": ".spec.replicas",
                                    "message": 'conflict with "kubectl-client-side-apply" using apps/v1'}]


def test_force_takes_ownership() -> None:
    live = apply(None, deployment(replicas=1))
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 5
    live = update(live, scaled, "hpa")
    forced = apply(live, deployment(replicas=3), force=True, now=T2)
    assert forced["spec"]["replicas"] == 3
    assert REPLICAS in owned(forced, "kubectl", "Apply")
    assert ("hpa", "Update") not in entries(forced)  # its only field was taken: entry dropped


def test_applying_the_live_value_shares_ownership_without_conflict() -> None:
    live = apply(None, deployment(replicas=1))
    live = apply(live, deployment(replicas=1), "other")
    assert REPLICAS in owned(live, "kubectl", "Apply") and REPLICAS in owned(live, "other", "Apply")


def test_multiple_conflicts_are_grouped_by_manager() -> None:
    live = apply(None, deployment(replicas=1))
    image_only = deployment(replicas=None, image="nginx:1.26")
    live = apply(live, image_only, "ops", force=True)
    with pytest.raises(ApplyConflict) as caught:
        apply(live, deployment(replicas=4, image="nginx:1.28"), "dev")
    assert caught.value.conflicts == [
        ("kubectl", ".spec.replicas"), ("ops", '.spec.template.spec.containers[name="nginx"].image')]
    assert str(caught.value) == (
        'Apply failed with 2 conflicts: conflicts with "kubectl":\n- .spec.replicas\n'
        'conflicts with "ops":\n- .spec.template.spec.containers[name="nginx"].image')


def test_field_dropped_from_config_is_removed() -> None:
    live = apply(None, deployment(replicas=2, strategy={"type": "Recreate"}))
    again = apply(live, deployment(replicas=None), now=T1)
    assert "replicas" not in again["spec"] and "strategy" not in again["spec"]
    assert again["metadata"]["name"] == "web"
    assert REPLICAS not in owned(again, "kubectl", "Apply")
    assert entries(again)[("kubectl", "Apply")]["time"] == T1


def test_field_owned_by_two_managers_survives_one_dropping_it() -> None:
    live = apply(None, deployment(replicas=2))
    live = apply(live, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                        "spec": {"replicas": 2}}, "autoscaler")
    dropped = apply(live, deployment(replicas=None))
    assert dropped["spec"]["replicas"] == 2
    assert owned(dropped, "autoscaler", "Apply") == {REPLICAS}


def test_dropping_labels_and_containers_removes_only_what_the_manager_owned() -> None:
    two = deployment()
    two["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox"})
    two["metadata"]["labels"]["tier"] = "front"
    live = apply(None, two)
    applied = apply(live, deployment())
    assert [c["name"] for c in applied["spec"]["template"]["spec"]["containers"]] == ["nginx"]
    assert applied["metadata"]["labels"] == {"app": "web"}


def test_associative_list_items_merge_by_key() -> None:
    live = deployment()
    live["spec"]["template"]["spec"]["containers"] = [
        {"name": "a", "image": "a:1", "ports": [{"containerPort": 80, "protocol": "TCP"}]},
        {"name": "b", "image": "b:1", "args": ["x", "y"]},
    ]
    live = update(None, live, "kubectl-create")
    config = deployment()
    config["spec"]["template"]["spec"]["containers"] = [
        {"name": "c", "image": "c:1"},
        {"name": "b", "image": "b:2", "args": ["z"]},
        {"name": "a", "ports": [{"containerPort": 80, "name": "http"}]},
    ]
    merged = apply(live, config, force=True)
    containers = merged["spec"]["template"]["spec"]["containers"]
    assert containers == [
        {"name": "c", "image": "c:1"},
        {"name": "b", "image": "b:2", "args": ["z"]},  # atomic list replaced
        {"name": "a", "image": "a:1", "ports": [{"containerPort": 80, "protocol": "TCP", "name": "http"}]},
    ]
    port = 'k:{"containerPort":80,"protocol":"TCP"}'
    assert ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"a"}', "f:ports", port, "f:name") \
        in owned(merged, "kubectl", "Apply")


def test_new_items_go_before_the_next_shared_item_and_live_only_items_stay() -> None:
    live = deployment()
    live["spec"]["template"]["spec"]["containers"] = [{"name": "a"}, {"name": "b"}]
    config = deployment()
    config["spec"]["template"]["spec"]["containers"] = [{"name": "c"}, {"name": "b"}]
    merged = apply(update(None, live, "x"), config, "y")
    assert [c["name"] for c in merged["spec"]["template"]["spec"]["containers"]] == ["a", "c", "b"]


def test_labels_merge_like_maps_and_sets_union() -> None:
    live = deployment()
    live["metadata"]["labels"] = {"team": "core"}
    live["metadata"]["finalizers"] = ["a"]
    live = update(None, live, "kubectl-create")
    config = deployment()
    config["metadata"]["finalizers"] = ["b"]
    merged = apply(live, config)
    assert merged["metadata"]["labels"] == {"team": "core", "app": "web"}
    assert merged["metadata"]["finalizers"] == ["a", "b"]
    assert ("f:metadata", "f:finalizers", 'v:"b"') in owned(merged, "kubectl", "Apply")


def test_reapplying_the_same_config_is_a_no_op() -> None:
    live = apply(None, deployment())
    scaled = copy.deepcopy(live)
    scaled["spec"]["paused"] = True
    live = update(live, scaled, "someone")
    assert apply(live, deployment(), now=T2) == live


def test_apply_never_mutates_its_inputs() -> None:
    live = apply(None, deployment())
    config = deployment(replicas=7)
    snapshot_live, snapshot_config = copy.deepcopy(live), copy.deepcopy(config)
    result = apply(live, config)
    result["spec"]["template"]["spec"]["containers"][0]["image"] = "changed"
    assert live == snapshot_live and config == snapshot_config


def test_null_in_config_removes_the_field() -> None:
    live = apply(None, deployment(replicas=3))
    config = deployment()
    config["spec"]["replicas"] = None
    assert "replicas" not in apply(live, config)["spec"]


def test_null_over_another_managers_field_conflicts() -> None:
    live = apply(None, deployment(replicas=3), "owner")
    config = deployment()
    config["spec"]["replicas"] = None
    with pytest.raises(ApplyConflict):
        apply(live, config)
    forced = apply(live, config, force=True)
    assert "replicas" not in forced["spec"] and REPLICAS not in owned(forced, "owner", "Apply")


def test_apply_rejects_managed_fields_in_config() -> None:
    config = deployment()
    config["metadata"]["managedFields"] = [{"manager": "x"}]
    with pytest.raises(InvalidApply, match="managedFields must be nil"):
        apply(None, config)


def test_schema_without_metadata_still_merges_labels_as_a_map() -> None:
    bare = obj(spec=obj(replicas=INT))
    live = apply_patch(None, {"metadata": {"name": "w", "labels": {"a": "1"}}, "spec": {"replicas": 1}},
                       manager="m1", api_version="v1", schema=bare, force=False, now=T0)
    merged = apply_patch(live, {"metadata": {"name": "w", "labels": {"b": "2"}}}, manager="m2",
                         api_version="v1", schema=bare, force=False, now=T0)
    assert merged["metadata"]["labels"] == {"a": "1", "b": "2"}


# --- update ----------------------------------------------------------------------------

def test_create_via_update_owns_everything_set_but_system_fields_and_status() -> None:
    body = deployment()
    body["metadata"]["uid"] = "u-1"
    body["status"] = {"replicas": 0}
    created = update(None, body, "kubectl-create", now=T0)
    [entry] = created["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"], entry["time"]) == ("kubectl-create", "Update", T0)
    assert "subresource" not in entry
    assert entry["fieldsV1"]["f:metadata"] == {"f:labels": {".": {}, "f:app": {}}}
    assert "f:status" not in entry["fieldsV1"]
    assert entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"] == {
        NGINX: {".": {}, "f:image": {}, "f:name": {}}}
    assert "managedFields" not in body["metadata"]  # input untouched


def test_update_moves_changed_fields_and_keeps_time_of_others() -> None:
    live = update(None, deployment(), "creator", now=T0)
    changed = copy.deepcopy(live)
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    after = update(live, changed, "editor", now=T1)
    assert owned(after, "editor") == {IMAGE}
    assert IMAGE not in owned(after, "creator")
    assert entries(after)[("creator", "Update")]["time"] == T0
    assert [e["manager"] for e in after["metadata"]["managedFields"]] == ["creator", "editor"]


def test_update_that_changes_nothing_records_nothing() -> None:
    live = update(None, deployment(), "creator", now=T0)
    assert update(live, copy.deepcopy(live), "noop", now=T1) == live


def test_removing_a_list_item_drops_it_from_every_manager() -> None:
    two = deployment()
    two["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox"})
    live = update(None, two, "creator")
    after = update(live, deployment() | {"metadata": live["metadata"]}, "remover")
    assert not any('k:{"name":"sidecar"}' in p for p in owned(after, "creator"))
    assert ("remover", "Update") not in entries(after)  # removals alone own nothing


def test_status_subresource_tracks_only_status() -> None:
    live = update(None, deployment(), "creator", now=T0)
    new = copy.deepcopy(live)
    new["status"] = {"replicas": 1, "conditions": [{"type": "Available", "status": "True"}]}
    new["spec"]["replicas"] = 9  # ignored: the status subresource does not own spec
    after = update(live, new, "deployment-controller", subresource="status")
    entry = entries(after)[("deployment-controller", "Update")]
    assert entry["subresource"] == "status"
    assert entry["fieldsV1"] == {"f:status": {"f:replicas": {}, "f:conditions": {
        'k:{"type":"Available"}': {".": {}, "f:type": {}, "f:status": {}}}}}


def test_main_resource_update_ignores_status() -> None:
    live = update(None, deployment(), "creator")
    new = copy.deepcopy(live)
    new["status"] = {"replicas": 3}
    assert update(live, new, "writer") == new


def test_client_replaced_managed_fields_are_the_base() -> None:
    live = apply(None, deployment())
    live = update(live, live | {"spec": {**live["spec"], "replicas": 4}}, "kubectl-client-side-apply")
    migrated = copy.deepcopy(live)
    migrated["metadata"]["managedFields"] = [e for e in live["metadata"]["managedFields"]
                                            if e["manager"] == "kubectl"]
    after = update(live, migrated, "kubectl")
    assert [e["manager"] for e in after["metadata"]["managedFields"]] == ["kubectl"]


def test_empty_managed_fields_resets_history() -> None:
    live = apply(None, deployment())
    reset = copy.deepcopy(live)
    reset["metadata"]["managedFields"] = []
    reset["spec"]["replicas"] = 2
    after = update(live, reset, "editor")
    assert [(e["manager"], e["operation"]) for e in after["metadata"]["managedFields"]] == [("editor", "Update")]
    assert owned(after, "editor") == {REPLICAS}
