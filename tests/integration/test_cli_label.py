"""`tinykube label` and `annotate`: set, refuse without --overwrite, remove, select."""

from __future__ import annotations

import httpx

from tests.integration.cli_helpers import create, tinykube
from tinykube.testing.processes import APIServerProcess


def make_pods(http: httpx.Client, namespace: str, *names: str) -> None:
    for name in names:
        create(http, f"/api/v1/namespaces/{namespace}/pods", {
            "metadata": {"name": name, "labels": {"app": "web", "tier": name}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}})


def labels_of(http: httpx.Client, namespace: str, name: str, field: str = "labels") -> dict[str, str]:
    result: dict[str, str] = http.get(f"/api/v1/namespaces/{namespace}/pods/{name}").json()[
        "metadata"].get(field) or {}
    return result


def test_label_sets_refuses_overwrite_then_overwrites_and_removes(
        apiserver: APIServerProcess, http: httpx.Client, namespace: str) -> None:
    make_pods(http, namespace, "a")
    added = tinykube(apiserver, "-n", namespace, "label", "pod", "a", "env=prod")
    assert (added.returncode, added.stdout) == (0, "pod/a labeled\n"), added.stderr
    assert labels_of(http, namespace, "a")["env"] == "prod"

    refused = tinykube(apiserver, "-n", namespace, "label", "pod/a", "env=dev")
    assert refused.returncode == 1
    assert refused.stderr.strip() == "error: 'env' already has a value (prod), and --overwrite is false"
    assert labels_of(http, namespace, "a")["env"] == "prod"

    same = tinykube(apiserver, "-n", namespace, "label", "pod/a", "env=prod")
    assert same.stdout == "pod/a not labeled\n"

    changed = tinykube(apiserver, "-n", namespace, "label", "pod/a", "env=dev", "--overwrite")
    assert changed.stdout == "pod/a labeled\n"
    assert labels_of(http, namespace, "a")["env"] == "dev"

    removed = tinykube(apiserver, "-n", namespace, "label", "pod/a", "env-")
    assert removed.stdout == "pod/a unlabeled\n"
    assert "env" not in labels_of(http, namespace, "a")


def test_label_by_selector_and_all(apiserver: APIServerProcess, http: httpx.Client,
                                   namespace: str) -> None:
    make_pods(http, namespace, "a", "b", "c")
    selected = tinykube(apiserver, "-n", namespace, "label", "pods", "-l", "tier in (a,b)", "picked=yes")
    assert selected.returncode == 0, selected.stderr
    assert sorted(selected.stdout.splitlines()) == ["pod/a labeled", "pod/b labeled"]
    assert "picked" not in labels_of(http, namespace, "c")

    everything = tinykube(apiserver, "-n", namespace, "label", "pods", "--all", "batch=1")
    assert sorted(everything.stdout.splitlines()) == ["pod/a labeled", "pod/b labeled", "pod/c labeled"]

    no_name = tinykube(apiserver, "-n", namespace, "label", "pods", "x=1")
    assert no_name.returncode == 1 and "no name was specified" in no_name.stderr


def test_label_rejects_invalid_value(apiserver: APIServerProcess, http: httpx.Client,
                                     namespace: str) -> None:
    make_pods(http, namespace, "a")
    result = tinykube(apiserver, "-n", namespace, "label", "pod/a", "bad=has space")
    assert result.returncode == 1 and "invalid label" in result.stderr


def test_annotate_accepts_any_value_and_removes(apiserver: APIServerProcess, http: httpx.Client,
                                                namespace: str) -> None:
    make_pods(http, namespace, "a")
    result = tinykube(apiserver, "-n", namespace, "annotate", "pod", "a", "note=hello world")
    assert (result.returncode, result.stdout) == (0, "pod/a annotated\n"), result.stderr
    assert labels_of(http, namespace, "a", "annotations")["note"] == "hello world"
    refused = tinykube(apiserver, "-n", namespace, "annotate", "pod/a", "note=bye")
    assert refused.returncode == 1 and "--overwrite is false" in refused.stderr
    removed = tinykube(apiserver, "-n", namespace, "annotate", "pod/a", "note-")
    assert removed.stdout == "pod/a annotated\n"
    assert "note" not in labels_of(http, namespace, "a", "annotations")
