"""Operators written with the Python ecosystem's own tools, against a real API server.

- kopf (unmodified, from PyPI) runs `examples/operator/webapp_operator.py` as a real
  `kopf run` subprocess with a kubeconfig: a WebApp gets a Deployment and a Service
  (through lightkube, server-side apply), a status, kopf's finalizer, and on delete
  both children go before the WebApp does;
- lightkube's generic resources do the same story's client side directly: create,
  list, watch, patch /status and /scale, delete a custom resource.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from control_plane_fixtures import wait_for

from tinykube.testing.processes import REPO_ROOT, APIServerProcess

kopf = pytest.importorskip("kopf")
lightkube = pytest.importorskip("lightkube")

EXAMPLE = REPO_ROOT / "examples" / "operator"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
CRD_NAME = "webapps.demo.tinykube.dev"
Obj = dict[str, Any]


@pytest.fixture(scope="module")
def webapp_crd(apiserver: APIServerProcess) -> Iterator[None]:
    with httpx.Client(base_url=apiserver.http_url, timeout=30) as http:
        crd = yaml.safe_load((EXAMPLE / "crd.yaml").read_text())
        response = http.post(CRDS, json=crd)
        assert response.status_code in (201, 409), response.text
        wait_for(lambda: http.get(f"/apis/demo.tinykube.dev/v1").status_code == 200, "served")
        yield
        # A failed test may leave a WebApp whose operator is gone: release it.
        for app in http.get("/apis/demo.tinykube.dev/v1/webapps").json()["items"]:
            http.patch(f"{webapps(app['metadata']['namespace'])}/{app['metadata']['name']}",
                       json={"metadata": {"finalizers": None}},
                       headers={"Content-Type": "application/merge-patch+json"})
        http.delete(f"{CRDS}/{CRD_NAME}")
        wait_for(lambda: http.get(f"{CRDS}/{CRD_NAME}").status_code == 404, "the CRD to go")


def webapps(namespace: str) -> str:
    return f"/apis/demo.tinykube.dev/v1/namespaces/{namespace}/webapps"


@pytest.fixture
def operator(apiserver: APIServerProcess, webapp_crd: None, namespace: str,
             tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    log = (tmp_path / "kopf.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "kopf", "run", "--standalone", "--namespace", namespace,
         str(EXAMPLE / "webapp_operator.py")],
        env={**os.environ, "KUBECONFIG": str(apiserver.kubeconfig)}, stdout=log,
        stderr=subprocess.STDOUT, text=True, cwd=REPO_ROOT)
    yield process
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()
    print((tmp_path / "kopf.log").read_text()[-4000:])


def test_a_kopf_operator_creates_children_writes_status_and_cleans_up(
        http: httpx.Client, namespace: str, operator: subprocess.Popen[str]) -> None:
    app = yaml.safe_load((EXAMPLE / "webapp.yaml").read_text())
    created = http.post(webapps(namespace), json=app)
    assert created.status_code == 201, created.text
    deployment_url = f"/apis/apps/v1/namespaces/{namespace}/deployments/hello"
    service_url = f"/api/v1/namespaces/{namespace}/services/hello"

    deployment = wait_for(lambda: (r := http.get(deployment_url)).status_code == 200 and r.json(),
                          "the operator's Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["metadata"]["ownerReferences"][0]["uid"] == created.json()["metadata"]["uid"]
    service = wait_for(lambda: (r := http.get(service_url)).status_code == 200 and r.json(),
                       "the operator's Service")
    assert service["spec"]["ports"][0]["port"] == 8080
    status = wait_for(lambda: (http.get(f"{webapps(namespace)}/hello").json().get("status")
                               or {}).get("phase") == "Deployed" and
                      http.get(f"{webapps(namespace)}/hello").json(), "status written")
    assert status["status"]["replicas"] == 2
    assert "kopf.zalando.org/KopfFinalizerMarker" in status["metadata"]["finalizers"]

    changed = http.patch(f"{webapps(namespace)}/hello", json={"spec": {"replicas": 3}},
                         headers={"Content-Type": "application/merge-patch+json"})
    assert changed.status_code == 200, changed.text
    wait_for(lambda: http.get(deployment_url).json()["spec"]["replicas"] == 3, "the update")

    assert http.delete(f"{webapps(namespace)}/hello").status_code == 200
    wait_for(lambda: http.get(f"{webapps(namespace)}/hello").status_code == 404,
             "the WebApp to go once the operator released it")
    assert http.get(deployment_url).status_code == 404
    assert http.get(service_url).status_code == 404
    assert operator.poll() is None, "the operator exited"


def test_lightkube_generic_resources_work_on_custom_resources(
        apiserver: APIServerProcess, webapp_crd: None, namespace: str) -> None:
    from lightkube import Client, KubeConfig
    from lightkube.generic_resource import create_namespaced_resource
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.types import PatchType

    WebApp = create_namespaced_resource("demo.tinykube.dev", "v1", "WebApp", "webapps")
    client = Client(KubeConfig.from_file(str(apiserver.kubeconfig)), field_manager="test")
    created = client.create(WebApp(metadata=ObjectMeta(name="lk"), spec={"image": "web:1"}),
                            namespace=namespace)
    assert created.spec == {"image": "web:1", "replicas": 1, "port": 80}  # defaulted
    assert [w.metadata.name for w in client.list(WebApp, namespace=namespace)] == ["lk"]

    patched = client.patch(WebApp.Status, "lk", {"status": {"phase": "Ready"}},
                           namespace=namespace, patch_type=PatchType.MERGE)
    assert patched.status == {"phase": "Ready"}
    client.patch(WebApp.Scale, "lk", {"spec": {"replicas": 4}}, namespace=namespace,
                 patch_type=PatchType.MERGE)
    assert client.get(WebApp, "lk", namespace=namespace).spec["replicas"] == 4

    events = client.watch(WebApp, namespace=namespace,
                          resource_version=created.metadata.resourceVersion)
    client.delete(WebApp, "lk", namespace=namespace)
    for kind, obj in events:
        if kind == "DELETED":
            assert obj.metadata.name == "lk"
            break
