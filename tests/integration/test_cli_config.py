"""`tinykube config`: contexts are edited in the kubeconfig file, kubectl-compatibly."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from tinykube.testing.processes import APIServerProcess


def tinykube(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tinykube.cli", "--kubeconfig", str(kubeconfig),
                           *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def kubeconfig(apiserver: APIServerProcess, tmp_path: Path) -> Path:
    copy = tmp_path / "kubeconfig"
    shutil.copy(apiserver.kubeconfig, copy)
    return copy


def test_contexts_switch_namespace_and_current(kubeconfig: Path, http: httpx.Client,
                                               namespace: str) -> None:
    assert tinykube(kubeconfig, "config", "current-context").stdout == "tinykube\n"
    created = tinykube(kubeconfig, "config", "set-context", "work", "--cluster", "tinykube",
                       "--user", "tinykube-admin", "--namespace", namespace)
    assert created.stdout == 'Context "work" created.\n', created.stderr
    switched = tinykube(kubeconfig, "config", "use-context", "work")
    assert switched.stdout == 'Switched to context "work".\n'
    assert yaml.safe_load(kubeconfig.read_text())["current-context"] == "work"

    http.post(f"/api/v1/namespaces/{namespace}/configmaps", json={"metadata": {"name": "here"}})
    listed = tinykube(kubeconfig, "get", "configmaps", "-o", "name")
    assert "configmap/here" in listed.stdout.splitlines(), listed.stderr

    modified = tinykube(kubeconfig, "config", "set-context", "--current", "--namespace", "kube-system")
    assert modified.stdout == 'Context "work" modified.\n'
    contexts = tinykube(kubeconfig, "config", "get-contexts").stdout.splitlines()
    assert contexts[0].split() == ["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"]
    assert contexts[1].split() == ["tinykube", "tinykube", "tinykube-admin", "default"]
    assert contexts[2].split() == ["*", "work", "tinykube", "tinykube-admin", "kube-system"]

    missing = tinykube(kubeconfig, "config", "use-context", "nope")
    assert (missing.returncode, missing.stderr) == (1, 'error: no context exists with the name: "nope"\n')


def test_view_redacts_secrets_unless_raw(kubeconfig: Path, apiserver: APIServerProcess) -> None:
    viewed = yaml.safe_load(tinykube(kubeconfig, "config", "view").stdout)
    assert viewed["users"][0]["user"]["token"] == "REDACTED"
    raw = yaml.safe_load(tinykube(kubeconfig, "config", "view", "--raw", "--minify").stdout)
    assert raw["users"][0]["user"]["token"] == apiserver.token
    assert [c["name"] for c in raw["contexts"]] == ["tinykube"]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_reads_the_edited_file(kubeconfig: Path) -> None:
    tinykube(kubeconfig, "config", "set-context", "--current", "--namespace", "kube-public")
    result = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "config", "view",
                             "--minify", "-o", "jsonpath={.contexts[0].context.namespace}"],
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (0, "kube-public"), result.stderr
