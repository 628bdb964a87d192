"""Image pulls on a hollow node with a modelled registry (kubelet --fake-registry):
the default pull policy, ErrImagePull then ImagePullBackOff with the registry's
message in the events, ErrImageNeverPull, and pull secrets (none, wrong, right)
against a registry that wants credentials.

The registry is a JSON file the fake runtime reads at every pull, so "pushing" an
image is rewriting it; the kubelet's image backoff is shortened to 1 s.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tinykube.testing.processes import APIServerProcess, start_kubelet
from tinykube.testing.processes import wait_until as wait_for_condition

Obj = dict[str, Any]
PRIVATE = "registry:5000"


@pytest.fixture(scope="module")
def registry_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("registry") / "registry.json"
    path.write_text(json.dumps({"images": ["busybox:latest", f"{PRIVATE}/private/app:1"],
                                "credentials": {PRIVATE: "puller:s3cret"}}))
    return path


@pytest.fixture(scope="module")
def node(apiserver: APIServerProcess, registry_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    name = f"pulls-{uuid.uuid4().hex[:6]}"
    kubelet = start_kubelet(apiserver, name, tmp_path_factory.mktemp("kubelet"), "--fake-registry", str(registry_file),
                            "--image-pull-backoff-initial=1s", "--image-pull-backoff-max=2s")
    try:
        yield name
    finally:
        kubelet.stop(30)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    wait_for_condition(condition, 30, what)


def create_pod(http: httpx.Client, namespace: str, node: str, name: str, image: str, **spec: Any) -> None:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": node, "containers": [{"name": "app", "image": image}], **spec}}
    if "imagePullPolicy" in spec:
        body["spec"]["containers"][0]["imagePullPolicy"] = body["spec"].pop("imagePullPolicy")
    http.post(f"/api/v1/namespaces/{namespace}/pods", json=body).raise_for_status()


def waiting_reason(http: httpx.Client, namespace: str, name: str) -> tuple[str, str] | None:
    pod = http.get(f"/api/v1/namespaces/{namespace}/pods/{name}").json()
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (status.get("state") or {}).get("waiting")
        if waiting:
            return waiting.get("reason", ""), waiting.get("message", "")
    return None


def phase(http: httpx.Client, namespace: str, name: str) -> str:
    return (http.get(f"/api/v1/namespaces/{namespace}/pods/{name}").json().get("status") or {}).get("phase", "")


def events(http: httpx.Client, namespace: str, name: str) -> list[tuple[str, str]]:
    items = http.get(f"/api/v1/namespaces/{namespace}/events",
                     params={"fieldSelector": f"involvedObject.name={name}"}).json()["items"]
    return [(e["reason"], e["message"]) for e in items]


def pull_secret(http: httpx.Client, namespace: str, name: str, username: str, password: str) -> None:
    config = {"auths": {PRIVATE: {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}}}
    http.post(f"/api/v1/namespaces/{namespace}/secrets", json={
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()}}).raise_for_status()


def test_the_default_policy_pulls_busybox_and_reports_the_pull(http: httpx.Client, namespace: str, node: str) -> None:
    create_pod(http, namespace, node, "box", "busybox")
    wait_until(lambda: phase(http, namespace, "box") == "Running", "the busybox pod to run")

    def pull_reported() -> bool:
        reasons = events(http, namespace, "box")
        return ("Pulling", 'Pulling image "busybox"') in reasons and any(
            reason == "Pulled" and message.startswith('Successfully pulled image "busybox" in ')
            and "Image size: " in message for reason, message in reasons)
    wait_until(pull_reported, "the Pulling and Pulled events")


def test_a_missing_image_is_err_image_pull_then_backoff_with_the_registry_message(
        http: httpx.Client, namespace: str, node: str) -> None:
    create_pod(http, namespace, node, "ghost", "ghost:1")
    message = 'Failed to pull image "ghost:1": manifest for ghost:1 not found: manifest unknown: manifest unknown'
    # The waiting state may pass ErrImagePull too fast to be polled: the events keep it.
    wait_until(lambda: waiting_reason(http, namespace, "ghost") == ("ImagePullBackOff", 'Back-off pulling image "ghost:1"'),
               "ImagePullBackOff")
    wait_until(lambda: {("Failed", message), ("Failed", "Error: ErrImagePull"),
                        ("BackOff", 'Back-off pulling image "ghost:1"'),
                        ("Failed", "Error: ImagePullBackOff")} <= set(events(http, namespace, "ghost")),
               "the pull events")


def test_never_does_not_pull(http: httpx.Client, namespace: str, node: str) -> None:
    create_pod(http, namespace, node, "never", "busybox:1.36", imagePullPolicy="Never")
    message = 'Container image "busybox:1.36" is not present with pull policy of Never'
    wait_until(lambda: waiting_reason(http, namespace, "never") == ("ErrImageNeverPull", message), "ErrImageNeverPull")


def test_a_private_image_needs_the_right_pull_secret(http: httpx.Client, namespace: str, node: str,
                                                     registry_file: Path) -> None:
    image = f"{PRIVATE}/private/app:1"
    url = f'Head "http://{PRIVATE}/v2/private/app/manifests/1"'
    create_pod(http, namespace, node, "anonymous", image)
    wait_until(lambda: (waiting_reason(http, namespace, "anonymous") or ("", ""))[1]
               == f'Failed to pull image "{image}": {url}: no basic auth credentials', "an anonymous pull refused")

    pull_secret(http, namespace, "wrong", "puller", "guess")
    create_pod(http, namespace, node, "wrong", image, imagePullSecrets=[{"name": "wrong"}])
    refused = f'Failed to pull image "{image}": {url}: unauthorized: authentication required'
    wait_until(lambda: ("Failed", refused) in events(http, namespace, "wrong"), "the 401 in the events")

    pull_secret(http, namespace, "right", "puller", "s3cret")
    create_pod(http, namespace, node, "right", image, imagePullSecrets=[{"name": "absent"}, {"name": "right"}])
    wait_until(lambda: phase(http, namespace, "right") == "Running", "the pod with the right secret to run")
    missing = ("FailedToRetrieveImagePullSecret", f'Unable to retrieve some image pull secrets ("{namespace}/absent"); '
               "attempting to pull the image may not succeed.")
    wait_until(lambda: missing in events(http, namespace, "right"), "the event naming the missing secret")
