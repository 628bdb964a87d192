"""`tinykube events`: kubectl's columns, time order, --for, --types, -A and -w."""

from __future__ import annotations

import subprocess
import sys
import threading

import httpx

from tests.integration.cli_helpers import create, tinykube
from tinykube.testing.processes import APIServerProcess


def make_event(http: httpx.Client, namespace: str, name: str, kind: str, obj: str, reason: str,
               when: str, event_type: str = "Normal", count: int = 1) -> None:
    create(http, f"/api/v1/namespaces/{namespace}/events", {
        "metadata": {"name": name},
        "involvedObject": {"kind": kind, "name": obj, "namespace": namespace},
        "reason": reason, "message": f"{reason} happened", "type": event_type,
        "firstTimestamp": "2024-01-01T00:00:00Z", "lastTimestamp": when, "count": count})


def test_events_sorted_by_time_with_kubectl_columns(apiserver: APIServerProcess, http: httpx.Client,
                                                    namespace: str) -> None:
    make_event(http, namespace, "e1", "Pod", "web", "Late", "2024-01-03T00:00:00Z")
    make_event(http, namespace, "e2", "Deployment", "web", "Early", "2024-01-02T00:00:00Z",
               event_type="Warning", count=3)
    result = tinykube(apiserver, "-n", namespace, "events")
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert [row.split("   ")[-1].strip() for row in rows] == ["Early happened", "Late happened"]
    assert "deployment/web" in rows[0] and "Warning" in rows[0] and "(x3 over " in rows[0]
    assert "pod/web" in rows[1]

    warnings = tinykube(apiserver, "-n", namespace, "events", "--types=Warning")
    assert warnings.stdout.splitlines()[1:] == [rows[0]]
    for_pod = tinykube(apiserver, "-n", namespace, "events", "--for", "pod/web")
    assert [line.split()[-2:] for line in for_pod.stdout.splitlines()[1:]] == [["Late", "happened"]]

    everywhere = tinykube(apiserver, "events", "-A")
    assert everywhere.stdout.splitlines()[0].split()[0] == "NAMESPACE"
    assert any(line.startswith(namespace) and "Late happened" in line
               for line in everywhere.stdout.splitlines())


def test_no_events(apiserver: APIServerProcess, namespace: str) -> None:
    result = tinykube(apiserver, "-n", namespace, "events")
    assert result.returncode == 0
    assert result.stderr.strip() == f"No events found in {namespace} namespace."


def test_events_watch_streams_new_events(apiserver: APIServerProcess, http: httpx.Client,
                                         namespace: str) -> None:
    make_event(http, namespace, "first", "Pod", "web", "First", "2024-01-01T00:00:00Z")
    with subprocess.Popen([sys.executable, "-m", "tinykube.cli", "--kubeconfig",
                           str(apiserver.kubeconfig), "-n", namespace, "events", "-w"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as watcher:
        try:
            _follow(http, namespace, watcher)
        finally:
            watcher.terminate()


def _follow(http: httpx.Client, namespace: str, watcher: subprocess.Popen[str]) -> None:
    assert watcher.stdout is not None
    lines: list[str] = []
    seen_second = threading.Event()

    def read() -> None:
        assert watcher.stdout is not None
        for line in watcher.stdout:
            lines.append(line)
            if "Second happened" in line:
                seen_second.set()
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    # The listed event is printed once the list is done; create the next after it.
    while not any("First happened" in line for line in lines):
        assert watcher.poll() is None, watcher.stderr.read() if watcher.stderr else ""
        reader.join(timeout=0.05)
    make_event(http, namespace, "second", "Pod", "web", "Second", "2024-01-02T00:00:00Z")
    assert seen_second.wait(timeout=30), "".join(lines)
