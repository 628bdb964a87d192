"""Tables for the Deployment controller's pure helpers."""

from __future__ import annotations

from typing import Any

import pytest
from controller_fakes import replica_set

from controller_manager.deployment.util import (
    compute_hash,
    equal_ignore_hash,
    get_proportion,
    max_surge,
    max_unavailable,
    new_rs_new_replicas,
    resolve_fenceposts,
    safe_encode_string,
    scaled_value_from_int_or_percent,
)
from tinykube.api.apps import Deployment, ReplicaSet
from tinykube.api.core import PodTemplateSpec


def deployment(replicas: int, surge: Any = "25%", unavailable: Any = "25%", kind: str = "RollingUpdate") -> Deployment:
    strategy: dict[str, Any] = {"type": kind}
    if kind == "RollingUpdate":
        strategy["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    return Deployment.from_dict({"metadata": {"name": "web", "namespace": "default"},
                                 "spec": {"replicas": replicas, "strategy": strategy}})


@pytest.mark.parametrize(("value", "total", "round_up", "expected"), [
    (2, 10, True, 2), ("25%", 10, True, 3), ("25%", 10, False, 2), ("25%", 3, True, 1),
    ("25%", 3, False, 0), ("100%", 7, False, 7), ("0%", 7, True, 0), (None, 5, True, 0),
])
def test_scaled_value_from_int_or_percent(value: Any, total: int, round_up: bool, expected: int) -> None:
    assert scaled_value_from_int_or_percent(value, total, round_up) == expected


def test_a_non_percent_string_is_rejected() -> None:
    with pytest.raises(ValueError):
        scaled_value_from_int_or_percent("3", 10, True)


@pytest.mark.parametrize(("surge", "unavailable", "desired", "expected"), [
    ("25%", "25%", 4, (1, 1)), ("25%", "25%", 3, (1, 0)), (0, "10%", 3, (0, 1)),  # both 0: unavailable 1
    (2, 0, 10, (2, 0)), ("50%", "50%", 5, (3, 2)),
])
def test_resolve_fenceposts(surge: Any, unavailable: Any, desired: int, expected: tuple[int, int]) -> None:
    assert resolve_fenceposts(surge, unavailable, desired) == expected


def test_recreate_has_no_surge_and_unavailable_is_capped() -> None:
    assert max_surge(deployment(3, kind="Recreate")) == 0
    assert max_unavailable(deployment(3, kind="Recreate")) == 0
    assert max_unavailable(deployment(2, unavailable=5)) == 2


def test_hash_is_stable_ignores_key_order_and_changes_with_collision_count() -> None:
    a = PodTemplateSpec.from_dict({"metadata": {"labels": {"a": "1", "b": "2"}},
                                   "spec": {"containers": [{"name": "c", "image": "x"}]}})
    b = PodTemplateSpec.from_dict({"spec": {"containers": [{"image": "x", "name": "c"}]},
                                   "metadata": {"labels": {"b": "2", "a": "1"}}})
    assert compute_hash(a, None) == compute_hash(b, None)
    assert compute_hash(a, None) != compute_hash(a, 1)
    assert set(compute_hash(a, None)) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_safe_encode_string_maps_every_character() -> None:
    assert safe_encode_string("0123") == "4567"  # alphabet[ord(c) % 27]


def test_equal_ignore_hash() -> None:
    with_hash = PodTemplateSpec.from_dict({"metadata": {"labels": {"app": "w", "pod-template-hash": "abc"}}})
    without = PodTemplateSpec.from_dict({"metadata": {"labels": {"app": "w"}}})
    assert equal_ignore_hash(with_hash, without)
    assert not equal_ignore_hash(with_hash, PodTemplateSpec.from_dict({"metadata": {"labels": {"app": "v"}}}))


@pytest.mark.parametrize(("old", "new", "expected"), [
    (10, 0, 3),   # 10 replicas + surge 3: the new RS may start with 3
    (10, 3, 3),   # at the surge limit: stay
    (7, 3, 6),    # 3 old pods removed: grow by 3
    (0, 8, 10),   # never beyond spec.replicas
])
def test_new_rs_new_replicas_respects_max_surge(old: int, new: int, expected: int) -> None:
    d = deployment(10, surge="25%")
    old_rs = ReplicaSet.from_dict(replica_set("old", old, {"a": "b"}))
    new_rs = ReplicaSet.from_dict(replica_set("new", new, {"a": "b"}))
    assert new_rs_new_replicas(d, [old_rs, new_rs], new_rs) == expected


def test_get_proportion_uses_the_max_replicas_annotation() -> None:
    d = deployment(20, surge=0, unavailable=1)  # resized from 10 to 20
    rs = ReplicaSet.from_dict(replica_set("a", 6, {"a": "b"},
                                          annotations={"deployment.kubernetes.io/max-replicas": "10"}))
    assert get_proportion(rs, d, 10, 0) == 6  # 6 * 20 / 10 - 6
    assert get_proportion(rs, d, 10, 7) == 3  # capped by what is left to add
