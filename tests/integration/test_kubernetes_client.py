"""The official `kubernetes` Python client drives tinykube as it drives Kubernetes.

The client talks HTTPS with the bearer token and the cluster CA, exactly as it
would to a real cluster; every answer must deserialize into its models.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException

from tinykube.testing.processes import APIServerProcess

WATCH_TIMEOUT_SECONDS = 10


@pytest.fixture(scope="module")
def api_client(apiserver: APIServerProcess) -> Iterator[client.ApiClient]:
    configuration = client.Configuration()
    configuration.host = apiserver.https_url
    configuration.api_key = {"authorization": apiserver.token}
    configuration.api_key_prefix = {"authorization": "Bearer"}
    configuration.ssl_ca_cert = str(apiserver.ca_file)
    with client.ApiClient(configuration) as api:
        yield api


@pytest.fixture
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture
def apps(api_client: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api_client)


def pod_manifest(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {}},
            "spec": {"containers": [{"name": "app", "image": "busybox"}]}}


def deployment_manifest(name: str, replicas: int = 1) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": "busybox"}]}}}}


def expect_api_error(status: int, call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ApiException) as raised:
        call(*args, **kwargs)
    assert raised.value.status == status, raised.value.body
    body: dict[str, Any] = json.loads(raised.value.body)
    assert body["kind"] == "Status" and body["code"] == status
    return body


def collect_watch(list_call: Any, count: int, *args: Any, **kwargs: Any) -> list[tuple[str, Any]]:
    """The first `count` events of a watch (deserialized), or fail at the timeout."""
    events: list[tuple[str, Any]] = []
    stream = watch.Watch()
    for event in stream.stream(list_call, *args, timeout_seconds=WATCH_TIMEOUT_SECONDS, **kwargs):
        events.append((event["type"], event["object"]))
        if len(events) == count:
            stream.stop()
            break
    assert len(events) == count, f"the watch ended after {events}"
    return events


def test_the_kubeconfig_works_with_load_kube_config(apiserver: APIServerProcess) -> None:
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(apiserver.kubeconfig), client_configuration=configuration)
    with client.ApiClient(configuration) as api:
        names = [ns.metadata.name for ns in client.CoreV1Api(api).list_namespace().items]
    assert "kube-system" in names


def test_pod_lifecycle(core: client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_pod(namespace, pod_manifest("web", {"tier": "front"}))
    assert created.metadata.uid and created.metadata.resource_version
    assert created.spec.containers[0].image == "busybox"

    read = core.read_namespaced_pod("web", namespace)
    assert read.metadata.uid == created.metadata.uid

    core.create_namespaced_pod(namespace, pod_manifest("db", {"tier": "back"}))
    fronts = core.list_namespaced_pod(namespace, label_selector="tier=front")
    assert [p.metadata.name for p in fronts.items] == ["web"]
    by_name = core.list_namespaced_pod(namespace, field_selector="metadata.name=db")
    assert [p.metadata.name for p in by_name.items] == ["db"]

    # The client's default patch for a dict body is a strategic merge patch:
    # the containers list merges by name instead of being replaced.
    patched = core.patch_namespaced_pod("web", namespace, {
        "metadata": {"labels": {"patched": "yes"}},
        "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}]}})
    assert patched.metadata.labels == {"tier": "front", "patched": "yes"}
    assert [(c.name, c.image) for c in patched.spec.containers] == [("app", "busybox:1.36")]

    patched.metadata.labels["replaced"] = "yes"
    replaced = core.replace_namespaced_pod("web", namespace, patched)
    assert replaced.metadata.labels["replaced"] == "yes"
    assert int(replaced.metadata.resource_version) > int(patched.metadata.resource_version)

    core.delete_namespaced_pod("web", namespace)
    expect_api_error(404, core.read_namespaced_pod, "web", namespace)
    assert [p.metadata.name for p in core.list_namespaced_pod(namespace).items] == ["db"]


def test_deployment_lifecycle(apps: client.AppsV1Api, namespace: str) -> None:
    created = apps.create_namespaced_deployment(namespace, deployment_manifest("api", 2))
    assert created.spec.replicas == 2
    assert apps.read_namespaced_deployment("api", namespace).metadata.uid == created.metadata.uid
    listed = apps.list_namespaced_deployment(namespace, label_selector="app=api")
    assert [d.metadata.name for d in listed.items] == ["api"]

    patched = apps.patch_namespaced_deployment("api", namespace, {"spec": {"replicas": 3}})
    assert patched.spec.replicas == 3
    patched.spec.template.spec.containers[0].image = "busybox:1.36"
    replaced = apps.replace_namespaced_deployment("api", namespace, patched)
    assert replaced.spec.template.spec.containers[0].image == "busybox:1.36"

    apps.delete_namespaced_deployment("api", namespace)
    expect_api_error(404, apps.read_namespaced_deployment, "api", namespace)


def test_paging_returns_every_object_exactly_once(core: client.CoreV1Api, namespace: str) -> None:
    names = {f"cm-{i:02d}" for i in range(11)}
    for name in names:
        core.create_namespaced_config_map(namespace, {"metadata": {"name": name}, "data": {"k": "v"}})
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = core.list_namespaced_config_map(namespace, limit=4, _continue=token)
        pages += 1
        assert len(page.items) <= 4
        seen.extend(cm.metadata.name for cm in page.items)
        token = page.metadata._continue
        if not token:
            break
    assert pages == 3
    assert sorted(seen) == sorted(names) and len(seen) == len(names)


def test_watch_sees_added_modified_deleted(core: client.CoreV1Api, namespace: str) -> None:
    start = core.list_namespaced_pod(namespace).metadata.resource_version
    core.create_namespaced_pod(namespace, pod_manifest("w"))
    core.patch_namespaced_pod("w", namespace, {"metadata": {"labels": {"step": "two"}}})
    core.delete_namespaced_pod("w", namespace)
    events = collect_watch(core.list_namespaced_pod, 3, namespace, resource_version=start)
    assert [kind for kind, _ in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert all(isinstance(obj, client.V1Pod) and obj.metadata.name == "w" for _, obj in events)
    assert events[1][1].metadata.labels == {"step": "two"}


def test_watch_resumes_with_exactly_the_later_events(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "one"}})
    middle = core.create_namespaced_config_map(namespace, {"metadata": {"name": "two"}})
    resume_from = middle.metadata.resource_version
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "three"}})
    core.patch_namespaced_config_map("one", namespace, {"data": {"x": "1"}})
    events = collect_watch(core.list_namespaced_config_map, 2, namespace,
                           resource_version=resume_from)
    assert [(kind, obj.metadata.name) for kind, obj in events] == \
        [("ADDED", "three"), ("MODIFIED", "one")]


def test_watch_without_resource_version_starts_with_the_current_objects(
        core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "present"}})
    events = collect_watch(core.list_namespaced_config_map, 1, namespace)
    assert [(kind, obj.metadata.name) for kind, obj in events] == [("ADDED", "present")]


def test_errors_are_api_exceptions_with_kubernetes_codes(
        core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str) -> None:
    missing = expect_api_error(404, core.read_namespaced_pod, "nope", namespace)
    assert missing["reason"] == "NotFound"

    core.create_namespaced_pod(namespace, pod_manifest("twice"))
    again = expect_api_error(409, core.create_namespaced_pod, namespace, pod_manifest("twice"))
    assert again["reason"] == "AlreadyExists"

    stale = core.read_namespaced_pod("twice", namespace)
    core.patch_namespaced_pod("twice", namespace, {"metadata": {"labels": {"v": "2"}}})
    conflict = expect_api_error(409, core.replace_namespaced_pod, "twice", namespace, stale)
    assert conflict["reason"] == "Conflict"

    bad_name = expect_api_error(422, core.create_namespaced_pod, namespace, pod_manifest("Bad_Name"))
    assert bad_name["reason"] == "Invalid"
    assert any(c.get("field") == "metadata.name" for c in bad_name["details"]["causes"])

    no_containers = expect_api_error(422, core.create_namespaced_pod, namespace,
                                     {"metadata": {"name": "empty"}, "spec": {"containers": []}})
    assert any("containers" in c.get("field", "") for c in no_containers["details"]["causes"])
    expect_api_error(404, core.read_namespaced_pod, "empty", namespace)
    expect_api_error(404, apps.read_namespaced_deployment_scale, "nope", namespace)


def test_deployment_scale_subresource(apps: client.AppsV1Api, namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, deployment_manifest("scaled", 1))
    scale = apps.read_namespaced_deployment_scale("scaled", namespace)
    assert isinstance(scale, client.V1Scale)
    assert scale.spec.replicas == 1 and scale.status.selector == "app=scaled"
    changed = apps.patch_namespaced_deployment_scale("scaled", namespace, {"spec": {"replicas": 4}})
    assert changed.spec.replicas == 4
    assert apps.read_namespaced_deployment("scaled", namespace).spec.replicas == 4


def test_replication_controller_with_its_scale_and_a_bad_selector(core: client.CoreV1Api,
                                                                   namespace: str) -> None:
    body = {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "rc"},
            "spec": {"replicas": 1, "template": {
                "metadata": {"labels": {"app": "rc"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
    created = core.create_namespaced_replication_controller(namespace, body)
    assert isinstance(created, client.V1ReplicationController)
    assert created.spec.selector == {"app": "rc"}
    core.patch_namespaced_replication_controller_scale("rc", namespace, {"spec": {"replicas": 4}})
    scale = core.read_namespaced_replication_controller_scale("rc", namespace)
    assert (scale.spec.replicas, scale.status.selector) == (4, "app=rc")
    bad = {**body, "metadata": {"name": "bad"}, "spec": {**body["spec"], "selector": {"app": "x"}}}
    status = expect_api_error(422, core.create_namespaced_replication_controller, namespace, bad)
    assert status["message"] == (
        'ReplicationController "bad" is invalid: spec.template.metadata.labels: Invalid value: '
        'map[string]string{"app":"rc"}: `selector` does not match template `labels`')


def test_events_written_through_either_api_are_read_through_both(api_client: client.ApiClient,
                                                                  core: client.CoreV1Api, namespace: str) -> None:
    events = client.EventsV1Api(api_client)
    created = events.create_namespaced_event(namespace, {
        "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "web.scaled"},
        "eventTime": "2026-12-03T10:00:00.000000Z", "reportingController": "example.com/operator",
        "reportingInstance": "operator-1", "action": "Scaling", "reason": "ScaledUp", "type": "Normal",
        "regarding": {"kind": "Deployment", "namespace": namespace, "name": "web"}, "note": "scaled to 3"})
    assert isinstance(created, client.EventsV1Event) and created.regarding.name == "web"
    legacy = core.read_namespaced_event("web.scaled", namespace)
    assert (legacy.involved_object.kind, legacy.message, legacy.reporting_component) == (
        "Deployment", "scaled to 3", "example.com/operator")
    core.create_namespaced_event(namespace, {
        "metadata": {"name": "old.style"}, "involvedObject": {"kind": "Pod", "name": "p", "namespace": namespace},
        "reason": "Pulled", "message": "pulled", "type": "Normal", "count": 2, "source": {"component": "kubelet"}})
    # A legacy event has no eventTime, which this client's EventsV1Event model insists on:
    # read the raw answer, as kube-apiserver's (eventTime null) would also need.
    raw = events.list_namespaced_event(namespace, _preload_content=False)
    listed = {e["metadata"]["name"]: e for e in json.loads(raw.data)["items"]}
    assert (listed["old.style"]["deprecatedCount"], listed["old.style"]["note"]) == (2, "pulled")
    assert listed["web.scaled"]["regarding"]["name"] == "web"
    status = expect_api_error(422, events.create_namespaced_event, namespace, {
        "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "incomplete"},
        "eventTime": "2026-12-03T10:00:00.000000Z", "reportingController": "example.com/operator",
        "reportingInstance": "operator-1", "reason": "ScaledUp", "type": "Normal",
        "regarding": {"kind": "Deployment", "namespace": namespace, "name": "web"}})
    assert status["message"] == 'Event.events.k8s.io "incomplete" is invalid: action: Required value'


def test_deployment_status_subresource(apps: client.AppsV1Api, namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, deployment_manifest("st", 1))
    patched = apps.patch_namespaced_deployment_status("st", namespace, {
        "spec": {"replicas": 9}, "status": {"replicas": 1, "observedGeneration": 1}})
    assert patched.status.replicas == 1 and patched.status.observed_generation == 1
    assert patched.spec.replicas == 1  # the status endpoint ignores spec

    current = apps.read_namespaced_deployment("st", namespace)
    current.spec.replicas = 2
    current.status.replicas = 7
    replaced = apps.replace_namespaced_deployment("st", namespace, current)
    assert replaced.spec.replicas == 2
    assert replaced.status.replicas == 1  # the main endpoint ignores status


def bind(core: client.CoreV1Api, namespace: str, pod: str, node: str) -> None:
    body = client.V1Binding(metadata=client.V1ObjectMeta(name=pod),
                            target=client.V1ObjectReference(kind="Node", name=node))
    # The answer is a Status, which the client cannot turn into a V1Binding.
    response = core.create_namespaced_pod_binding(pod, namespace, body, _preload_content=False)
    assert response.status == 201


def test_binding_then_graceful_delete_leaves_the_pod_terminating(
        core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_pod(namespace, pod_manifest("bound"))
    bind(core, namespace, "bound", "node-a")
    pod = core.read_namespaced_pod("bound", namespace)
    assert pod.spec.node_name == "node-a"
    assert any(c.type == "PodScheduled" and c.status == "True" for c in pod.status.conditions)
    expect_api_error(409, core.create_namespaced_pod_binding, "bound", namespace,
                     client.V1Binding(metadata=client.V1ObjectMeta(name="bound"),
                                      target=client.V1ObjectReference(kind="Node", name="node-b")))

    core.delete_namespaced_pod("bound", namespace, grace_period_seconds=30)
    terminating = core.read_namespaced_pod("bound", namespace)
    assert terminating.metadata.deletion_timestamp is not None
    assert terminating.metadata.deletion_grace_period_seconds == 30

    core.delete_namespaced_pod("bound", namespace, grace_period_seconds=0)
    expect_api_error(404, core.read_namespaced_pod, "bound", namespace)


def test_deleting_a_namespace_makes_it_terminating(core: client.CoreV1Api) -> None:
    name = f"t-{uuid.uuid4().hex[:10]}"
    core.create_namespace({"metadata": {"name": name}})
    core.delete_namespace(name)
    # Without a namespace controller nothing finalizes it: it stays Terminating.
    ns = core.read_namespace(name)
    assert ns.status.phase == "Terminating"
    assert ns.metadata.deletion_timestamp is not None
    refused = expect_api_error(403, core.create_namespaced_config_map, name,
                               {"metadata": {"name": "late"}})
    assert refused["reason"] == "Forbidden"


def apply(api: client.ApiClient, namespace: str, name: str, body: dict[str, Any],
          manager: str, force: bool = False) -> tuple[int, dict[str, Any]]:
    query = [("fieldManager", manager)] + ([("force", "true")] if force else [])
    request = api.param_serialize(
        "PATCH", "/api/v1/namespaces/{namespace}/configmaps/{name}",
        path_params={"namespace": namespace, "name": name}, query_params=query, body=body,
        header_params={"Content-Type": "application/apply-patch+yaml", "Accept": "application/json"},
        auth_settings=["BearerToken"])
    response = api.call_api(*request)
    response.read()
    return response.status, json.loads(response.data)


def test_server_side_apply(api_client: client.ApiClient, namespace: str) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"},
            "data": {"owner": "first"}}
    status, created = apply(api_client, namespace, "ssa", body, "first")
    assert status == 201, created
    assert created["data"] == {"owner": "first"}
    assert [m["manager"] for m in created["metadata"]["managedFields"]] == ["first"]

    status, again = apply(api_client, namespace, "ssa", body, "first")
    assert status == 200 and again["data"] == {"owner": "first"}

    takeover = {**body, "data": {"owner": "second"}}
    status, conflict = apply(api_client, namespace, "ssa", takeover, "second")
    assert status == 409 and conflict["reason"] == "Conflict"
    causes = conflict["details"]["causes"]
    assert [(c["reason"], c["field"]) for c in causes] == [("FieldManagerConflict", ".data.owner")]

    status, forced = apply(api_client, namespace, "ssa", takeover, "second", force=True)
    assert status == 200 and forced["data"] == {"owner": "second"}
    owners = {m["manager"]: m["fieldsV1"] for m in forced["metadata"]["managedFields"]}
    assert "f:owner" in json.dumps(owners["second"])
    assert "f:owner" not in json.dumps(owners.get("first", {}))


def test_tokens_are_required(apiserver: APIServerProcess) -> None:
    configuration = client.Configuration()
    configuration.host = apiserver.https_url
    configuration.ssl_ca_cert = str(apiserver.ca_file)
    with client.ApiClient(configuration) as api:
        expect_api_error(401, client.CoreV1Api(api).list_namespace)


def test_list_resource_version_is_not_older_than_a_write(core: client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_config_map(namespace, {"metadata": {"name": "rv"}})
    listed = core.list_namespaced_config_map(namespace)
    assert int(listed.metadata.resource_version) >= int(created.metadata.resource_version)


def test_server_side_apply_through_the_dynamic_client(api_client: client.ApiClient,
                                                      namespace: str, tmp_path: Path) -> None:
    dynamic_client = dynamic.DynamicClient(api_client, cache_file=str(tmp_path / "discovery.json"))
    config_maps = dynamic_client.resources.get(api_version="v1", kind="ConfigMap")
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dyn"},
            "data": {"k": "one"}}
    created = dynamic_client.server_side_apply(config_maps, body, namespace=namespace,
                                               field_manager="tool-a")
    assert created.data.k == "one"
    with pytest.raises(dynamic.exceptions.ConflictError) as raised:
        dynamic_client.server_side_apply(config_maps, {**body, "data": {"k": "two"}},
                                         namespace=namespace, field_manager="tool-b")
    assert raised.value.status == 409
    forced = dynamic_client.server_side_apply(config_maps, {**body, "data": {"k": "two"}},
                                              namespace=namespace, field_manager="tool-b",
                                              force_conflicts=True)
    assert forced.data.k == "two"


def test_the_generated_discovery_calls_use_the_slashed_paths(api_client: client.ApiClient) -> None:
    assert client.VersionApi(api_client).get_code().git_version.startswith("v1.")
    assert client.CoreApi(api_client).get_api_versions().versions == ["v1"]
    assert any(r.name == "pods" for r in client.CoreV1Api(api_client).get_api_resources().resources)
    assert any(r.name == "deployments"
               for r in client.AppsV1Api(api_client).get_api_resources().resources)
    groups = client.ApisApi(api_client).get_api_versions().groups
    assert "apps" in {group.name for group in groups}
    assert client.AppsApi(api_client).get_api_group().name == "apps"


def test_exec_into_a_missing_pod_raises_404(core: client.CoreV1Api, namespace: str) -> None:
    from kubernetes.stream import stream
    with pytest.raises(ApiException) as raised:
        stream(core.connect_get_namespaced_pod_exec, "absent", namespace, command=["ls"],
               stderr=True, stdout=True, stdin=False, tty=False)
    # The client turns every failed upgrade into status 0 with the handshake's answer
    # in the reason (kubernetes/stream/ws_client.py); before, it returned ''.
    assert raised.value.status == 0
    assert "Handshake status 404" in raised.value.reason
    assert 'pods \\"absent\\" not found' in raised.value.reason
