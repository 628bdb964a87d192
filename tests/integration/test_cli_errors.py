"""Bad inputs give one clear line and a non-zero exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tinykube.testing.processes import APIServerProcess, free_port, kubeconfig_text


def tinykube(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tinykube.cli", "--kubeconfig", str(kubeconfig),
                           *args], capture_output=True, text=True, timeout=60)


def test_invalid_yaml_names_file_and_line(apiserver: APIServerProcess, tmp_path: Path) -> None:
    manifest = tmp_path / "bad.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: a: b\n")
    result = tinykube(apiserver.kubeconfig, "apply", "-f", str(manifest))
    assert result.returncode == 1
    assert result.stderr == (f"error: error parsing {manifest}: error converting YAML to JSON: "
                             "yaml: line 5: mapping values are not allowed in this context\n")


def test_unknown_kind_uses_kubectls_words(apiserver: APIServerProcess, tmp_path: Path) -> None:
    manifest = tmp_path / "foo.yaml"
    manifest.write_text("apiVersion: v1\nkind: Foo\nmetadata: {name: x}\n")
    result = tinykube(apiserver.kubeconfig, "apply", "-f", str(manifest))
    assert result.returncode == 1
    assert result.stderr == (f'error: resource mapping not found for name: "x" namespace: "" from '
                             f'"{manifest}": no matches for kind "Foo" in version "v1"\n')
    unknown_type = tinykube(apiserver.kubeconfig, "get", "foos")
    assert (unknown_type.returncode, unknown_type.stderr) == (
        1, 'error: the server doesn\'t have a resource type "foos"\n')


def test_missing_namespace(apiserver: APIServerProcess, http: httpx.Client, tmp_path: Path) -> None:
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    result = tinykube(apiserver.kubeconfig, "-n", "no-such-namespace", "apply", "-f", str(manifest))
    assert result.returncode == 1
    assert result.stderr == (f'Error from server (NotFound): error when creating "{manifest}": '
                             'namespaces "no-such-namespace" not found\n')


def test_unreachable_server_names_it_and_suggests_make_up(apiserver: APIServerProcess,
                                                          tmp_path: Path) -> None:
    server = f"https://127.0.0.1:{free_port()}"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(kubeconfig_text(server, apiserver.ca_file, apiserver.token))
    result = tinykube(kubeconfig, "get", "pods")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and server in lines[0] and "make up" in lines[0], result.stderr


def test_wrong_token(apiserver: APIServerProcess, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(kubeconfig_text(apiserver.https_url, apiserver.ca_file, "wrong-token"))
    for args in (("get", "pods"), ("apply", "-f", "-")):
        result = subprocess.run([sys.executable, "-m", "tinykube.cli", "--kubeconfig",
                                 str(kubeconfig), *args], capture_output=True, text=True, timeout=60,
                                input="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
        assert result.returncode == 1
        assert result.stderr == "error: You must be logged in to the server (Unauthorized)\n"
