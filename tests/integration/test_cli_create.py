"""`tinykube create` generators, `run`, `expose`, `version`, `api-resources`, `explain`,
`completion`."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import httpx

from tests.integration.cli_helpers import tinykube
from tinykube.testing.processes import APIServerProcess


def test_generators_run_and_expose(apiserver: APIServerProcess, http: httpx.Client,
                                   namespace: str, tmp_path: Path) -> None:
    ns = ("-n", namespace)
    made = tinykube(apiserver, *ns, "create", "deployment", "web", "--image=nginx:1.25", "--replicas=3")
    assert made.stdout == "deployment.apps/web created\n", made.stderr
    live = http.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/web").json()
    assert live["spec"]["replicas"] == 3
    assert live["spec"]["template"]["spec"]["containers"][0]["name"] == "nginx"
    duplicate = tinykube(apiserver, *ns, "create", "deployment", "web", "--image=nginx")
    assert (duplicate.returncode, duplicate.stderr) == (
        1, 'Error from server (AlreadyExists): deployments.apps "web" already exists\n')

    (tmp_path / "app.conf").write_text("x=1\n")
    cm = tinykube(apiserver, *ns, "create", "configmap", "conf", "--from-literal=a=b",
                  f"--from-file={tmp_path / 'app.conf'}")
    assert cm.stdout == "configmap/conf created\n", cm.stderr
    assert http.get(f"/api/v1/namespaces/{namespace}/configmaps/conf").json()["data"] == {
        "a": "b", "app.conf": "x=1\n"}
    secret = tinykube(apiserver, *ns, "create", "secret", "generic", "pw", "--from-literal=p=s3cret")
    assert secret.stdout == "secret/pw created\n", secret.stderr
    data = http.get(f"/api/v1/namespaces/{namespace}/secrets/pw").json()["data"]
    assert base64.b64decode(data["p"]) == b"s3cret"
    svc = tinykube(apiserver, *ns, "create", "service", "nodeport", "front", "--tcp=80:8080")
    assert svc.stdout == "service/front created\n", svc.stderr

    pod = tinykube(apiserver, *ns, "run", "once", "--image=busybox", "--restart=Never", "--",
                   "sleep", "5")
    assert pod.stdout == "pod/once created\n", pod.stderr
    spec = http.get(f"/api/v1/namespaces/{namespace}/pods/once").json()["spec"]
    assert spec["containers"][0]["args"] == ["sleep", "5"] and spec["restartPolicy"] == "Never"

    exposed = tinykube(apiserver, *ns, "expose", "deployment", "web", "--port=80", "--target-port=8080")
    assert exposed.stdout == "service/web exposed\n", exposed.stderr
    service = http.get(f"/api/v1/namespaces/{namespace}/services/web").json()["spec"]
    assert service["selector"] == {"app": "web"}
    assert service["ports"][0]["targetPort"] == 8080

    dry = tinykube(apiserver, "create", "namespace", "not-made", "--dry-run=client", "-o", "name")
    assert dry.stdout == "namespace/not-made\n"
    assert http.get("/api/v1/namespaces/not-made").status_code == 404


def test_version_api_resources_explain_completion(apiserver: APIServerProcess) -> None:
    version = tinykube(apiserver, "version").stdout.splitlines()
    assert version[0].startswith("Client Version: v") and version[1].startswith("Server Version: v1.")
    resources = tinykube(apiserver, "api-resources").stdout.splitlines()
    assert resources[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert ["deployments", "deploy", "apps/v1", "true", "Deployment"] in [r.split() for r in resources]

    explained = tinykube(apiserver, "explain", "deploy.spec.replicas")
    assert explained.stdout.splitlines()[:5] == [
        "GROUP:      apps", "KIND:       Deployment", "VERSION:    v1", "",
        "FIELD: replicas <integer>"], explained.stderr
    assert "Number of desired pods" in explained.stdout
    recursive = tinykube(apiserver, "explain", "pod.spec.containers", "--recursive").stdout
    assert "  ports\t<[]ContainerPort>" in recursive and "    containerPort\t<integer> -required-" in recursive
    missing = tinykube(apiserver, "explain", "deploy.spec.nope")
    assert (missing.returncode, missing.stderr) == (1, 'error: field "nope" does not exist\n')

    script = tinykube(apiserver, "completion", "bash").stdout
    completed = subprocess.run(["bash", "-c", script + """
COMP_WORDS=(tinykube get dep); COMP_CWORD=2; _tinykube; echo "${COMPREPLY[*]}"
COMP_WORDS=(tinykube delete pod --grace); COMP_CWORD=3; _tinykube; echo "${COMPREPLY[*]}"
"""], capture_output=True, text=True, timeout=30)
    assert completed.stdout.splitlines() == ["deploy deployment deployments", "--grace-period"], \
        completed.stderr
