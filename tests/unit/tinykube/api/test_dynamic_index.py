"""The resource index holds custom resources next to the built-in table."""

from __future__ import annotations

from typing import Any

from tinykube.api.resources import INDEX, RESOURCES, ResourceIndex, ResourceInfo
from tinykube.client.discovery import discover_resources, resources_from_discovery

WIDGETS = ResourceInfo("example.com", "v1", "Widget", "widgets", "widget", True,
                       "com.example.v1.Widget", ("wd",), ("status",), ("all",))


def test_dynamic_entries_resolve_by_every_name_and_go_away() -> None:
    index = ResourceIndex()
    index.add(WIDGETS)
    for name in ("widgets", "widget", "wd", "Widget", "widgets.example.com"):
        assert index.by_name(name) is WIDGETS
    assert index.by_kind("example.com/v1", "Widget") is WIDGETS
    assert ("example.com", "v1") in index.group_versions()
    assert not index.is_builtin(WIDGETS)
    index.remove(WIDGETS)
    assert index.by_name("wd") is None and index.resources == RESOURCES


def test_built_in_entries_cannot_be_removed_and_win_name_lookups() -> None:
    index = ResourceIndex()
    pods = index.require("pods")
    index.remove(pods)
    assert index.by_name("pods") is pods
    shadow = ResourceInfo("example.com", "v1", "Pod", "pods", "pod", True, "x")
    index.add(shadow)
    assert index.by_name("pods") is pods


DOCUMENT = {"items": [{"metadata": {"name": "example.com"}, "versions": [{"version": "v1", "resources": [{
    "resource": "widgets", "responseKind": {"group": "example.com", "version": "v1", "kind": "Widget"},
    "scope": "Namespaced", "singularResource": "widget", "shortNames": ["wd"], "categories": ["all"],
    "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
    "subresources": [{"subresource": "status"}]}]}]},
    {"metadata": {"name": "apps"}, "versions": [{"version": "v1", "resources": [{
        "resource": "deployments", "responseKind": {"kind": "Deployment"}, "scope": "Namespaced",
        "verbs": ["list", "watch"]}]}]}]}


def test_discovery_documents_become_index_entries() -> None:
    widgets = resources_from_discovery(DOCUMENT)[0]
    assert (widgets.group, widgets.kind, widgets.namespaced, widgets.short_names,
            widgets.subresources) == ("example.com", "Widget", True, ("wd",), ("status",))


class _Server:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    async def request(self, method: str, path: str, **_: Any) -> Any:
        assert (method, path) == ("GET", "/apis")
        return self.document


async def test_discover_resources_adds_custom_resources_and_drops_gone_ones() -> None:
    try:
        added = await discover_resources(_Server(DOCUMENT))
        assert [i.plural for i in added] == ["widgets"]  # deployments are built in
        assert INDEX.by_name("wd") is not None
        assert await discover_resources(_Server(DOCUMENT)) == []
        await discover_resources(_Server({"items": []}))
        assert INDEX.by_name("wd") is None
    finally:
        for info in INDEX.resources:
            if not INDEX.is_builtin(info):
                INDEX.remove(info)
