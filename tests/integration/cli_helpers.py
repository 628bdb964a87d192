"""Running the `tinykube` CLI as a user would: a subprocess against the test API server."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx

from tinykube.testing.processes import APIServerProcess


def tinykube(apiserver: APIServerProcess, *args: str, stdin: str | None = None,
             env: dict[str, str] | None = None,
             timeout_seconds: float = 60) -> subprocess.CompletedProcess[str]:
    """`tinykube --kubeconfig <the test cluster's> ARGS...` over HTTPS with a token."""
    return subprocess.run([sys.executable, "-m", "tinykube.cli", "--kubeconfig",
                           str(apiserver.kubeconfig), *args], input=stdin,
                          capture_output=True, text=True, timeout=timeout_seconds, env=env)


def create(http: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST an object on the plain port; the test fails unless it is created."""
    response = http.post(path, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
