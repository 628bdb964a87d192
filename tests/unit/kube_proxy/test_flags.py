"""kube-proxy's command line: Go durations for the sync periods, one-line errors."""

from __future__ import annotations

import pytest

from kube_proxy.__main__ import build_parser


@pytest.mark.parametrize(("text", "seconds"), [("5m0s", 300.0), ("1h", 3600.0), ("300ms", 0.3)])
def test_sync_periods_are_go_durations(text: str, seconds: float) -> None:
    args = build_parser().parse_args([f"--iptables-sync-period={text}", f"--iptables-min-sync-period={text}"])
    assert args.iptables_sync_period == pytest.approx(seconds)
    assert args.iptables_min_sync_period == pytest.approx(seconds)


def test_defaults_are_kubernetes_defaults() -> None:
    args = build_parser().parse_args([])
    assert (args.iptables_sync_period, args.iptables_min_sync_period) == (30.0, 1.0)


def test_a_bad_duration_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["--iptables-sync-period", "5 minutes"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1
