"""`tinykube delete`: waits until the object is really gone; -l, --all, -f, not-found."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.integration.cli_helpers import tinykube
from tinykube.testing.processes import APIServerProcess, wait_until


def make_configmap(http: httpx.Client, namespace: str, name: str, **extra: Any) -> None:
    response = http.post(f"/api/v1/namespaces/{namespace}/configmaps",
                         json={"metadata": {"name": name, **extra}})
    assert response.status_code == 201, response.text


def test_delete_waits_for_finalizers_unless_told_not_to(
        apiserver: APIServerProcess, http: httpx.Client, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps/held"
    make_configmap(http, namespace, "held", finalizers=["example.com/hold"])
    process = subprocess.Popen([sys.executable, "-m", "tinykube.cli", "--kubeconfig",
                                str(apiserver.kubeconfig), "-n", namespace, "delete", "cm", "held"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: "deletionTimestamp" in http.get(path).json()["metadata"], 30,
                   "the configmap to be marked for deletion")
        assert process.poll() is None  # the finalizer still holds the object: still waiting
        released = http.patch(path, json={"metadata": {"finalizers": None}},
                              headers={"Content-Type": "application/merge-patch+json"})
        assert released.status_code == 200, released.text
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert (process.returncode, stdout) == (0, 'configmap "held" deleted\n'), stderr
    assert http.get(path).status_code == 404

    make_configmap(http, namespace, "held2", finalizers=["example.com/hold"])
    quick = tinykube(apiserver, "-n", namespace, "delete", "configmap/held2", "--wait=false")
    assert (quick.returncode, quick.stdout) == (0, 'configmap "held2" deleted\n'), quick.stderr
    assert "deletionTimestamp" in http.get(f"{path}2").json()["metadata"]
    http.patch(f"{path}2", json={"metadata": {"finalizers": None}},
               headers={"Content-Type": "application/merge-patch+json"})


def test_delete_by_label_all_file_and_missing(apiserver: APIServerProcess, http: httpx.Client,
                                              namespace: str, tmp_path: Path) -> None:
    for name, app in (("a", "x"), ("b", "x"), ("c", "y")):
        make_configmap(http, namespace, name, labels={"app": app})
    by_label = tinykube(apiserver, "-n", namespace, "delete", "cm", "-l", "app=x")
    assert by_label.stdout == 'configmap "a" deleted\nconfigmap "b" deleted\n', by_label.stderr
    manifest = tmp_path / "c.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    from_file = tinykube(apiserver, "-n", namespace, "delete", "-f", str(manifest))
    assert from_file.stdout == 'configmap "c" deleted\n', from_file.stderr
    again = tinykube(apiserver, "-n", namespace, "delete", "-f", str(manifest))
    assert again.returncode == 1
    assert again.stderr == (f'Error from server (NotFound): error when deleting "{manifest}": '
                            'configmaps "c" not found\n')
    ignored = tinykube(apiserver, "-n", namespace, "delete", "cm", "c", "--ignore-not-found")
    assert (ignored.returncode, ignored.stdout, ignored.stderr) == (0, "", "")

    make_configmap(http, namespace, "d")
    make_configmap(http, namespace, "e")
    # Flags between the type and the name, as kubectl takes them.
    shown = tinykube(apiserver, "get", "cm", "-n", namespace, "d", "-o", "name")
    assert (shown.returncode, shown.stdout) == (0, "configmap/d\n"), shown.stderr
    one = tinykube(apiserver, "delete", "cm", "-n", namespace, "d", "--wait=false")
    assert one.stdout == 'configmap "d" deleted\n', one.stderr
    make_configmap(http, namespace, "d")
    everything = tinykube(apiserver, "-n", namespace, "delete", "configmaps", "--all", "--force")
    assert 'configmap "d" deleted' in everything.stdout and 'configmap "e" deleted' in everything.stdout
    remaining = http.get(f"/api/v1/namespaces/{namespace}/configmaps").json()["items"]
    assert [i["metadata"]["name"] for i in remaining if i["metadata"]["name"] in "de"] == []
