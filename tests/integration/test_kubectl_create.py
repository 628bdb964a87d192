"""The real kubectl's `create` generators work: they send protobuf bodies.

`kubectl create deployment/configmap/secret/namespace/service/serviceaccount/ingress`
POSTs `application/vnd.kubernetes.protobuf` with no JSON fallback; the objects must
come out as if they had been sent as JSON.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from tinykube.testing.processes import APIServerProcess

KUBECTL = shutil.which("kubectl")
PROTOBUF = "application/vnd.kubernetes.protobuf"


def kubectl(apiserver: APIServerProcess, cache_dir: Path, *args: str) -> str:
    result = subprocess.run(
        [KUBECTL or "kubectl", "--kubeconfig", str(apiserver.kubeconfig),
         "--cache-dir", str(cache_dir), *args],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"kubectl {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed on this machine")
def test_kubectl_create_generators(apiserver: APIServerProcess, http: httpx.Client,
                                   namespace: str, tmp_path: Path) -> None:
    cache = tmp_path / "kube-cache"
    ns = ("-n", namespace)
    assert "deployment.apps/web created" in kubectl(
        apiserver, cache, "create", "deployment", "web", "--image=busybox:1.36",
        "--replicas=0", "--port=8080", *ns)
    kubectl(apiserver, cache, "create", "configmap", "settings", "--from-literal=mode=fast",
            "--from-literal=empty=", *ns)
    kubectl(apiserver, cache, "create", "secret", "generic", "creds",
            "--from-literal=password=s3cr3t", *ns)
    kubectl(apiserver, cache, "create", "service", "clusterip", "web", "--tcp=80:8080", *ns)
    kubectl(apiserver, cache, "create", "serviceaccount", "robot", *ns)
    kubectl(apiserver, cache, "create", "ingress", "web", "--rule=web.example.com/=web:80", *ns)
    new_namespace = f"t-{uuid.uuid4().hex[:10]}"
    assert f"namespace/{new_namespace} created" in kubectl(
        apiserver, cache, "create", "namespace", new_namespace)

    base = f"/api/v1/namespaces/{namespace}"
    deployment = http.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/web").json()
    assert deployment["spec"]["replicas"] == 0  # a pointer field's zero survives
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "busybox:1.36"
    assert container["ports"][0]["containerPort"] == 8080
    assert deployment["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert deployment["metadata"]["managedFields"][0]["manager"] == "kubectl-create"

    assert http.get(f"{base}/configmaps/settings").json()["data"] == {"mode": "fast", "empty": ""}
    secret = http.get(f"{base}/secrets/creds").json()
    assert secret["data"] == {"password": base64.b64encode(b"s3cr3t").decode()}
    assert secret["type"] == "Opaque"

    service = http.get(f"{base}/services/web").json()
    assert service["spec"]["ports"][0]["port"] == 80
    assert service["spec"]["ports"][0]["targetPort"] == 8080
    assert service["spec"]["clusterIP"].startswith("10.96.")
    assert http.get(f"{base}/serviceaccounts/robot").status_code == 200
    ingress = http.get(f"/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses/web").json()
    assert ingress["spec"]["rules"][0]["host"] == "web.example.com"
    assert http.get(f"/api/v1/namespaces/{new_namespace}").status_code == 200


def _field(number: int, value: str | bytes) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return bytes([number << 3 | 2, len(data)]) + data


def _configmap_body(metadata: bytes, rest: bytes = b"") -> bytes:
    """`k8s\\x00` + runtime.Unknown{typeMeta: v1 ConfigMap, raw: ConfigMap{metadata, rest}}."""
    type_meta = _field(1, "v1") + _field(2, "ConfigMap")
    return b"k8s\x00" + _field(1, type_meta) + _field(2, _field(1, metadata) + rest)


def test_unknown_protobuf_field_is_refused_by_name(http: httpx.Client, namespace: str) -> None:
    body = _configmap_body(_field(1, "odd") + _field(15, "unknown"))
    response = http.post(f"/api/v1/namespaces/{namespace}/configmaps", content=body,
                         headers={"Content-Type": PROTOBUF})
    assert response.status_code == 415
    assert response.json()["reason"] == "UnsupportedMediaType"
    assert "field 15" in response.json()["message"]
    assert "ObjectMeta" in response.json()["message"]
    assert http.get(f"/api/v1/namespaces/{namespace}/configmaps/odd").status_code == 404


def test_truncated_protobuf_is_a_bad_request(http: httpx.Client, namespace: str) -> None:
    body = _configmap_body(_field(1, "cut"))[:-2]
    response = http.post(f"/api/v1/namespaces/{namespace}/configmaps", content=body,
                         headers={"Content-Type": PROTOBUF})
    assert response.status_code == 400
    assert "could not be decoded" in response.json()["message"]


def test_protobuf_configmap_is_created(http: httpx.Client, namespace: str) -> None:
    data_entry = _field(2, _field(1, "k") + _field(2, "v"))  # ConfigMap.data = {"k": "v"}
    body = _configmap_body(_field(1, "plain"), data_entry)
    response = http.post(f"/api/v1/namespaces/{namespace}/configmaps", content=body,
                         headers={"Content-Type": PROTOBUF})
    assert response.status_code == 201, response.text
    assert response.json()["data"] == {"k": "v"}
