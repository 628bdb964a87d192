"""ServiceAccount admission, TokenRequest and the token authenticator on an in-memory
API server: the default account, the kube-api-access volume and its mounts,
automount opt-outs, refusals with upstream's messages, and tokens that die with
their pod."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from apiserver import deletion, errors
from apiserver.auth import Credentials
from apiserver.registry import RequestContext
from apiserver.server import APIServer, ServerConfig
from apiserver.serviceaccount.admission import TOKEN_MOUNT_PATH, mount_service_account_token
from apiserver.serviceaccount.authenticator import ServiceAccountAuthenticator
from apiserver.serviceaccount.issuer import TokenIssuer
from apiserver.serviceaccount.keys import SigningKeys
from apiserver.serviceaccount.tokenrequest import create_token
from apiserver.storage.memory import MemoryStorage
from tinykube.api.resources import PODS, SERVICE_ACCOUNTS

Obj = dict[str, Any]


@pytest.fixture
async def server() -> AsyncIterator[APIServer]:
    api = APIServer(MemoryStorage(), ServerConfig(admission_plugins=("ServiceAccount",)))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    api.token_issuer = TokenIssuer(SigningKeys(key, (key.public_key(),)))
    await api.start()
    await api.registries[SERVICE_ACCOUNTS].create("default", {"metadata": {"name": "default"}},
                                                  RequestContext())
    yield api
    await api.stop()


def pod(name: str, **spec: Any) -> Obj:
    return {"metadata": {"name": name}, "spec": {
        "containers": [{"name": "app", "image": "busybox"}],
        "initContainers": [{"name": "init", "image": "busybox"}], **spec}}


async def wait_cached(api: APIServer, info: Any, name: str, present: bool = True) -> None:
    registry = api.registries[info]
    for _ in range(500):
        if (registry.cache.cached(registry.key("default", name)) is not None) == present:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{info.plural}/{name} never {'appeared in' if present else 'left'} the cache")


async def test_a_pod_runs_as_default_with_the_token_volume_in_every_container(server) -> None:
    created = await server.registries[PODS].create("default", pod("web"), RequestContext())
    spec = created["spec"]
    assert spec["serviceAccountName"] == "default"
    [volume] = spec["volumes"]
    assert volume["name"].startswith("kube-api-access-") and len(volume["name"]) == 21
    sources = volume["projected"]["sources"]
    assert sources[0] == {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}
    assert sources[1]["configMap"] == {"name": "kube-root-ca.crt",
                                       "items": [{"key": "ca.crt", "path": "ca.crt"}]}
    assert sources[2]["downwardAPI"]["items"][0]["fieldRef"]["fieldPath"] == "metadata.namespace"
    for key in ("containers", "initContainers"):
        assert spec[key][0]["volumeMounts"] == [{"name": volume["name"], "readOnly": True,
                                                 "mountPath": TOKEN_MOUNT_PATH}]


async def test_automount_false_on_the_pod_or_the_account_adds_nothing(server) -> None:
    plain = await server.registries[PODS].create(
        "default", pod("a", automountServiceAccountToken=False), RequestContext())
    assert "volumes" not in plain["spec"]
    await server.registries[SERVICE_ACCOUNTS].create(
        "default", {"metadata": {"name": "quiet"}, "automountServiceAccountToken": False},
        RequestContext())
    quiet = await server.registries[PODS].create("default", pod("b", serviceAccountName="quiet"),
                                                 RequestContext())
    assert "volumes" not in quiet["spec"]
    # the pod's own setting wins over the account's
    loud = await server.registries[PODS].create(
        "default", pod("c", serviceAccountName="quiet", automountServiceAccountToken=True),
        RequestContext())
    assert loud["spec"]["volumes"][0]["name"].startswith("kube-api-access-")


async def test_a_pod_of_a_missing_account_is_refused(server) -> None:
    with pytest.raises(errors.APIError) as refused:
        await server.registries[PODS].create("default", pod("x", serviceAccountName="ghost"),
                                             RequestContext())
    assert refused.value.code == 403
    assert refused.value.message == ('pods "x" is forbidden: error looking up service account '
                                     'default/ghost: serviceaccount "ghost" not found')


def test_a_container_that_mounts_the_path_itself_keeps_its_mount() -> None:
    spec = {"containers": [
        {"name": "own", "volumeMounts": [{"name": "mine", "mountPath": TOKEN_MOUNT_PATH}]},
        {"name": "other"}], "volumes": [{"name": "mine", "emptyDir": {}}]}
    mount_service_account_token(spec, "abcde")
    assert spec["containers"][0]["volumeMounts"] == [{"name": "mine", "mountPath": TOKEN_MOUNT_PATH}]
    assert spec["containers"][1]["volumeMounts"][0]["name"] == "kube-api-access-abcde"
    assert [v["name"] for v in spec["volumes"]] == ["mine", "kube-api-access-abcde"]


async def test_token_request_validation(server) -> None:
    issuer = server.token_issuer
    with pytest.raises(errors.APIError) as short:
        await create_token(server, issuer, "default", "default",
                           {"spec": {"expirationSeconds": 599}}, RequestContext())
    assert short.value.code == 422
    assert short.value.message == ('TokenRequest.authentication.k8s.io "default" is invalid: '
                                   'spec.expirationSeconds: Invalid value: 599: may not specify a '
                                   'duration less than 10 minutes')
    with pytest.raises(errors.APIError) as missing:
        await create_token(server, issuer, "default", "ghost", {}, RequestContext())
    assert (missing.value.code, missing.value.message) == (404, 'serviceaccounts "ghost" not found')
    with pytest.raises(errors.APIError) as no_pod:
        await create_token(server, issuer, "default", "default",
                           {"spec": {"boundObjectRef": {"kind": "Pod", "name": "nope"}}},
                           RequestContext())
    assert (no_pod.value.code, no_pod.value.message) == (404, 'pods "nope" not found')
    await server.registries[PODS].create("default", pod("web"), RequestContext())
    with pytest.raises(errors.APIError) as stale:
        await create_token(server, issuer, "default", "default", {"spec": {"boundObjectRef": {
            "kind": "Pod", "name": "web", "uid": "not-its-uid"}}}, RequestContext())
    assert stale.value.code == 409


async def test_a_pod_bound_token_authenticates_until_the_pod_is_gone(server) -> None:
    created = await server.registries[PODS].create("default", pod("web"), RequestContext())
    answer = await create_token(server, server.token_issuer, "default", "default",
                                {"spec": {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1",
                                                             "name": "web"}}}, RequestContext())
    assert answer["spec"]["expirationSeconds"] == 3600
    assert answer["spec"]["boundObjectRef"]["uid"] == created["metadata"]["uid"]
    authenticator = ServiceAccountAuthenticator(server.token_issuer, server)
    credentials = Credentials(f"Bearer {answer['status']['token']}")
    await wait_cached(server, PODS, "web")
    user = authenticator.authenticate(credentials)
    assert user is not None
    assert user.name == "system:serviceaccount:default:default"
    assert user.groups == ("system:serviceaccounts", "system:serviceaccounts:default",
                           "system:authenticated")
    assert user.extra == {"authentication.kubernetes.io/pod-name": ("web",),
                          "authentication.kubernetes.io/pod-uid": (created["metadata"]["uid"],)}
    await deletion.delete(server.registries[PODS], "default", "web", {"gracePeriodSeconds": 0},
                          RequestContext())
    await wait_cached(server, PODS, "web", present=False)
    assert authenticator.authenticate(credentials) is None
    assert authenticator.authenticate(Credentials("Bearer not-a-jwt")) is None


async def test_a_recreated_account_does_not_inherit_old_tokens(server) -> None:
    answer = await create_token(server, server.token_issuer, "default", "default", {},
                                RequestContext())
    authenticator = ServiceAccountAuthenticator(server.token_issuer, server)
    credentials = Credentials(f"Bearer {answer['status']['token']}")
    await wait_cached(server, SERVICE_ACCOUNTS, "default")
    assert authenticator.authenticate(credentials) is not None
    await deletion.delete(server.registries[SERVICE_ACCOUNTS], "default", "default", {},
                          RequestContext())
    await server.registries[SERVICE_ACCOUNTS].create("default", {"metadata": {"name": "default"}},
                                                     RequestContext())
    registry = server.registries[SERVICE_ACCOUNTS]
    for _ in range(500):
        cached = registry.cache.cached(registry.key("default", "default"))
        if cached is not None and authenticator.authenticate(credentials) is None:
            break
        await asyncio.sleep(0.01)
    assert authenticator.authenticate(credentials) is None

