"""`tinykube get`: server-side tables, every output format, several kinds, -A, and -w."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from typing import Any

import httpx
import yaml

from tests.integration.cli_helpers import create, tinykube
from tinykube.testing.processes import APIServerProcess


def make_pod(http: httpx.Client, namespace: str, name: str, **labels: str) -> None:
    create(http, f"/api/v1/namespaces/{namespace}/pods", {
        "metadata": {"name": name, "labels": labels or {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}})


def make_deployment(http: httpx.Client, namespace: str, name: str) -> None:
    create(http, f"/apis/apps/v1/namespaces/{namespace}/deployments", {
        "metadata": {"name": name},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "main", "image": "nginx:1.25"}]}}}})


def columns(line: str) -> list[str]:
    return line.split()


def test_table_wide_labels_and_all_namespaces(apiserver: APIServerProcess, http: httpx.Client,
                                              namespace: str) -> None:
    make_pod(http, namespace, "a", app="web", tier="front")
    make_pod(http, namespace, "b")
    table = tinykube(apiserver, "-n", namespace, "get", "pods")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert columns(lines[0]) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [columns(line)[:4] for line in lines[1:]] == [["a", "0/1", "Pending", "0"],
                                                          ["b", "0/1", "Pending", "0"]]
    # kubectl's layout: each column starts where the header's does.
    assert lines[1].index("0/1") == lines[0].index("READY")

    wide = tinykube(apiserver, "-n", namespace, "get", "po", "-o", "wide", "--show-labels")
    header = wide.stdout.splitlines()[0]
    assert columns(header)[5:7] == ["IP", "NODE"] and header.split()[-1] == "LABELS"
    assert wide.stdout.splitlines()[1].endswith("app=web,tier=front")

    everywhere = tinykube(apiserver, "get", "pods", "-A", "-l", "tier=front")
    rows = everywhere.stdout.splitlines()
    assert columns(rows[0])[:2] == ["NAMESPACE", "NAME"]
    assert [columns(r)[:2] for r in rows[1:]] == [[namespace, "a"]]

    selected = tinykube(apiserver, "-n", namespace, "get", "pods", "--field-selector",
                        "metadata.name=b", "-o", "name")
    assert selected.stdout == "pod/b\n"


def test_every_output_format(apiserver: APIServerProcess, http: httpx.Client, namespace: str) -> None:
    make_deployment(http, namespace, "web")
    make_deployment(http, namespace, "api")
    as_json = json.loads(tinykube(apiserver, "-n", namespace, "get", "deploy", "web", "-o", "json").stdout)
    assert (as_json["kind"], as_json["metadata"]["name"], as_json["spec"]["replicas"]) == \
        ("Deployment", "web", 2)
    as_yaml = yaml.safe_load(tinykube(apiserver, "-n", namespace, "get", "deployments.apps", "-o",
                                      "yaml").stdout)
    assert as_yaml["kind"] == "List"
    assert sorted(i["metadata"]["name"] for i in as_yaml["items"]) == ["api", "web"]
    names = tinykube(apiserver, "-n", namespace, "get", "deployment", "-o", "name")
    assert names.stdout == "deployment.apps/api\ndeployment.apps/web\n"
    jsonpath = tinykube(apiserver, "-n", namespace, "get", "deploy", "-o",
                        'jsonpath={range .items[*]}{.metadata.name}={.spec.replicas}{"\\n"}{end}')
    assert jsonpath.stdout == "api=2\nweb=2\n", jsonpath.stderr
    custom = tinykube(apiserver, "-n", namespace, "get", "deploy", "-o",
                      "custom-columns=NAME:.metadata.name,IMAGE:.spec.template.spec.containers[*].image")
    assert [columns(line) for line in custom.stdout.splitlines()] == [
        ["NAME", "IMAGE"], ["api", "nginx:1.25"], ["web", "nginx:1.25"]]
    wide = tinykube(apiserver, "-n", namespace, "get", "deploy/web", "-o", "wide")
    assert columns(wide.stdout.splitlines()[0])[-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"]


def test_several_kinds_get_all_and_not_found(apiserver: APIServerProcess, http: httpx.Client,
                                             namespace: str) -> None:
    make_deployment(http, namespace, "web")
    create(http, f"/api/v1/namespaces/{namespace}/services", {
        "metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    both = tinykube(apiserver, "-n", namespace, "get", "deploy,svc")
    blocks = both.stdout.split("\n\n")
    assert len(blocks) == 2, both.stdout
    assert columns(blocks[0].splitlines()[1])[0] == "deployment.apps/web"
    assert columns(blocks[1].splitlines()[1])[0] == "service/web"
    everything = tinykube(apiserver, "-n", namespace, "get", "all")
    assert "service/web" in everything.stdout and "deployment.apps/web" in everything.stdout

    missing = tinykube(apiserver, "-n", namespace, "get", "deploy", "nope")
    assert missing.returncode == 1
    assert missing.stderr == 'Error from server (NotFound): deployments.apps "nope" not found\n'
    empty = tinykube(apiserver, "-n", namespace, "get", "configmaps", "-l", "app=none")
    assert (empty.returncode, empty.stdout) == (0, "")
    assert empty.stderr == f"No resources found in {namespace} namespace.\n"


def read_lines(stream: Any, lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))


def next_line_matching(lines: queue.Queue[str], word: str, timeout_seconds: float = 30) -> str:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if word in line.split():
            return line
    raise AssertionError(f"no line with {word!r} within {timeout_seconds}s")


def test_watch_prints_changes_as_new_rows(apiserver: APIServerProcess, http: httpx.Client,
                                          namespace: str) -> None:
    make_pod(http, namespace, "first")
    process = subprocess.Popen([sys.executable, "-m", "tinykube.cli", "--kubeconfig",
                                str(apiserver.kubeconfig), "-n", namespace, "get", "pods", "-w"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=read_lines, args=(process.stdout, lines), daemon=True).start()
    try:
        header = next_line_matching(lines, "NAME")
        first = next_line_matching(lines, "first")
        assert first.index("0/1") == header.index("READY")
        make_pod(http, namespace, "second")
        assert columns(next_line_matching(lines, "second"))[:3] == ["second", "0/1", "Pending"]
        assert process.poll() is None  # still watching
    finally:
        process.terminate()
        process.communicate(timeout=10)
