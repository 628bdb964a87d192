"""`subPath: ../../etc` and friends are refused by the API, as kubectl shows them.

Kubernetes counterpart: pkg/apis/core/validation/validation.go (validateLocalDescendingPath)
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tinykube.testing.processes import APIServerProcess

if shutil.which("kubectl") is None:
    pytest.skip("kubectl is not on PATH", allow_module_level=True)

POD = """apiVersion: v1
kind: Pod
metadata: {name: escape}
spec:
  containers:
  - name: c
    image: busybox
    volumeMounts:
    - {name: scratch, mountPath: /host-etc, subPath: ../../etc}
  volumes:
  - {name: scratch, emptyDir: {}}
"""


def test_sub_path_with_backsteps_is_422_and_nothing_is_stored(
        apiserver: APIServerProcess, http: httpx.Client, namespace: str, tmp_path: Path) -> None:
    result = subprocess.run(
        ["kubectl", "--kubeconfig", str(apiserver.kubeconfig), "--cache-dir", str(tmp_path / "cache"),
         "-n", namespace, "create", "-f", "-", "-o", "name"],
        input=POD, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert 'The Pod "escape" is invalid: spec.containers[0].volumeMounts[0].subPath: ' \
           'Invalid value: "../../etc": must not contain \'..\'' in result.stderr
    direct = http.post(f"/api/v1/namespaces/{namespace}/pods", content=POD,
                       headers={"Content-Type": "application/yaml"})
    assert direct.status_code == 422 and direct.json()["reason"] == "Invalid"
    assert http.get(f"/api/v1/namespaces/{namespace}/pods/escape").status_code == 404
