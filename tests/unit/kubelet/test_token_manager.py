"""The kubelet's ServiceAccount tokens: requested bound to the pod, reused until 80 % of
their lifetime (or 24 h), refreshed after, the old one served while a refresh fails;
and the projected volume that writes them (with ca.crt and namespace) atomically."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from kubelet.token.manager import CachedToken, TokenManager, requires_refresh
from kubelet.volumes.manager import VolumeManager
from tinykube.api.core import Pod
from tinykube.client.errors import APIStatusError
from tinykube.testing.fake_client import FakeClient

Obj = dict[str, Any]
START = 1_700_000_000.0


class FakeTime:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


class TokenServer(FakeClient):
    """Answers TokenRequests with numbered tokens; `failing(True)` makes the next ones fail."""

    def __init__(self, clock: FakeTime) -> None:
        super().__init__()
        self.clock, self.issued = clock, 0

    def failing(self, on: bool) -> None:
        if on:
            self.fail[("create_token", "serviceaccounts")] = APIStatusError(503, "ServiceUnavailable", "later")
        else:
            self.fail.clear()

    async def create_subresource(self, info: Any, name: str, subresource: str, body: Any,
                                 namespace: str | None = None, **_: Any) -> Obj:
        await super().create_subresource(info, name, subresource, body, namespace)
        self.issued += 1
        seconds = body["spec"]["expirationSeconds"]
        expires = datetime.fromtimestamp(self.clock.now + seconds, timezone.utc)
        return {**body, "status": {"token": f"token-{self.issued}",
                                   "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}}


def projected_pod(uid: str = "u1") -> Pod:
    return Pod.from_dict({"metadata": {"name": "web", "namespace": "ns", "uid": uid},
                          "spec": {"serviceAccountName": "builder", "containers": [{"name": "app"}],
                                   "volumes": [{"name": "kube-api-access-abcde", "projected": {
                                       "defaultMode": 0o644, "sources": [
                                           {"serviceAccountToken": {"expirationSeconds": 3607,
                                                                    "path": "token"}},
                                           {"configMap": {"name": "kube-root-ca.crt", "items": [
                                               {"key": "ca.crt", "path": "ca.crt"}]}},
                                           {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                                               "fieldPath": "metadata.namespace"}}]}}]}}]}})


@pytest.mark.parametrize("age_seconds, refresh", [
    (0, False), (2879, False), (2880, True), (3599, True)])  # 80 % of 3600 s is 2880 s
def test_refresh_at_eighty_percent_of_the_lifetime(age_seconds: int, refresh: bool) -> None:
    token = CachedToken("t", START + 3600, 3600, "u1")
    assert requires_refresh(token, START + age_seconds) is refresh


def test_a_long_token_is_refreshed_after_a_day() -> None:
    token = CachedToken("t", START + 7 * 86400, 7 * 86400, "u1")
    assert not requires_refresh(token, START + 86399)
    assert requires_refresh(token, START + 86400)


async def test_tokens_are_cached_per_pod_refreshed_and_kept_through_a_failed_refresh() -> None:
    clock = FakeTime()
    server = TokenServer(clock)
    tokens = TokenManager(server, clock)

    async def get(uid: str = "u1") -> str:
        return await tokens.get_service_account_token("ns", "builder", audience="",
                                                      expiration_seconds=3600, pod_name="web",
                                                      pod_uid=uid)
    assert await get() == "token-1"
    request = server.actions[0]
    assert (request.resource, request.name, request.subresource) == ("serviceaccounts", "builder", "token")
    assert request.body["spec"] == {"audiences": [], "expirationSeconds": 3600, "boundObjectRef": {
        "apiVersion": "v1", "kind": "Pod", "name": "web", "uid": "u1"}}
    clock.now += 2879
    assert await get() == "token-1"
    assert await get("u2") == "token-2"  # another pod, another token
    clock.now += 1
    server.failing(True)
    assert await get() == "token-1"  # still valid: served while the refresh fails
    server.failing(False)
    assert await get() == "token-3"
    tokens.delete_service_account_token("u1")
    assert await get() == "token-4"


async def test_an_expired_token_is_never_served() -> None:
    clock = FakeTime()
    server = TokenServer(clock)
    tokens = TokenManager(server, clock)
    await tokens.get_service_account_token("ns", "builder", audience="", expiration_seconds=600,
                                           pod_name="web", pod_uid="u1")
    clock.now += 600
    server.failing(True)
    with pytest.raises(APIStatusError):
        await tokens.get_service_account_token("ns", "builder", audience="", expiration_seconds=600,
                                               pod_name="web", pod_uid="u1")


async def test_the_projected_volume_holds_token_ca_and_namespace_and_is_refreshed(tmp_path: Path) -> None:
    clock = FakeTime()
    server = TokenServer(clock)
    server.seed("configmaps", {"metadata": {"name": "kube-root-ca.crt", "namespace": "ns"},
                               "data": {"ca.crt": "PEM"}})
    volumes = VolumeManager(str(tmp_path), server, tokens=TokenManager(server, clock),
                            node_volumes=False)
    paths = await volumes.mount_volumes(projected_pod())
    directory = paths["kube-api-access-abcde"]
    assert directory == str(tmp_path / "pods/u1/volumes/kubernetes.io~projected/kube-api-access-abcde")
    files = {name: (Path(directory) / name).read_text() for name in ("token", "ca.crt", "namespace")}
    assert files == {"token": "token-1", "ca.crt": "PEM", "namespace": "ns"}
    assert os.stat(Path(directory) / "token").st_mode & 0o777 == 0o644
    assert server.actions[-1].body["spec"]["expirationSeconds"] == 3607
    clock.now += 3607 * 0.8 + 1  # the next sync after 80 % writes a new token
    await volumes.mount_volumes(projected_pod())
    assert (Path(directory) / "token").read_text() == "token-2"
    await volumes.cleanup_pod("u1")
    assert not (tmp_path / "pods/u1").exists()


async def test_a_hollow_node_writes_no_host_volumes(tmp_path: Path) -> None:
    host = tmp_path / "host-dir"
    pod = Pod.from_dict({"metadata": {"name": "web", "namespace": "ns", "uid": "u1"},
                         "spec": {"containers": [{"name": "app"}], "volumes": [
                             {"name": "h", "hostPath": {"path": str(host), "type": "DirectoryOrCreate"}},
                             {"name": "scratch", "emptyDir": {}}]}})
    volumes = VolumeManager(str(tmp_path / "root"), FakeClient(), node_volumes=False)
    assert await volumes.mount_volumes(pod) == {"h": "", "scratch": ""}
    assert not host.exists() and not (tmp_path / "root").exists()
