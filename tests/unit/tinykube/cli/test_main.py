"""The CLI's entry point: duration flags (Go syntax, as kubectl) and an unreachable server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinykube.cli.main import build_parser, main
from tinykube.testing.processes import free_port

DURATION_FLAGS = [
    (["wait", "pod/x", "--for=delete", "--timeout"], "timeout"),
    (["rollout", "status", "deploy/x", "--timeout"], "timeout"),
    (["delete", "pod", "x", "--timeout"], "timeout"),
    (["apply", "-f", "x.yaml", "--timeout"], "timeout"),
    (["logs", "x", "--since"], "since"),
]


@pytest.mark.parametrize(("words", "dest"), DURATION_FLAGS)
@pytest.mark.parametrize(("text", "seconds"), [("5m0s", 300.0), ("1h", 3600.0), ("300ms", 0.3),
                                               ("1m30s", 90.0), ("0", 0.0)])
def test_duration_flags_take_go_durations(words: list[str], dest: str, text: str, seconds: float) -> None:
    args = build_parser(words).parse_args([*words, text])
    assert getattr(args, dest) == pytest.approx(seconds)


@pytest.mark.parametrize(("words", "dest"), DURATION_FLAGS)
def test_duration_flags_refuse_other_forms_in_one_line(words: list[str], dest: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    for text in ("5 minutes", "30"):
        with pytest.raises(SystemExit) as exited:
            build_parser(words).parse_args([*words, text])
        assert exited.value.code == 2
        last = capsys.readouterr().err.strip().splitlines()[-1]
        assert f"argument --{dest}: invalid duration '{text}': time:" in last


def test_an_unreachable_server_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    server = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SystemExit) as exited:
        main(["--server", server, "get", "pods"])
    assert exited.value.code == 1
    assert capsys.readouterr().err == (f"error: cannot connect to the server at {server}: "
                                       "is the cluster up? (`make up` starts one)\n")
