"""The controller-manager's command line: controller selection and flag parsing."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from controller_manager.__main__ import duration_seconds, parse_args
from controller_manager.manager import CONTROLLERS, select_controllers

KNOWN = ["replicaset", "deployment", "garbagecollector"]


@pytest.mark.parametrize(("spec", "expected"), [
    (["*"], KNOWN),
    (["*", "-deployment"], ["replicaset", "garbagecollector"]),
    (["deployment"], ["deployment"]),
    (["-deployment", "deployment"], []),  # disabling wins
    ([""], []),
])
def test_select_controllers(spec: list[str], expected: list[str]) -> None:
    assert select_controllers(spec, KNOWN) == expected


def test_unknown_controller_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown controller"):
        select_controllers(["*", "-nope"], KNOWN)


@pytest.mark.parametrize(("text", "seconds"), [("15s", 15.0), ("1m30s", 90.0), ("500ms", 0.5), ("7", 7.0)])
def test_durations_use_go_syntax(text: str, seconds: float) -> None:
    assert duration_seconds(text) == seconds


def test_bad_duration_is_rejected() -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        duration_seconds("soon")


def test_defaults_match_kube_controller_manager() -> None:
    args = parse_args([])
    assert args.leader_elect is True
    assert (args.leader_elect_lease_duration, args.leader_elect_renew_deadline,
            args.leader_elect_retry_period) == (15.0, 10.0, 2.0)
    assert args.concurrent_deployment_syncs == 5
    assert parse_args(["--leader-elect=false"]).leader_elect is False


def test_registry_holds_the_workload_controllers() -> None:
    assert {"replicaset", "deployment"} <= set(CONTROLLERS)
    assert all(cls.name == name for name, cls in CONTROLLERS.items())


def test_help_runs() -> None:
    result = subprocess.run([sys.executable, "-m", "controller_manager", "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0
    assert "--leader-elect" in result.stdout
