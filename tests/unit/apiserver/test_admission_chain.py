"""The admission chain sees every write with its user: mutating before validation,
validating after, on create, update, delete and subresource creates."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from apiserver import deletion, errors
from apiserver.admission import PLUGINS, AdmissionRequest, parse_plugins
from apiserver.auth import UserInfo
from apiserver.registry import RequestContext
from apiserver.server import APIServer, ServerConfig
from apiserver.storage.memory import MemoryStorage
from tinykube.api.resources import CONFIGMAPS

BOB = UserInfo("bob", "", ("system:authenticated",))


class Recorder:
    """Annotates every configmap with its creator; refuses writes and deletes by bob
    of a configmap named `locked`."""

    name = "Recorder"

    def __init__(self, server: object) -> None:
        self.seen: list[tuple[str, str, str]] = []

    def handles(self, request: AdmissionRequest) -> bool:
        return request.info == CONFIGMAPS

    async def admit(self, request: AdmissionRequest) -> None:
        self.seen.append(("admit", request.operation, request.user.name))
        if request.obj is not None:
            request.obj["metadata"].setdefault("annotations", {})["by"] = request.user.name

    async def validate(self, request: AdmissionRequest) -> None:
        self.seen.append(("validate", request.operation, request.user.name))
        if request.name == "locked" and request.user.name == "bob":
            raise errors.APIError(403, "Forbidden", "locked")


@pytest.fixture
async def server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[APIServer]:
    monkeypatch.setitem(PLUGINS, "Recorder", Recorder)
    api = APIServer(MemoryStorage(), ServerConfig(admission_plugins=("Recorder",)))
    await api.start()
    yield api
    await api.stop()


async def test_mutating_admission_changes_what_is_stored_and_sees_the_user(server) -> None:
    configmaps = server.registries[CONFIGMAPS]
    created = await configmaps.create("default", {"metadata": {"name": "a"}},
                                      RequestContext(user=BOB))
    assert created["metadata"]["annotations"] == {"by": "bob"}
    updated = await configmaps.update("default", "a", {**created, "data": {"k": "v"}},
                                      RequestContext())
    assert updated["metadata"]["annotations"] == {"by": "system:apiserver"}
    plugin = server.admission.plugins[0]
    assert plugin.seen == [("admit", "CREATE", "bob"), ("validate", "CREATE", "bob"),
                           ("admit", "UPDATE", "system:apiserver"),
                           ("validate", "UPDATE", "system:apiserver")]


async def test_validating_admission_refuses_and_nothing_is_written(server) -> None:
    configmaps = server.registries[CONFIGMAPS]
    with pytest.raises(errors.APIError) as refused:
        await configmaps.create("default", {"metadata": {"name": "locked"}}, RequestContext(user=BOB))
    assert refused.value.code == 403
    with pytest.raises(errors.APIError) as missing:
        await configmaps.get("default", "locked")
    assert missing.value.code == 404
    await configmaps.create("default", {"metadata": {"name": "locked"}}, RequestContext())
    with pytest.raises(errors.APIError):
        await deletion.delete(configmaps, "default", "locked", {}, RequestContext(user=BOB))
    assert (await configmaps.get("default", "locked"))["metadata"]["name"] == "locked"


def test_unknown_plugins_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown admission plugins: Nope"):
        parse_plugins("Nope")
