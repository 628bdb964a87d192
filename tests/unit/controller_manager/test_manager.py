"""The controller-manager's command line: controller selection and flag parsing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from controller_manager.__main__ import parse_args
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


@pytest.mark.parametrize(("text", "seconds"), [("15s", 15.0), ("1m30s", 90.0), ("500ms", 0.5),
                                               ("5m0s", 300.0), ("1h", 3600.0), ("300ms", 0.3)])
@pytest.mark.parametrize("flag", ["--node-monitor-period", "--node-monitor-grace-period",
                                  "--pod-eviction-timeout", "--leader-elect-lease-duration"])
def test_durations_use_go_syntax(flag: str, text: str, seconds: float) -> None:
    assert vars(parse_args([f"{flag}={text}"]))[flag[2:].replace("-", "_")] == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["soon", "5 minutes", "7"])
def test_bad_duration_is_one_line_and_exit_2(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args([f"--node-monitor-grace-period={text}"])
    assert exited.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "--node-monitor-grace-period" in line and "invalid duration" in line


def test_an_unknown_controller_is_a_flag_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(["--controllers=*,-nope"])
    assert exited.value.code == 2 and "unknown controller" in capsys.readouterr().err


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
