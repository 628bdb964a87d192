"""Every component takes Go durations on its duration flags and refuses anything else
with one clear line, as a user sees it: `python -m <component> ...` in a subprocess.

`--help` after the flag makes an accepted value end the run at once (exit 0), so
nothing is started; a refused value exits 2 before `--help` is reached.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# One duration flag of each component that has any (the API server, cluster DNS, the
# Ingress controller and the cloud controller manager have none).
DURATION_FLAGS = [
    ("controller_manager", "--node-monitor-grace-period"),
    ("scheduler", "--leader-elect-lease-duration"),
    ("kubelet", "--node-status-update-frequency"),
    ("kube_proxy", "--iptables-sync-period"),
]


def run_all(commands: list[list[str]]) -> list[subprocess.CompletedProcess[str]]:
    """Run the commands side by side (each pays for its own imports)."""
    running = [subprocess.Popen(c, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for c in commands]
    results = []
    for command, process in zip(commands, running, strict=True):
        out, err = process.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(command, process.returncode, out, err))
    return results


@pytest.mark.parametrize(("module", "flag"), DURATION_FLAGS)
def test_component_accepts_go_durations_and_refuses_others_in_one_line(module: str, flag: str) -> None:
    accepted = ["5m0s", "1h", "300ms"]
    commands = [[sys.executable, "-m", module, f"{flag}={value}", "--help"] for value in accepted]
    commands.append([sys.executable, "-m", module, f"{flag}=5 minutes", "--help"])
    *ok, refused = run_all(commands)
    for value, result in zip(accepted, ok, strict=True):
        assert result.returncode == 0, (value, result.stderr)
        assert flag in result.stdout  # the help text: the value was parsed, nothing started
    assert refused.returncode == 2, refused
    assert refused.stdout == ""
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr == (
        f"python -m {module}: error: argument {flag}: invalid duration '5 minutes': "
        'time: unknown unit " minutes" in duration "5 minutes"\n')
