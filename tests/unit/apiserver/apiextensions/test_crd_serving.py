"""The pieces that serve a custom resource: the schema tree for pruning and apply,
printer columns, and one stored object shown in several versions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from apiserver.apiextensions.customresource import VersionedStorage
from apiserver.apiextensions.fieldschema import field_schema
from apiserver.apiextensions.tableconvertor import table_printer
from apiserver.fieldvalidation import find_unknown_fields, prune_unknown_fields
from apiserver.storage.memory import MemoryStorage

SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {"type": "object", "properties": {
            "size": {"type": "integer"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "ports": {"type": "array", "x-kubernetes-list-type": "map",
                      "x-kubernetes-list-map-keys": ["name"],
                      "items": {"type": "object", "properties": {
                          "name": {"type": "string"}, "port": {"type": "integer"}}}},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "port": {"x-kubernetes-int-or-string": True},
        }},
    },
}


def test_the_schema_tree_knows_fields_maps_list_maps_and_free_form_subtrees() -> None:
    tree = field_schema(SCHEMA)
    ports = tree.fields["spec"].fields["ports"]
    assert (ports.type, ports.list_type, ports.list_map_keys) == ("array", "map", ("name",))
    assert tree.fields["spec"].fields["labels"].type == "map"
    assert tree.fields["spec"].fields["free"].type == "any"
    assert tree.fields["spec"].fields["port"].type == "int-or-string"
    obj = {"apiVersion": "x/v1", "kind": "W", "metadata": {"name": "w"},
           "spec": {"size": 1, "bogus": 2, "free": {"any": {"thing": 1}},
                    "ports": [{"name": "http", "port": 80, "extra": 1}]}}
    assert [p.path for p in find_unknown_fields(obj, tree)] == [  # type: ignore[arg-type]
        "spec.bogus", "spec.ports[0].extra"]
    pruned, _ = prune_unknown_fields(obj, tree)  # type: ignore[arg-type]
    assert pruned["spec"] == {"size": 1, "free": {"any": {"thing": 1}},
                              "ports": [{"name": "http", "port": 80}]}


def test_without_a_schema_everything_is_kept() -> None:
    assert find_unknown_fields({"spec": {"a": 1}}, field_schema(None)) == []  # type: ignore[arg-type]


def test_printer_columns_follow_json_paths_and_default_to_age() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    created = (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    obj = {"metadata": {"name": "w", "creationTimestamp": created}, "spec": {"size": 3}}
    printer = table_printer([
        {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
        {"name": "Missing", "type": "string", "jsonPath": ".spec.nothing"},
        {"name": "Created", "type": "date", "jsonPath": ".metadata.creationTimestamp"}])
    assert [c.name for c in printer.columns] == ["Name", "Size", "Missing", "Created"]
    assert printer.print_row(obj, now) == ["w", 3, None, "5m"]
    default = table_printer([])
    assert [c.name for c in default.columns] == ["Name", "Age"]
    assert default.print_row(obj, now) == ["w", "5m"]


async def test_one_stored_object_is_shown_in_each_served_version() -> None:
    storage = MemoryStorage()
    v1 = VersionedStorage(storage, "example.com/v1", "example.com/v1")
    beta = VersionedStorage(storage, "example.com/v1beta1", "example.com/v1")
    key = "/registry/example.com/widgets/ns/w"
    created = await beta.create(key, {"apiVersion": "example.com/v1beta1", "kind": "Widget",
                                      "metadata": {"name": "w"}})
    assert created["apiVersion"] == "example.com/v1beta1"
    assert (await storage.get(key))["apiVersion"] == "example.com/v1"  # stored once, in v1
    assert (await v1.get(key))["apiVersion"] == "example.com/v1"

    async def bump(current: dict) -> dict:  # type: ignore[type-arg]
        assert current["apiVersion"] == "example.com/v1beta1"
        return {**current, "spec": {"size": 2}}

    updated = await beta.guaranteed_update(key, bump)
    assert updated["apiVersion"] == "example.com/v1beta1"
    assert (await storage.get(key))["apiVersion"] == "example.com/v1"
    items, _ = await v1.list("/registry/example.com/widgets/")
    assert [(i["apiVersion"], i["spec"]) for i in items] == [("example.com/v1", {"size": 2})]
