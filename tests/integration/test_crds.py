"""CustomResourceDefinitions against a real etcd and API server: a CRD is served
without a restart, its objects behave like built-in ones (status and scale
subresources, Tables with its printer columns, watch resume, field selectors), and
deleting it takes its objects with it. kubectl drives the user-facing parts.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from control_plane_fixtures import wait_for

from tinykube.api.resources import INDEX
from tinykube.testing.processes import APIServerProcess

Obj = dict[str, Any]
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def widget_crd(group: str, scope: str = "Namespaced") -> Obj:
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group, "scope": scope,
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                      "shortNames": ["wd"], "categories": ["all"]},
            "versions": [{
                "name": "v1", "served": True, "storage": True,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {"type": "object", "description": "What the widget should be.",
                                 "x-kubernetes-validations": [{
                                     "rule": "!has(self.replicas) || self.replicas <= 10",
                                     "message": "at most 10 replicas"}],
                                 "properties": {
                                     "size": {"type": "integer", "minimum": 1,
                                              "description": "How big the widget is."},
                                     "color": {"type": "string", "default": "blue"},
                                     "replicas": {"type": "integer"},
                                     "ports": {"type": "array", "x-kubernetes-list-type": "map",
                                               "x-kubernetes-list-map-keys": ["name"],
                                               "items": {"type": "object", "required": ["name"],
                                                         "properties": {
                                                             "name": {"type": "string"},
                                                             "port": {"type": "integer"}}}},
                                 }},
                        "status": {"type": "object", "properties": {
                            "replicas": {"type": "integer"}, "phase": {"type": "string"}}},
                    }}},
                "subresources": {"status": {}, "scale": {
                    "specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}},
                "additionalPrinterColumns": [
                    {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                    {"name": "Color", "type": "string", "jsonPath": ".spec.color"},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}],
            }, {
                "name": "v1beta1", "served": True, "storage": False,
                "schema": {"openAPIV3Schema": {"type": "object",
                                               "x-kubernetes-preserve-unknown-fields": True}},
            }],
        },
    }


def condition(crd: Obj, condition_type: str) -> Obj | None:
    return next((c for c in (crd.get("status") or {}).get("conditions") or []
                 if c["type"] == condition_type), None)


@pytest.fixture
def group() -> Iterator[str]:
    yield f"t{uuid.uuid4().hex[:8]}.example.com"


@pytest.fixture
def crd(http: httpx.Client, group: str) -> Iterator[Obj]:
    """The widgets CRD of a group of the test's own, Established; deleted afterwards."""
    response = http.post(CRDS, json=widget_crd(group))
    assert response.status_code == 201, response.text
    name = f"widgets.{group}"
    established = wait_for(
        lambda: (c := http.get(f"{CRDS}/{name}").json()) and
        (condition(c, "Established") or {}).get("status") == "True" and c, "Established")
    yield established
    http.delete(f"{CRDS}/{name}")
    wait_for(lambda: http.get(f"{CRDS}/{name}").status_code == 404, "the CRD to go")


def widgets(group: str, namespace: str, version: str = "v1") -> str:
    return f"/apis/{group}/{version}/namespaces/{namespace}/widgets"


def widget(name: str, **spec: Any) -> Obj:
    return {"apiVersion": "", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


def create_widget(http: httpx.Client, group: str, namespace: str, name: str, **spec: Any) -> Obj:
    body = widget(name, **spec)
    body["apiVersion"] = f"{group}/v1"
    response = http.post(widgets(group, namespace), json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_crd_is_established_and_served_without_restart(http: httpx.Client, crd: Obj,
                                                         group: str, namespace: str) -> None:
    assert condition(crd, "NamesAccepted")["reason"] == "NoConflicts"  # type: ignore[index]
    assert crd["status"]["acceptedNames"]["shortNames"] == ["wd"]
    assert crd["status"]["storedVersions"] == ["v1"]
    assert crd["spec"]["names"]["listKind"] == "WidgetList"

    created = create_widget(http, group, namespace, "w1", size=3, unknown="dropped")
    assert created["apiVersion"] == f"{group}/v1"
    assert created["metadata"]["generation"] == 1
    assert "unknown" not in created["spec"]
    listed = http.get(widgets(group, namespace)).json()
    assert listed["kind"] == "WidgetList"
    assert [w["metadata"]["name"] for w in listed["items"]] == ["w1"]
    # Stored once, shown in every served version (conversion None).
    beta = http.get(f"{widgets(group, namespace, 'v1beta1')}/w1").json()
    assert beta["apiVersion"] == f"{group}/v1beta1"
    assert beta["metadata"]["uid"] == created["metadata"]["uid"]


def test_an_unserved_version_is_not_found(http: httpx.Client, crd: Obj, group: str,
                                          namespace: str) -> None:
    create_widget(http, group, namespace, "kept", size=1)
    patch = {"spec": {"versions": [crd["spec"]["versions"][0],
                                   {**crd["spec"]["versions"][1], "served": False}]}}
    changed = http.patch(f"{CRDS}/widgets.{group}", json=patch,
                         headers={"Content-Type": "application/merge-patch+json"})
    assert changed.status_code == 200, changed.text
    wait_for(lambda: http.get(widgets(group, namespace, "v1beta1")).status_code == 404,
             "v1beta1 to stop being served")
    assert http.get(f"{widgets(group, namespace)}/kept").status_code == 200


def test_cluster_scoped_custom_resources(http: httpx.Client, group: str) -> None:
    body = widget_crd(group, scope="Cluster")
    assert http.post(CRDS, json=body).status_code == 201
    try:
        url = f"/apis/{group}/v1/widgets"
        wait_for(lambda: http.get(url).status_code == 200, "served")
        created = http.post(url, json={"apiVersion": f"{group}/v1", "kind": "Widget",
                                       "metadata": {"name": "global"}, "spec": {"size": 1}})
        assert created.status_code == 201, created.text
        assert "namespace" not in created.json()["metadata"]
        assert http.get(f"{url}/global").json()["spec"]["size"] == 1
        assert http.get(f"/apis/{group}/v1").json()["resources"][0]["namespaced"] is False
    finally:
        http.delete(f"{CRDS}/widgets.{group}")
        wait_for(lambda: http.get(f"{CRDS}/widgets.{group}").status_code == 404, "the CRD to go")


def test_discovery_lists_the_custom_resource(http: httpx.Client, crd: Obj, group: str) -> None:
    legacy = http.get(f"/apis/{group}/v1").json()
    entry = next(r for r in legacy["resources"] if r["name"] == "widgets")
    assert (entry["kind"], entry["namespaced"], entry["shortNames"], entry["categories"]) == \
        ("Widget", True, ["wd"], ["all"])
    assert {r["name"] for r in legacy["resources"]} == {"widgets", "widgets/status", "widgets/scale"}
    groups = http.get("/apis", headers={"Accept": V2}).json()["items"]
    mine = next(g for g in groups if g["metadata"]["name"] == group)
    assert [v["version"] for v in mine["versions"]] == ["v1", "v1beta1"]
    assert http.get(f"/apis/{group}").json()["preferredVersion"]["version"] == "v1"


def test_status_and_scale_subresources(http: httpx.Client, crd: Obj, group: str,
                                       namespace: str) -> None:
    url = f"{widgets(group, namespace)}/w2"
    created = create_widget(http, group, namespace, "w2", size=1, replicas=2)
    # The main resource ignores status; /status changes only status.
    body = {**created, "status": {"phase": "Ready"}, "spec": {**created["spec"], "size": 5}}
    updated = http.put(url, json=body).json()
    assert "status" not in updated and updated["metadata"]["generation"] == 2
    body = {**updated, "status": {"phase": "Ready", "replicas": 2}, "spec": {"size": 9}}
    status = http.put(f"{url}/status", json=body)
    assert status.status_code == 200, status.text
    assert status.json()["status"]["phase"] == "Ready" and status.json()["spec"]["size"] == 5
    assert status.json()["metadata"]["generation"] == 2

    scale = http.get(f"{url}/scale").json()
    assert (scale["kind"], scale["spec"]["replicas"], scale["status"]["replicas"]) == ("Scale", 2, 2)
    patched = http.patch(f"{url}/scale", json={"spec": {"replicas": 4}},
                         headers={"Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 200, patched.text
    assert http.get(url).json()["spec"]["replicas"] == 4


def test_table_has_the_printer_columns(http: httpx.Client, crd: Obj, group: str,
                                       namespace: str) -> None:
    create_widget(http, group, namespace, "w3", size=7, color="red")
    table = http.get(widgets(group, namespace), headers={"Accept": TABLE_ACCEPT}).json()
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Size", "Color", "Age"]
    assert table["rows"][0]["cells"][:3] == ["w3", 7, "red"]


def test_strategic_merge_patch_is_refused_merge_patch_works(http: httpx.Client, crd: Obj,
                                                            group: str, namespace: str) -> None:
    url = f"{widgets(group, namespace)}/w4"
    create_widget(http, group, namespace, "w4", size=1)
    refused = http.patch(url, json={"spec": {"size": 2}},
                         headers={"Content-Type": "application/strategic-merge-patch+json"})
    assert refused.status_code == 415, refused.text
    assert refused.json()["message"] == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
    merged = http.patch(url, json={"spec": {"size": 2}},
                        headers={"Content-Type": "application/merge-patch+json"})
    assert merged.status_code == 200 and merged.json()["spec"]["size"] == 2


def test_server_side_apply_merges_list_map_entries_by_key(http: httpx.Client, crd: Obj,
                                                          group: str, namespace: str) -> None:
    url = f"{widgets(group, namespace)}/ssa"

    def apply(manager: str, ports: list[Obj]) -> httpx.Response:
        body = {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "ssa"},
                "spec": {"size": 1, "ports": ports}}
        return http.patch(url, params={"fieldManager": manager, "force": "true"}, json=body,
                          headers={"Content-Type": "application/apply-patch+yaml"})

    assert apply("a", [{"name": "http", "port": 80}]).status_code == 201
    merged = apply("b", [{"name": "metrics", "port": 9090}])
    assert merged.status_code == 200, merged.text
    assert merged.json()["spec"]["ports"] == [{"name": "http", "port": 80},
                                              {"name": "metrics", "port": 9090}]


def test_field_selectors_are_name_and_namespace_only(http: httpx.Client, crd: Obj, group: str,
                                                     namespace: str) -> None:
    create_widget(http, group, namespace, "w5", size=1)
    create_widget(http, group, namespace, "w6", size=1)
    got = http.get(widgets(group, namespace), params={"fieldSelector": "metadata.name=w6"}).json()
    assert [w["metadata"]["name"] for w in got["items"]] == ["w6"]
    bad = http.get(widgets(group, namespace), params={"fieldSelector": "spec.size=1"})
    assert bad.status_code == 400, bad.text
    assert bad.json()["message"] == 'field label not supported: spec.size'


def test_watch_resumes_from_a_resource_version(http: httpx.Client, crd: Obj, group: str,
                                               namespace: str) -> None:
    first = create_widget(http, group, namespace, "w7", size=1)
    create_widget(http, group, namespace, "w8", size=1)
    with http.stream("GET", widgets(group, namespace), params={
            "watch": "true", "resourceVersion": first["metadata"]["resourceVersion"],
            "timeoutSeconds": "5"}) as stream:
        import json
        for line in stream.iter_lines():
            event = json.loads(line)
            assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "w8")
            break


def test_deleting_the_crd_deletes_its_objects(http: httpx.Client, group: str,
                                              namespace: str) -> None:
    assert http.post(CRDS, json=widget_crd(group)).status_code == 201
    name = f"widgets.{group}"
    wait_for(lambda: http.get(widgets(group, namespace)).status_code == 200, "served")
    create_widget(http, group, namespace, "doomed", size=1)
    deleted = http.delete(f"{CRDS}/{name}")
    assert deleted.status_code == 200, deleted.text
    assert "customresourcecleanup.apiextensions.k8s.io" in deleted.json()["metadata"]["finalizers"]
    wait_for(lambda: http.get(f"{CRDS}/{name}").status_code == 404, "the CRD to go")
    assert http.get(widgets(group, namespace)).status_code == 404
    assert http.get(f"/apis/{group}/v1").status_code == 404


def test_objects_are_pruned_defaulted_and_validated(http: httpx.Client, crd: Obj, group: str,
                                                    namespace: str) -> None:
    created = create_widget(http, group, namespace, "shaped", size=2, extra={"x": 1})
    assert created["spec"] == {"size": 2, "color": "blue"}  # pruned, then defaulted
    body = widget("bad", size=0, replicas=11)
    body["apiVersion"] = f"{group}/v1"
    refused = http.post(widgets(group, namespace), json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["message"] == (
        f'Widget.{group} "bad" is invalid: [spec.size: Invalid value: 0: spec.size in body '
        'should be greater than or equal to 1, spec: Invalid value: "object": at most 10 '
        'replicas]')
    strict = http.post(widgets(group, namespace), params={"fieldValidation": "Strict"},
                       json={**body, "spec": {"size": 1, "extra": 1}})
    assert strict.status_code == 400, strict.text
    assert strict.json()["message"] == 'strict decoding error: unknown field "spec.extra"'


@pytest.mark.parametrize(("change", "field", "message"), [
    (lambda c: c["metadata"].update(name="gadgets.example.com"), "metadata.name",
     'Invalid value: "gadgets.example.com": must be spec.names.plural+"."+spec.group'),
    (lambda c: c["spec"]["versions"][1].update(storage=True), "spec.versions",
     "must have exactly one version marked as storage version"),
    (lambda c: c["spec"].update(scope="Global"), "spec.scope",
     'Unsupported value: "Global": supported values: "Cluster", "Namespaced"'),
    (lambda c: c["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
     .pop("type"), "spec.versions[0].schema.openAPIV3Schema.properties[spec].type",
     "Required value: must not be empty for specified object fields"),
    (lambda c: c["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
     ["x-kubernetes-validations"][0].update(rule="self.size.frobnicate()"),
     "spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule",
     "compilation failed"),
])
def test_invalid_crds_are_refused(http: httpx.Client, group: str, change: Callable[[Obj], None],
                                  field: str, message: str) -> None:
    body = widget_crd(group)
    change(body)
    response = http.post(CRDS, json=body)
    assert response.status_code == 422, response.text
    causes = response.json()["details"]["causes"]
    assert any(c["field"] == field and message in c["message"] for c in causes), causes


def test_names_in_use_are_not_accepted(http: httpx.Client, crd: Obj, group: str) -> None:
    clash = widget_crd(group)
    clash["metadata"]["name"] = f"gizmos.{group}"
    clash["spec"]["names"] = {"plural": "gizmos", "singular": "gizmo", "kind": "Widget"}
    assert http.post(CRDS, json=clash).status_code == 201
    try:
        got = wait_for(lambda: condition(c := http.get(f"{CRDS}/gizmos.{group}").json(),
                                         "NamesAccepted") and c, "NamesAccepted")
        accepted = condition(got, "NamesAccepted")
        assert (accepted["status"], accepted["reason"], accepted["message"]) == (  # type: ignore[index]
            "False", "KindConflict", '"Widget" is already in use')
        assert http.get(f"/apis/{group}/v1/gizmos").status_code == 404
    finally:
        http.delete(f"{CRDS}/gizmos.{group}")


# --- kubectl and the tinykube CLI ---------------------------------------------------------


@pytest.fixture
def kubectl(apiserver: APIServerProcess, tmp_path: Path) -> Callable[..., str]:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not on PATH")

    def run(*args: str, stdin: str | None = None) -> str:
        result = subprocess.run(["kubectl", "--kubeconfig", str(apiserver.kubeconfig),
                                 "--cache-dir", str(tmp_path / "cache"), *args],
                                input=stdin, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"kubectl {' '.join(args)}:\n{result.stderr}"
        return result.stdout
    return run


def test_kubectl_get_scale_explain_and_get_all(http: httpx.Client, crd: Obj, group: str,
                                               namespace: str,
                                               kubectl: Callable[..., str]) -> None:
    create_widget(http, group, namespace, "w9", size=4, color="green", replicas=1)
    lines = kubectl("get", f"widgets.{group}", "-n", namespace).splitlines()
    assert lines[0].split() == ["NAME", "SIZE", "COLOR", "AGE"]
    assert lines[1].split()[:3] == ["w9", "4", "green"]
    assert "w9" in kubectl("get", "wd", "-n", namespace)

    kubectl("scale", f"widgets.{group}/w9", "--replicas=3", "-n", namespace)
    assert http.get(f"{widgets(group, namespace)}/w9").json()["spec"]["replicas"] == 3

    explained = kubectl("explain", f"widgets.{group}.spec.size")
    assert "How big the widget is." in explained and "integer" in explained

    everything = kubectl("get", "all", "-n", namespace)
    assert f"widget.{group}/w9" in everything


def test_kubectl_apply_and_the_tinykube_cli_resolve_custom_names(
        apiserver: APIServerProcess, http: httpx.Client, crd: Obj, group: str, namespace: str,
        kubectl: Callable[..., str]) -> None:
    manifest = (f"apiVersion: {group}/v1\nkind: Widget\nmetadata:\n  name: applied\n"
                f"spec:\n  size: 2\n")
    kubectl("apply", "-n", namespace, "-f", "-", stdin=manifest)
    kubectl("apply", "--server-side", "--force-conflicts", "-n", namespace, "-f", "-",
            stdin=manifest.replace("size: 2", "size: 6"))
    assert http.get(f"{widgets(group, namespace)}/applied").json()["spec"]["size"] == 6

    from tests.integration.cli_helpers import tinykube
    got = tinykube(apiserver, "-n", namespace, "get", "wd")
    assert got.returncode == 0, got.stderr
    assert got.stdout.splitlines()[0].split() == ["NAME", "SIZE", "COLOR", "AGE"]
    assert got.stdout.splitlines()[1].split()[:2] == ["applied", "6"]
    for size in ("7", "8"):  # created, then patched (a merge patch: no strategic merge for CRs)
        applied = tinykube(apiserver, "-n", namespace, "apply", "-f", "-",
                           stdin=manifest.replace("applied", "cli").replace("size: 2", f"size: {size}"))
        assert applied.returncode == 0, applied.stderr
    assert http.get(f"{widgets(group, namespace)}/cli").json()["spec"]["size"] == 8
    deleted = tinykube(apiserver, "-n", namespace, "delete", "widget", "applied")
    assert deleted.returncode == 0, deleted.stderr
    assert http.get(f"{widgets(group, namespace)}/applied").status_code == 404


# --- controllers that walk every resource: garbage collector, namespace deletion ------------


@contextlib.asynccontextmanager
async def running(apiserver: APIServerProcess, cls: type, **options: Any) -> AsyncIterator[Any]:
    """One controller of the controller manager, in this process, until the block ends."""
    from tinykube.client import ClientConfig, EventRecorder, RESTClient, SharedInformerFactory

    client = RESTClient(ClientConfig(server=apiserver.http_url))
    factory = SharedInformerFactory(client, typed=True)
    recorder = EventRecorder(client, "controller-manager")
    controller = cls(client, factory, recorder, **options)
    factory.start()
    task = asyncio.create_task(controller.run(2))
    try:
        yield controller
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await factory.stop()
        await recorder.shut_down()
        await client.aclose()
        for info in INDEX.resources:  # discovery added the test's CRDs to this process's index
            if not INDEX.is_builtin(info):
                INDEX.remove(info)


async def eventually(check: Callable[[], Any], what: str, timeout_seconds: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_seconds
    while not await asyncio.to_thread(check):
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def test_the_garbage_collector_follows_owner_references_to_custom_resources(
        apiserver: APIServerProcess, http: httpx.Client, crd: Obj, group: str,
        namespace: str) -> None:
    from controller_manager.garbagecollector import GarbageCollector

    owner = create_widget(http, group, namespace, "owner", size=1)
    ref = {"apiVersion": f"{group}/v1", "kind": "Widget", "name": "owner",
           "uid": owner["metadata"]["uid"]}
    config_map = {"metadata": {"name": "owned", "ownerReferences": [ref]}, "data": {"a": "b"}}
    cms = f"/api/v1/namespaces/{namespace}/configmaps"
    assert http.post(cms, json=config_map).status_code == 201

    async with running(apiserver, GarbageCollector, discovery_resync_seconds=0.2) as collector:
        await eventually(lambda: any(i.plural == "widgets" and i.group == group
                                     for i in collector.monitored), "widgets monitored")
        assert http.delete(f"{widgets(group, namespace)}/owner").status_code == 200
        await eventually(lambda: http.get(f"{cms}/owned").status_code == 404,
                         "the ConfigMap to be collected")


async def test_deleting_a_namespace_deletes_its_custom_resources(
        apiserver: APIServerProcess, http: httpx.Client, crd: Obj, group: str) -> None:
    from controller_manager.namespace import NamespaceController

    name = f"t-{uuid.uuid4().hex[:10]}"
    assert http.post("/api/v1/namespaces", json={"metadata": {"name": name}}).status_code == 201
    create_widget(http, group, name, "inside", size=1)
    async with running(apiserver, NamespaceController):
        assert http.delete(f"/api/v1/namespaces/{name}").status_code == 200
        await eventually(lambda: http.get(f"/api/v1/namespaces/{name}").status_code == 404,
                         "the namespace to go")
    assert http.get(f"{widgets(group, name)}/inside").status_code == 404


def test_custom_resources_are_in_openapi_v2_and_kubectl_creates_them_from_a_list(
        http: httpx.Client, crd: Obj, group: str, namespace: str,
        kubectl: Callable[..., str], tmp_path: Path) -> None:
    definition = ".".join([*reversed(group.split(".")), "v1", "Widget"])
    definitions = http.get("/openapi/v2").json()["definitions"]
    size = definitions[definition]["properties"]["spec"]["properties"]["size"]
    assert (size["type"], size["description"]) == ("integer", "How big the widget is.")
    assert definitions[definition]["x-kubernetes-group-version-kind"] == [
        {"group": group, "version": "v1", "kind": "Widget"}]
    protobuf = http.get("/openapi/v2", headers={
        "accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
    assert protobuf.headers["content-type"].endswith("+protobuf")
    assert definition.encode() in protobuf.content and b"How big the widget is." in protobuf.content
    # kubectl reads /openapi/v2 as protobuf to validate each item of a List.
    manifest = tmp_path / "list.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: List\nitems:\n"
        f"- apiVersion: {group}/v1\n  kind: Widget\n  metadata:\n    name: listed\n"
        "  spec:\n    size: 3\n")
    kubectl("create", "-f", str(manifest), "-n", namespace)
    assert http.get(f"{widgets(group, namespace)}/listed").json()["spec"]["size"] == 3

    http.delete(f"{CRDS}/widgets.{group}")
    wait_for(lambda: definition not in http.get("/openapi/v2").json()["definitions"],
             "the definition to leave /openapi/v2 with its CRD")


def test_a_tightened_schema_ratchets_objects_stored_before(http: httpx.Client, crd: Obj,
                                                           group: str, namespace: str) -> None:
    create_widget(http, group, namespace, "big", size=50, color="green")
    tightened = http.get(f"{CRDS}/widgets.{group}").json()
    spec_schema = tightened["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec_schema["properties"]["size"]["maximum"] = 10
    assert http.put(f"{CRDS}/widgets.{group}", json=tightened).status_code == 200

    def tightened_schema_served() -> bool:
        body = widget("probe", size=50)
        body["apiVersion"] = f"{group}/v1"
        return http.post(widgets(group, namespace), json=body).status_code == 422
    wait_for(tightened_schema_served, "the tightened schema to be served")

    merge = {"content-type": "application/merge-patch+json"}
    recoloured = http.patch(f"{widgets(group, namespace)}/big", headers=merge,
                            json={"spec": {"color": "red"}})
    assert recoloured.status_code == 200, recoloured.text
    assert recoloured.json()["spec"] == {"size": 50, "color": "red"}
    grown = http.patch(f"{widgets(group, namespace)}/big", headers=merge,
                       json={"spec": {"size": 60}})
    assert grown.status_code == 422
    assert "spec.size: Invalid value: 60: spec.size in body should be less than or equal to 10" \
        in grown.json()["message"]
