"""The kubelet API asks the API server who a bearer token is (TokenReview) and what it may do
(SubjectAccessReview on nodes/<subresource>), as a kubelet with `--authentication-token-webhook`
and `--authorization-mode=Webhook` does.

The API server runs with `--authorization-mode=RBAC`: its TokenReview and
SubjectAccessReview answer the kubelet.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest

from tinykube.testing.processes import (APIServerProcess, Etcd, ManagedProcess, free_port, start_apiserver,
                                        start_kubelet, wait_until)

NODE = "node-webhook"


@pytest.fixture(scope="module")
def webhook_kubelet(etcd: Etcd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[APIServerProcess, int]]:
    workdir = tmp_path_factory.mktemp("kubelet-webhook")
    tokens = workdir / "tokens.csv"
    tokens.write_text('tinykube-test-token,admin,admin-uid,"system:masters"\nnobody-token,nobody,nobody-uid,\n')
    api = start_apiserver(etcd.url, workdir / "apiserver", flags=(
        "--token-auth-file", str(tokens), "--authorization-mode", "RBAC"))
    port = free_port()
    kubelet: ManagedProcess | None = None
    try:
        kubelet = start_kubelet(api, NODE, workdir / "kubelet", "--port", str(port),
                                "--authentication-token-webhook=true", "--authorization-mode=Webhook",
                                "--kubelet-api-token-file=")
        yield api, port
    finally:
        if kubelet is not None:
            kubelet.stop()
        api.stop()


def _get(port: int, path: str, token: str) -> httpx.Response:
    insecure = ssl.create_default_context()
    insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE  # the kubelet's self-signed cert
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"https://127.0.0.1:{port}{path}", headers=headers, verify=insecure, timeout=10)


def test_tokens_are_reviewed_and_access_is_asked_of_the_api_server(
        webhook_kubelet: tuple[APIServerProcess, int]) -> None:
    api, port = webhook_kubelet

    def serving() -> bool:
        try:
            return _get(port, "/healthz", "").status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(serving, 30, "the kubelet API to serve")
    assert _get(port, "/stats/summary", api.token).status_code == 200  # system:masters
    refused = _get(port, "/stats/summary", "nobody-token")
    assert refused.status_code == 403
    assert refused.json()["message"] == "Forbidden (user=nobody, verb=get, resource=nodes, subresource=stats)"
    assert _get(port, "/stats/summary", "not-a-token").status_code == 401
