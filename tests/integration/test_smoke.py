"""The API server answers the basics over real etcd."""

import ssl

import httpx

from tinykube.testing.processes import APIServerProcess


def test_system_namespaces_exist(http: httpx.Client) -> None:
    names = {ns["metadata"]["name"] for ns in http.get("/api/v1/namespaces").json()["items"]}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names


def test_https_requires_a_token(apiserver: APIServerProcess) -> None:
    with httpx.Client(base_url=apiserver.https_url, verify=ssl.create_default_context(cafile=str(apiserver.ca_file))) as client:
        assert client.get("/api/v1/namespaces").status_code == 401
        wrong = client.get("/api/v1/namespaces", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.json()["reason"] == "Unauthorized"
        ok = client.get("/api/v1/namespaces",
                        headers={"Authorization": f"Bearer {apiserver.token}"})
        assert ok.status_code == 200
