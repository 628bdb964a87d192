"""The component kit: Go-style durations, one-line flag errors, signals stop gracefully."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

import pytest

from tinykube.component import component_parser, duration, parse_duration, run_until_signalled


@pytest.mark.parametrize(("text", "seconds"), [
    ("5m0s", 300.0), ("1h", 3600.0), ("300ms", 0.3), ("1h30m", 5400.0), ("1.5h", 5400.0),
    ("40s", 40.0), ("0", 0.0), ("2m3.5s", 123.5), ("250us", 0.00025), ("-1m", -60.0), ("1h0m0s", 3600.0),
])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("text", "message"), [
    ("5 minutes", 'time: unknown unit " minutes" in duration "5 minutes"'),
    ("15", 'time: missing unit in duration "15"'),
    ("", 'time: invalid duration ""'),
    ("m", 'time: invalid duration "m"'),
    ("1x", 'time: unknown unit "x" in duration "1x"'),
])
def test_parse_duration_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(text)
    assert str(caught.value) == message


def test_bad_duration_flag_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    parser = component_parser("python -m example", "An example.")
    parser.add_argument("--grace", type=duration, default=40.0)
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["--grace", "5 minutes"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "python -m example: error: argument --grace: invalid duration '5 minutes': "
        'time: unknown unit " minutes" in duration "5 minutes"\n')


def test_duration_type_raises_argparse_error() -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        duration("soon")


def test_signal_stops_main_and_runs_its_cleanup() -> None:
    cleaned: list[bool] = []

    async def main(stopping: asyncio.Event) -> int:
        asyncio.get_running_loop().call_soon(os.kill, os.getpid(), signal.SIGTERM)
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.append(stopping.is_set())
        return 3

    assert run_until_signalled(main) == 0
    assert cleaned == [True]


def test_exit_code_of_main_is_returned() -> None:
    async def main(stopping: asyncio.Event) -> int:
        return 0 if stopping.is_set() else 7

    assert run_until_signalled(main) == 7
