"""The ServiceAccounts controller (a `default` account per active namespace, back after
a delete) and the root CA publisher (`kube-root-ca.crt` with the CA, put back when edited)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from controller_fakes import FakeClient, cache_add, typed_factory

from controller_manager.serviceaccount import RootCACertPublisher, ServiceAccountsController
from controller_manager.serviceaccount.rootcacert import DESCRIPTION, DESCRIPTION_ANNOTATION
from tinykube.client import EventRecorder

Obj = dict[str, Any]


def namespace(name: str, phase: str = "Active") -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name},
            "status": {"phase": phase}}


def accounts_controller(client: FakeClient) -> ServiceAccountsController:
    return ServiceAccountsController(client, typed_factory(client),  # type: ignore[arg-type]
                                     EventRecorder(client, "test"))  # type: ignore[arg-type]


async def test_an_active_namespace_gets_a_default_account() -> None:
    client = FakeClient()
    controller = accounts_controller(client)
    cache_add(controller.namespace_informer, namespace("team"), namespace("gone", "Terminating"))
    await controller.sync_namespace("team")
    await controller.sync_namespace("gone")
    [create] = client.writes("serviceaccounts", "create")
    assert (create.namespace, create.body["metadata"]["name"]) == ("team", "default")


async def test_an_existing_default_is_left_alone_and_a_deleted_one_comes_back() -> None:
    client = FakeClient()
    controller = accounts_controller(client)
    account = {"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": "default", "namespace": "team"}}
    cache_add(controller.namespace_informer, namespace("team"))
    cache_add(controller.account_informer, account)
    await controller.sync_namespace("team")
    assert client.writes("serviceaccounts", "create") == []
    controller.service_account_deleted(controller.account_informer.indexer.get("team/default"))
    assert await controller.queue.get() == "team"


def publisher(client: FakeClient, tmp_path: Path) -> RootCACertPublisher:
    ca = tmp_path / "ca.crt"
    ca.write_text("CA PEM")
    return RootCACertPublisher(client, typed_factory(client),  # type: ignore[arg-type]
                               EventRecorder(client, "test"),  # type: ignore[arg-type]
                               root_ca_file=str(ca))


async def test_the_root_ca_is_published_and_put_back(tmp_path: Path) -> None:
    client = FakeClient()
    controller = publisher(client, tmp_path)
    cache_add(controller.namespace_informer, namespace("team"))
    await controller.sync_namespace("team")
    [create] = client.writes("configmaps", "create")
    assert create.body["data"] == {"ca.crt": "CA PEM"}
    assert create.body["metadata"]["annotations"] == {DESCRIPTION_ANNOTATION: DESCRIPTION}
    edited = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"ca.crt": "tampered"},
              "metadata": {"name": "kube-root-ca.crt", "namespace": "team", "resourceVersion": "3",
                           "annotations": {DESCRIPTION_ANNOTATION: DESCRIPTION}}}
    cache_add(controller.config_map_informer, edited)
    client.seed("configmaps", edited)
    await controller.sync_namespace("team")
    [update] = client.writes("configmaps", "update")
    assert update.body["data"] == {"ca.crt": "CA PEM"}
    assert controller.config_map_informer.indexer.get("team/kube-root-ca.crt").data == {
        "ca.crt": "tampered"}  # the cached object was not mutated
