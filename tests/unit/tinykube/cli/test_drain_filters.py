"""`tinykube drain`'s pod filters and Go duration text, as tables."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from tinykube.cli.commands.drain import go_duration, pods_to_evict

Obj = dict[str, Any]


def pod(name: str, owner_kind: str | None = "ReplicaSet", phase: str = "Running",
        annotations: dict[str, str] | None = None, empty_dir: bool = False) -> Obj:
    meta: Obj = {"name": name, "namespace": "default", "annotations": annotations or {}}
    if owner_kind:
        meta["ownerReferences"] = [{"kind": owner_kind, "name": "o", "uid": "u",
                                    "controller": True}]
    volumes = [{"name": "scratch", "emptyDir": {}}] if empty_dir else []
    return {"metadata": meta, "spec": {"volumes": volumes}, "status": {"phase": phase}}


def flags(**set_flags: bool) -> argparse.Namespace:
    values = {"ignore_daemonsets": False, "force": False, "delete_emptydir_data": False}
    return argparse.Namespace(**{**values, **set_flags})


@pytest.mark.parametrize(("the_pod", "args", "evicted", "warned", "refused"), [
    (pod("web"), flags(), True, False, False),
    (pod("ds", "DaemonSet"), flags(), False, False, True),
    (pod("ds", "DaemonSet"), flags(ignore_daemonsets=True), False, True, False),
    (pod("bare", None), flags(), False, False, True),
    (pod("bare", None), flags(force=True), True, False, False),
    (pod("done", None, phase="Succeeded"), flags(), True, False, False),
    (pod("static", None, annotations={"kubernetes.io/config.mirror": "x"}), flags(),
     False, False, False),
    (pod("scratch", empty_dir=True), flags(), False, False, True),
    (pod("scratch", empty_dir=True), flags(delete_emptydir_data=True), True, False, False),
])
def test_pods_to_evict(the_pod: Obj, args: argparse.Namespace, evicted: bool, warned: bool,
                       refused: bool) -> None:
    evict, warnings, errors = pods_to_evict([the_pod], args)
    assert (bool(evict), bool(warnings), bool(errors)) == (evicted, warned, refused)


def test_refusal_text_is_kubectls() -> None:
    _, _, errors = pods_to_evict([pod("ds", "DaemonSet")], flags())
    assert errors == ["cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to "
                      "ignore): default/ds"]


@pytest.mark.parametrize(("seconds", "text"), [(5, "5s"), (60, "1m0s"), (90, "1m30s"),
                                               (3600, "1h0m0s"), (0, "0s")])
def test_go_duration(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text
