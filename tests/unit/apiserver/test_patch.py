"""Tests for apiserver.patch: JSON merge patch, JSON patch and strategic merge patch.

The strategic cases use a tiny test-local schema describing a Deployment-like tree, so
they do not depend on apiserver.schema.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from apiserver.patch import PatchError, PatchSchema, json_merge_patch, json_patch, strategic_merge_patch


@dataclass(frozen=True)
class StubSchema:
    """A minimal PatchSchema."""

    type: str
    items: StubSchema | None = None
    patch_strategy: str | None = None
    patch_merge_key: str | None = None
    field_items: tuple[tuple[str, StubSchema], ...] = ()

    @property
    def fields(self) -> Mapping[str, PatchSchema]:
        return dict(self.field_items)


def obj(**fields: StubSchema) -> StubSchema:
    return StubSchema("object", field_items=tuple(fields.items()))


def arr(items: StubSchema, strategy: str | None = None, key: str | None = None) -> StubSchema:
    return StubSchema("array", items=items, patch_strategy=strategy, patch_merge_key=key)


STR = StubSchema("string")
INT = StubSchema("integer")
ANY = StubSchema("any")
STR_MAP = StubSchema("map", items=STR)

CONTAINER = obj(
    name=STR,
    image=STR,
    args=arr(STR),
    env=arr(obj(name=STR, value=STR), "merge", "name"),
    ports=arr(obj(containerPort=INT, protocol=STR, name=STR), "merge", "containerPort"),
    resources=obj(limits=STR_MAP, requests=STR_MAP),
)
VOLUME = obj(name=STR, emptyDir=obj(medium=STR), configMap=obj(name=STR))
DEPLOYMENT = obj(
    apiVersion=STR,
    kind=STR,
    metadata=obj(name=STR, labels=STR_MAP, annotations=STR_MAP, finalizers=arr(STR, "merge")),
    spec=obj(
        replicas=INT,
        strategy=StubSchema(
            "object",
            patch_strategy="retainKeys",
            field_items=(("type", STR), ("rollingUpdate", obj(maxSurge=ANY, maxUnavailable=ANY))),
        ),
        template=obj(
            metadata=obj(labels=STR_MAP),
            spec=obj(
                containers=arr(CONTAINER, "merge", "name"),
                tolerations=arr(obj(key=STR, operator=STR, effect=STR)),
                volumes=arr(VOLUME, "merge,retainKeys", "name"),
                nodeSelector=STR_MAP,
                extra=ANY,
            ),
        ),
    ),
)


def deployment(containers: list[dict[str, Any]] | None = None, **pod_spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": containers
                    if containers is not None
                    else [
                        {
                            "name": "nginx",
                            "image": "nginx:1.25",
                            "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                        }
                    ],
                    **pod_spec,
                },
            },
        },
    }


def in_deployment(pod_spec: dict[str, Any]) -> dict[str, Any]:
    return {"spec": {"template": {"spec": pod_spec}}}


def pod_spec_of(result: dict[str, Any]) -> dict[str, Any]:
    return result["spec"]["template"]["spec"]


def directive_keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [k for k in value if k.startswith("$")] + [d for v in value.values() for d in directive_keys(v)]
    if isinstance(value, list):
        return [d for v in value for d in directive_keys(v)]
    return []


def apply_smp(original: dict[str, Any], patch: dict[str, Any], schema: PatchSchema | None = DEPLOYMENT) -> Any:
    """strategic_merge_patch plus the invariants every call must keep."""
    original_before, patch_before = copy.deepcopy(original), copy.deepcopy(patch)
    result = strategic_merge_patch(original, patch, schema)
    assert original == original_before and patch == patch_before, "inputs were mutated"
    assert directive_keys(result) == [], "a $ directive leaked into the result"
    return result


# --- RFC 7386 ----------------------------------------------------------------------------

RFC7386_APPENDIX = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("original", "patch", "expected"), RFC7386_APPENDIX)
def test_json_merge_patch_rfc7386_appendix(original: Any, patch: Any, expected: Any) -> None:
    original_before, patch_before = copy.deepcopy(original), copy.deepcopy(patch)
    assert json_merge_patch(original, patch) == expected
    assert original == original_before and patch == patch_before


def test_json_merge_patch_result_shares_nothing_with_inputs() -> None:
    original = {"keep": {"deep": [1]}, "change": {"x": 1}}
    patch = {"change": {"y": [2]}, "new": {"z": [3]}}
    result = json_merge_patch(original, patch)
    result["keep"]["deep"].append(9)
    result["change"]["y"].append(9)
    result["new"]["z"].append(9)
    assert original == {"keep": {"deep": [1]}, "change": {"x": 1}}
    assert patch == {"change": {"y": [2]}, "new": {"z": [3]}}


# --- RFC 6902 ----------------------------------------------------------------------------

RFC6902_APPENDIX_A = [
    ("A.1 add object member", {"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}],
     {"baz": "qux", "foo": "bar"}),
    ("A.2 add array element", {"foo": ["bar", "baz"]}, [{"op": "add", "path": "/foo/1", "value": "qux"}],
     {"foo": ["bar", "qux", "baz"]}),
    ("A.3 remove object member", {"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
    ("A.4 remove array element", {"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}],
     {"foo": ["bar", "baz"]}),
    ("A.5 replace", {"baz": "qux", "foo": "bar"}, [{"op": "replace", "path": "/baz", "value": "boo"}],
     {"baz": "boo", "foo": "bar"}),
    ("A.6 move value", {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
     [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
     {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}),
    ("A.7 move array element", {"foo": ["all", "grass", "cows", "eat"]},
     [{"op": "move", "from": "/foo/1", "path": "/foo/3"}], {"foo": ["all", "cows", "eat", "grass"]}),
    ("A.8 test success", {"baz": "qux", "foo": ["a", 2, "c"]},
     [{"op": "test", "path": "/baz", "value": "qux"}, {"op": "test", "path": "/foo/1", "value": 2}],
     {"baz": "qux", "foo": ["a", 2, "c"]}),
    ("A.10 add nested member", {"foo": "bar"}, [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
     {"foo": "bar", "child": {"grandchild": {}}}),
    ("A.11 ignore unrecognized elements", {"foo": "bar"},
     [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}], {"foo": "bar", "baz": "qux"}),
    ("A.14 ~ escape ordering", {"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}],
     {"/": 9, "~1": 10}),
    ("A.16 add array value", {"foo": ["bar"]}, [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
     {"foo": ["bar", ["abc", "def"]]}),
    ("escaped slash", {"a/b": 1}, [{"op": "replace", "path": "/a~1b", "value": 2}], {"a/b": 2}),
    ("escaped tilde", {"m~n": 1}, [{"op": "remove", "path": "/m~0n"}], {}),
    ("copy", {"a": {"b": [1]}}, [{"op": "copy", "from": "/a", "path": "/c"}], {"a": {"b": [1]}, "c": {"b": [1]}}),
    ("replace root", {"a": 1}, [{"op": "replace", "path": "", "value": [1]}], [1]),
    ("add root", {"a": 1}, [{"op": "add", "path": "", "value": {"b": 2}}], {"b": 2}),
    ("move to itself", {"a": 1}, [{"op": "move", "from": "/a", "path": "/a"}], {"a": 1}),
    ("add replaces existing member", {"a": 1}, [{"op": "add", "path": "/a", "value": None}], {"a": None}),
    ("test 1 equals 1.0", {"a": 1}, [{"op": "test", "path": "/a", "value": 1.0}], {"a": 1}),
    ("empty patch", {"a": 1}, [], {"a": 1}),
    ("kubectl managedFields migration", {"metadata": {"managedFields": [{"manager": "x"}], "resourceVersion": "5"}},
     [{"op": "replace", "path": "/metadata/managedFields", "value": [{"manager": "kubectl"}]},
      {"op": "replace", "path": "/metadata/resourceVersion", "value": "5"}],
     {"metadata": {"managedFields": [{"manager": "kubectl"}], "resourceVersion": "5"}}),
]


@pytest.mark.parametrize(("name", "original", "operations", "expected"), RFC6902_APPENDIX_A,
                         ids=[c[0] for c in RFC6902_APPENDIX_A])
def test_json_patch(name: str, original: Any, operations: list[Any], expected: Any) -> None:
    original_before, operations_before = copy.deepcopy(original), copy.deepcopy(operations)
    assert json_patch(original, operations) == expected
    assert original == original_before and operations == operations_before


JSON_PATCH_ERRORS = [
    ("A.9 test error", {"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}]),
    ("A.12 add to nonexistent target", {"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}]),
    ("A.15 string is not number", {"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": "10"}]),
    ("test true is not 1", {"a": 1}, [{"op": "test", "path": "/a", "value": True}]),
    ("remove missing member", {"a": 1}, [{"op": "remove", "path": "/b"}]),
    ("replace missing member", {"a": 1}, [{"op": "replace", "path": "/b", "value": 1}]),
    ("remove root", {"a": 1}, [{"op": "remove", "path": ""}]),
    ("index out of range", {"a": [1]}, [{"op": "add", "path": "/a/2", "value": 1}]),
    ("leading zero index", {"a": [1, 2]}, [{"op": "remove", "path": "/a/01"}]),
    ("dash only for add", {"a": [1]}, [{"op": "remove", "path": "/a/-"}]),
    ("bad escape", {"a~2": 1}, [{"op": "remove", "path": "/a~2"}]),
    ("path without slash", {"a": 1}, [{"op": "remove", "path": "a"}]),
    ("unknown op", {"a": 1}, [{"op": "frobnicate", "path": "/a"}]),
    ("missing value", {"a": 1}, [{"op": "add", "path": "/b"}]),
    ("missing from", {"a": 1}, [{"op": "move", "path": "/b"}]),
    ("move into own child", {"a": {"b": 1}}, [{"op": "move", "from": "/a", "path": "/a/c"}]),
    ("descend into scalar", {"a": 1}, [{"op": "add", "path": "/a/b", "value": 1}]),
    ("operations not a list", {"a": 1}, {"op": "remove", "path": "/a"}),
    ("operation not an object", {"a": 1}, ["remove"]),
]


@pytest.mark.parametrize(("name", "original", "operations"), JSON_PATCH_ERRORS, ids=[c[0] for c in JSON_PATCH_ERRORS])
def test_json_patch_errors(name: str, original: Any, operations: Any) -> None:
    original_before = copy.deepcopy(original)
    with pytest.raises(PatchError):
        json_patch(original, operations)
    assert original == original_before


def test_json_patch_is_all_or_nothing() -> None:
    original = {"a": [1]}
    with pytest.raises(PatchError, match="operation 1"):
        json_patch(original, [{"op": "add", "path": "/a/-", "value": 2}, {"op": "test", "path": "/a/0", "value": 5}])
    assert original == {"a": [1]}


# --- strategic merge patch: what kubectl sends -----------------------------------------


def test_kubectl_apply_image_change_keeps_other_container_fields() -> None:
    last_applied = json.dumps({"kind": "Deployment", "spec": {"replicas": 2}})
    patch = {
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": last_applied}},
        "spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "nginx"}],
            "containers": [{"image": "nginx:1.27", "name": "nginx"}],
        }}},
    }
    expected = deployment()
    expected["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": last_applied}
    expected["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27"
    assert apply_smp(deployment(), patch) == expected


def test_kubectl_removes_a_field_with_null() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "nginx", "ports": None}]}}}}
    container = pod_spec_of(apply_smp(deployment(), patch))["containers"][0]
    env = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert container == {"name": "nginx", "image": "nginx:1.25", "env": env}


def test_kubectl_removes_a_container_with_patch_delete() -> None:
    original = deployment([{"name": "nginx", "image": "nginx"}, {"name": "sidecar", "image": "busybox"}])
    patch = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "nginx"}],
        "containers": [{"$patch": "delete", "name": "sidecar"}],
    }}}}
    assert pod_spec_of(apply_smp(original, patch))["containers"] == [{"name": "nginx", "image": "nginx"}]


# --- strategic merge patch: table --------------------------------------------------------

C = "containers"
SMP_CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    # (description, original pod spec, patch to the pod spec, expected pod spec)
    # Upstream quirk: without $setElementOrder, items the patch mentions come before
    # live-only items that cannot be compared with them (a new item has no live position).
    ("new container without setElementOrder goes first",
     {C: [{"name": "a", "image": "x"}]},
     {C: [{"name": "b", "image": "y"}]},
     {C: [{"name": "b", "image": "y"}, {"name": "a", "image": "x"}]}),
    ("setElementOrder appends the new container",
     {C: [{"name": "a", "image": "x"}]},
     {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}], C: [{"name": "b", "image": "y"}]},
     {C: [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}),
    ("setElementOrder puts the new container first",
     {C: [{"name": "a", "image": "x"}]},
     {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}], C: [{"name": "b", "image": "y"}]},
     {C: [{"name": "b", "image": "y"}, {"name": "a", "image": "x"}]}),
    ("setElementOrder alone reorders",
     {C: [{"name": "a"}, {"name": "b"}, {"name": "c"}]},
     {"$setElementOrder/containers": [{"name": "c"}, {"name": "b"}, {"name": "a"}]},
     {C: [{"name": "c"}, {"name": "b"}, {"name": "a"}]}),
    ("server-only items keep their live position relative to ordered items",
     {C: [{"name": "a"}, {"name": "b"}, {"name": "c"}]},
     {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}]},
     {C: [{"name": "b"}, {"name": "c"}, {"name": "a"}]}),
    ("a server-only item goes after new items",
     {C: [{"name": "a"}, {"name": "b"}]},
     {"$setElementOrder/containers": [{"name": "a"}, {"name": "n"}], C: [{"name": "n"}]},
     {C: [{"name": "a"}, {"name": "n"}, {"name": "b"}]}),
    ("patch order wins without setElementOrder",
     {C: [{"name": "a"}, {"name": "b"}, {"name": "c"}]},
     {C: [{"name": "b", "image": "1"}, {"name": "a", "image": "2"}]},
     {C: [{"name": "b", "image": "1"}, {"name": "a", "image": "2"}, {"name": "c"}]}),
    ("list $patch: replace replaces the whole list",
     {C: [{"name": "a", "image": "x"}, {"name": "b"}]},
     {C: [{"name": "c", "image": "z", "args": None}, {"$patch": "replace"}]},
     {C: [{"name": "c", "image": "z"}]}),
    ("$patch: delete of a missing item is a no-op",
     {C: [{"name": "a"}]},
     {C: [{"$patch": "delete", "name": "zzz"}]},
     {C: [{"name": "a"}]}),
    ("env merges by name",
     {C: [{"name": "a", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}]},
     {C: [{"name": "a", "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]}]},
     {C: [{"name": "a", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}]}]}),
    ("ports merge by integer containerPort",
     {C: [{"name": "a", "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 443}]}]},
     {C: [{"name": "a", "ports": [{"containerPort": 80, "protocol": "TCP", "name": None}]}]},
     {C: [{"name": "a", "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443}]}]}),
    ("container args are atomic",
     {C: [{"name": "a", "args": ["x", "y"]}]},
     {C: [{"name": "a", "args": ["z"]}]},
     {C: [{"name": "a", "args": ["z"]}]}),
    ("tolerations are atomic",
     {"tolerations": [{"key": "k1", "operator": "Exists"}, {"key": "k2"}]},
     {"tolerations": [{"key": "k3", "effect": "NoSchedule"}]},
     {"tolerations": [{"key": "k3", "effect": "NoSchedule"}]}),
    ("volumes: $retainKeys swaps the volume source",
     {"volumes": [{"name": "v", "emptyDir": {}}, {"name": "w", "emptyDir": {"medium": "Memory"}}]},
     {"volumes": [{"name": "v", "$retainKeys": ["configMap", "name"], "configMap": {"name": "cm"}}]},
     {"volumes": [{"name": "v", "configMap": {"name": "cm"}}, {"name": "w", "emptyDir": {"medium": "Memory"}}]}),
    ("map $patch: replace",
     {"nodeSelector": {"a": "1", "b": "2"}},
     {"nodeSelector": {"$patch": "replace", "c": "3"}},
     {"nodeSelector": {"c": "3"}}),
    ("map $patch: delete removes the map",
     {"nodeSelector": {"a": "1"}, C: []},
     {"nodeSelector": {"$patch": "delete"}},
     {C: []}),
    ("resources maps merge, null deletes a key",
     {C: [{"name": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]},
     {C: [{"name": "a", "resources": {"limits": {"cpu": None, "memory": "2Gi"}, "requests": {"cpu": "1"}}}]},
     {C: [{"name": "a", "resources": {"limits": {"memory": "2Gi"}, "requests": {"cpu": "1"}}}]}),
    ("new subtree with directives is cleaned",
     {},
     {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
      C: [{"name": "b", "image": "i"},
          {"name": "a", "ports": None, "env": [{"name": "X", "value": "1"}, {"name": "Y", "$patch": "delete"}]}],
      "nodeSelector": {"$patch": "replace", "k": "v"}},
     {C: [{"name": "b", "image": "i"}, {"name": "a", "env": [{"name": "X", "value": "1"}]}], "nodeSelector": {"k": "v"}}),
    ("field missing from the schema merges like JSON merge patch",
     {"unknownField": {"a": 1, "b": {"c": 2}, "l": [1, 2]}},
     {"unknownField": {"a": None, "b": {"d": 3}, "l": [3]}},
     {"unknownField": {"b": {"c": 2, "d": 3}, "l": [3]}}),
    ("'any' field merges like JSON merge patch",
     {"extra": {"list": [{"name": "a", "x": 1}], "keep": True}},
     {"extra": {"list": [{"name": "a", "y": 2}]}},
     {"extra": {"list": [{"name": "a", "y": 2}], "keep": True}}),
    ("type change replaces the value",
     {"extra": {"a": 1}},
     {"extra": ["now", "a", "list"]},
     {"extra": ["now", "a", "list"]}),
    ("null for a missing field is ignored",
     {C: []},
     {"nodeSelector": None},
     {C: []}),
    ("empty patch changes nothing",
     {C: [{"name": "a"}]},
     {},
     {C: [{"name": "a"}]}),
]


@pytest.mark.parametrize(("description", "original", "patch", "expected"), SMP_CASES, ids=[c[0] for c in SMP_CASES])
def test_strategic_merge_patch_pod_spec(
    description: str, original: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert apply_smp(in_deployment(original), in_deployment(patch)) == in_deployment(expected)


METADATA_CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    ("finalizers are a union without duplicates",
     {"finalizers": ["a", "b"]}, {"finalizers": ["b", "c"]}, {"finalizers": ["a", "b", "c"]}),
    ("$deleteFromPrimitiveList removes values",
     {"finalizers": ["a", "b", "c"]}, {"$deleteFromPrimitiveList/finalizers": ["b", "zzz"]}, {"finalizers": ["a", "c"]}),
    ("kubectl replaces one finalizer",
     {"finalizers": ["a", "b"]},
     {"$setElementOrder/finalizers": ["a", "c"], "$deleteFromPrimitiveList/finalizers": ["b"], "finalizers": ["c"]},
     {"finalizers": ["a", "c"]}),
    ("setElementOrder of a primitive list",
     {"finalizers": ["a", "b", "c"]}, {"$setElementOrder/finalizers": ["c", "a", "b"]}, {"finalizers": ["c", "a", "b"]}),
    ("$deleteFromPrimitiveList of a missing list is a no-op",
     {"name": "web"}, {"$deleteFromPrimitiveList/finalizers": ["a"]}, {"name": "web"}),
    ("labels: add one, delete one",
     {"labels": {"app": "web", "tier": "fe"}}, {"labels": {"tier": None, "v": "2"}}, {"labels": {"app": "web", "v": "2"}}),
]


@pytest.mark.parametrize(("description", "original", "patch", "expected"), METADATA_CASES,
                         ids=[c[0] for c in METADATA_CASES])
def test_strategic_merge_patch_metadata(
    description: str, original: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert apply_smp({"metadata": original}, {"metadata": patch}) == {"metadata": expected}


def test_retain_keys_on_deployment_strategy() -> None:
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": None}}}
    assert apply_smp(deployment(), patch)["spec"]["strategy"] == {"type": "Recreate"}


def test_retain_keys_without_null_still_drops_unlisted_keys() -> None:
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    assert apply_smp(deployment(), patch)["spec"]["strategy"] == {"type": "Recreate"}


def test_top_level_patch_delete_gives_empty_object() -> None:
    assert apply_smp(deployment(), {"$patch": "delete"}) == {}


def test_top_level_patch_replace() -> None:
    assert apply_smp(deployment(), {"$patch": "replace", "kind": "Deployment"}) == {"kind": "Deployment"}


@pytest.mark.parametrize(("original", "patch", "expected"),
                         [c for c in RFC7386_APPENDIX if isinstance(c[0], dict) and isinstance(c[1], dict)])
def test_strategic_merge_patch_without_schema_is_json_merge_patch(
    original: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert apply_smp(original, patch, None) == expected


def test_without_schema_directives_still_apply() -> None:
    original = {"m": {"a": 1, "b": 2}, "l": ["x", "y"], "n": {"c": 1}}
    patch = {"m": {"$retainKeys": ["a"]}, "$deleteFromPrimitiveList/l": ["x"], "n": {"$patch": "delete"}}
    assert apply_smp(original, patch, None) == {"m": {"a": 1}, "l": ["y"]}


def test_declared_dollar_field_is_an_ordinary_field() -> None:
    schema = obj(**{"$ref": STR, "type": STR})
    result = strategic_merge_patch({"$ref": "a", "type": "x"}, {"$ref": "b"}, schema)
    assert result == {"$ref": "b", "type": "x"}


def test_result_shares_nothing_with_inputs() -> None:
    original = deployment()
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "new", "env": [{"name": "E", "value": "1"}]}]}}}}
    result = strategic_merge_patch(original, patch, DEPLOYMENT)
    pod_spec_of(result)["containers"][0]["env"].append({"name": "X"})
    pod_spec_of(result)["containers"][1]["env"].append({"name": "X"})
    assert original == deployment()
    assert patch["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "E", "value": "1"}]


SMP_ERRORS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("unknown directive key", {}, {"spec": {"$frobnicate": 1}}),
    ("$patch: merge in a map", {}, {"spec": {"$patch": "merge"}}),
    ("unknown $patch in a list element", deployment(),
     {"spec": {"template": {"spec": {C: [{"$patch": "bogus", "name": "nginx"}]}}}}),
    ("list element without merge key", deployment(), {"spec": {"template": {"spec": {C: [{"image": "x"}]}}}}),
    ("$patch: delete without merge key", deployment(), {"spec": {"template": {"spec": {C: [{"$patch": "delete"}]}}}}),
    ("$retainKeys not a list", deployment(), {"spec": {"strategy": {"$retainKeys": "type"}}}),
    ("$retainKeys omits a patched key", deployment(),
     {"spec": {"strategy": {"$retainKeys": ["type"], "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}),
    ("$setElementOrder not a list", deployment(), {"spec": {"template": {"spec": {"$setElementOrder/containers": {}}}}}),
    ("$setElementOrder misses a patch item", deployment(),
     {"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "nginx"}], C: [{"name": "other"}]}}}}),
    ("$setElementOrder order disagrees with the patch", deployment(),
     {"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
                                     C: [{"name": "b"}, {"name": "a"}]}}}}),
    ("$deleteFromPrimitiveList not a list", {"metadata": {"finalizers": ["a"]}},
     {"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}}),
    ("lists of lists", {"metadata": {"finalizers": ["a"]}}, {"metadata": {"finalizers": [["b"]]}}),
    ("mixed element types", {"metadata": {"finalizers": ["a"]}}, {"metadata": {"finalizers": [{"name": "b"}]}}),
    ("$patch element in an atomic list", {}, {"spec": {"template": {"spec": {"tolerations": [{"$patch": "delete"}]}}}}),
]


@pytest.mark.parametrize(("description", "original", "patch"), SMP_ERRORS, ids=[c[0] for c in SMP_ERRORS])
def test_strategic_merge_patch_errors(description: str, original: dict[str, Any], patch: dict[str, Any]) -> None:
    original_before, patch_before = copy.deepcopy(original), copy.deepcopy(patch)
    with pytest.raises(PatchError):
        strategic_merge_patch(original, patch, DEPLOYMENT)
    assert original == original_before and patch == patch_before


@pytest.mark.parametrize(("original", "patch"), [([], {}), ({}, []), ({}, None)])
def test_strategic_merge_patch_needs_objects(original: Any, patch: Any) -> None:
    with pytest.raises(PatchError):
        strategic_merge_patch(original, patch, DEPLOYMENT)


def test_json_patch_bounds_what_copies_add() -> None:
    # Each copy doubles the document; the patch fails once copies add more than the limit.
    doubling = [{"op": "copy", "from": "/data", "path": f"/data{i}"} for i in range(20)]
    with pytest.raises(PatchError, match=r"^Unable to complete the copy, the accumulated size "
                                         r"increase of copy is \d+, exceeding the limit 1000$"):
        json_patch({"data": {"k": "x" * 100}}, doubling, max_copy_bytes=1000)


def test_json_patch_copies_within_the_limit() -> None:
    result = json_patch({"a": [1, 2]}, [{"op": "copy", "from": "/a", "path": "/b"}],
                        max_copy_bytes=len("[1,2]"))
    assert result == {"a": [1, 2], "b": [1, 2]}


def test_merge_keys_compare_as_json_values() -> None:
    """Keyed lookups are hashed; they must keep json_equal's equality: a port 80 sent as
    80.0 is the same item, true is not 1, and a key that is a string is not a number."""
    ports = [{"containerPort": 80, "name": "a"}, {"containerPort": 1, "name": "b"}]
    original = deployment([{"name": "nginx", "image": "nginx", "ports": ports}])
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "nginx", "ports": [
        {"containerPort": 80.0, "protocol": "TCP"}, {"containerPort": True, "name": "c"},
        {"containerPort": "1", "name": "d"}]}]}}}}
    merged = pod_spec_of(apply_smp(original, patch))["containers"][0]["ports"]
    assert {"containerPort": 80, "name": "a", "protocol": "TCP"} in merged
    assert {"containerPort": 1, "name": "b"} in merged
    assert {"containerPort": True, "name": "c"} in merged and {"containerPort": "1", "name": "d"} in merged
    assert len(merged) == 4


def test_a_long_keyed_list_merges_by_key_in_patch_order() -> None:
    count = 3000  # was seconds of quadratic lookups; now linear
    original = deployment([{"name": f"c{i}", "image": "old", "env": [{"name": "A", "value": "1"}]}
                           for i in range(count)])
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": f"c{i}", "image": "new"} for i in reversed(range(count))]}}}}
    containers = pod_spec_of(apply_smp(original, patch))["containers"]
    assert [c["name"] for c in containers] == [f"c{i}" for i in reversed(range(count))]
    assert all(c["image"] == "new" and c["env"] == [{"name": "A", "value": "1"}] for c in containers)
