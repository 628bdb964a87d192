"""CertificateSigningRequests through the real kubectl: create, get, certificate approve|deny."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from tinykube import pki
from tinykube.testing.processes import APIServerProcess

if shutil.which("kubectl") is None:
    pytest.skip("kubectl is not on PATH", allow_module_level=True)


def kubectl(apiserver: APIServerProcess, cache: Path, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(["kubectl", "--kubeconfig", str(apiserver.kubeconfig), "--cache-dir", str(cache),
                             *args], input=stdin, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"kubectl {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


def manifest(name: str) -> str:
    request = pki.certificate_request_pem(pki.new_private_key(), "alice", ["developers"])
    return json.dumps({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
                       "metadata": {"name": name},
                       "spec": {"request": base64.b64encode(request).decode(), "expirationSeconds": 86400,
                                "signerName": "kubernetes.io/kube-apiserver-client",
                                "usages": ["client auth"], "username": "someone-else"}})


def test_kubectl_creates_lists_approves_and_denies_requests(apiserver: APIServerProcess, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    approve, deny = f"alice-{uuid.uuid4().hex[:6]}", f"bob-{uuid.uuid4().hex[:6]}"
    for name in (approve, deny):
        kubectl(apiserver, cache, "create", "-f", "-", stdin=manifest(name))
    table = kubectl(apiserver, cache, "get", "csr", approve)
    header, row = table.splitlines()
    assert header.split() == ["NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION", "CONDITION"]
    # The requestor is who created it (the test's admin token), not what the body claimed.
    assert row.split()[2:] == ["kubernetes.io/kube-apiserver-client", "admin", "24h", "Pending"]
    assert f"certificatesigningrequest.certificates.k8s.io/{approve} approved" in \
        kubectl(apiserver, cache, "certificate", "approve", approve)
    assert f"certificatesigningrequest.certificates.k8s.io/{deny} denied" in \
        kubectl(apiserver, cache, "certificate", "deny", deny)
    assert kubectl(apiserver, cache, "get", "csr", approve, "--no-headers").split()[-1] == "Approved"
    assert kubectl(apiserver, cache, "get", "csr", deny, "--no-headers").split()[-1] == "Denied"
    approved = json.loads(kubectl(apiserver, cache, "get", "csr", approve, "-o", "json"))
    [condition] = approved["status"]["conditions"]
    assert condition["reason"] == "KubectlApprove" and condition["lastUpdateTime"]


def test_invalid_requests_are_422_with_upstreams_causes(apiserver: APIServerProcess) -> None:
    body = json.loads(manifest("broken"))
    body["spec"]["request"] = base64.b64encode(b"nonsense").decode()
    body["spec"]["usages"] = []
    response = httpx.post(f"{apiserver.http_url}/apis/certificates.k8s.io/v1/certificatesigningrequests",
                          json=body, timeout=30)
    assert response.status_code == 422
    causes = {(c["field"], c["reason"]) for c in response.json()["details"]["causes"]}
    assert causes == {("spec.request", "FieldValueInvalid"), ("spec.usages", "FieldValueRequired")}
    assert httpx.get(f"{apiserver.http_url}/apis/certificates.k8s.io/v1/certificatesigningrequests/broken",
                     timeout=30).status_code == 404
