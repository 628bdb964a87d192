"""`GET pods/{name}/log`: resolve the container, then stream the kubelet's log.

The container is the `container` parameter, else the pod's only container, else
the one named by the `kubectl.kubernetes.io/default-container` annotation; a pod
with several containers and no choice is a 400 listing them, worded as Kubernetes
words it. A container still waiting to start is a 400 naming the reason. The
kubelet's bytes are relayed unchanged (`text/plain`, chunked); with `follow=true`
the response lasts as long as the container writes.

Kubernetes counterpart: pkg/registry/core/pod/rest/log.go,
pkg/registry/core/pod/strategy.go (LogLocation, validateContainer)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from apiserver import errors
from apiserver.proxy.kubelet_client import KubeletClient
from apiserver.server import APIServer
from tinykube.api.resources import PODS

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"
LOG_PARAMS = ("follow", "previous", "timestamps", "tailLines", "sinceSeconds", "limitBytes")


def _names(containers: list[dict[str, Any]]) -> list[str]:
    return [c["name"] for c in containers]


def choose_container(pod: dict[str, Any], requested: str | None) -> str:
    """The container a log/exec/attach request means (Kubernetes' validateContainer)."""
    spec, name = pod.get("spec") or {}, pod["metadata"]["name"]
    containers, init = _names(spec.get("containers") or []), _names(spec.get("initContainers") or [])
    ephemeral = _names(spec.get("ephemeralContainers") or [])
    if requested:
        if requested not in (*containers, *init, *ephemeral):
            raise errors.bad_request(f"container {requested} is not valid for pod {name}")
        return requested
    if len(containers) == 1:
        return containers[0]
    default = (pod["metadata"].get("annotations") or {}).get(DEFAULT_CONTAINER_ANNOTATION)
    if default in containers:
        return default  # type: ignore[return-value]
    message = f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
    if init:
        message += f" or one of the init containers: [{' '.join(init)}]"
    if ephemeral:
        message += f" or one of the ephemeral containers: [{' '.join(ephemeral)}]"
    raise errors.bad_request(message)


def node_of(pod: dict[str, Any]) -> str:
    node = (pod.get("spec") or {}).get("nodeName")
    if not node:
        raise errors.bad_request(f"pod {pod['metadata']['name']} does not have a host assigned")
    return str(node)


def check_started(pod: dict[str, Any], container: str) -> None:
    """A container that never ran has no log (Kubernetes: 'is waiting to start')."""
    status = pod.get("status") or {}
    for entry in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if entry.get("name") != container:
            continue
        waiting = (entry.get("state") or {}).get("waiting")
        if waiting and not entry.get("lastState", {}).get("terminated"):
            raise errors.bad_request(f'container "{container}" in pod "{pod["metadata"]["name"]}" '
                                     f"is waiting to start: {waiting.get('reason') or 'ContainerCreating'}")
        return
    if not status.get("containerStatuses"):
        raise errors.bad_request(f'container "{container}" in pod "{pod["metadata"]["name"]}" '
                                 "is waiting to start: ContainerCreating")


async def pod_log(server: APIServer, kubelets: KubeletClient, request: Request, namespace: str,
                  name: str) -> Response:
    pod = await server.registries[PODS].get(namespace, name)
    query = request.query_params
    container = choose_container(pod, query.get("container"))
    previous = query.get("previous") in ("true", "1")
    if not previous:
        check_started(pod, container)
    location = await kubelets.locate(server, node_of(pod))
    params = [(k, query[k]) for k in LOG_PARAMS if k in query]
    url = location.url(f"/containerLogs/{namespace}/{name}/{container}", params)
    try:
        upstream = await kubelets.http.send(kubelets.http.build_request("GET", url), stream=True)
    except httpx.HTTPError as err:
        raise errors.APIError(502, "InternalError", f"error dialing backend: {err}") from None
    if upstream.status_code != 200:
        body = await upstream.aread()
        await upstream.aclose()
        return Response(body, upstream.status_code,
                        media_type=upstream.headers.get("content-type", "application/json"))
    return StreamingResponse(_relay(upstream), media_type="text/plain")


async def _relay(upstream: httpx.Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in upstream.aiter_raw():
            yield chunk
    except httpx.HTTPError:
        return  # the kubelet went away mid-stream: end the log
    finally:
        await upstream.aclose()
