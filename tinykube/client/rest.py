"""The REST client: Kubernetes verbs over HTTP, on plain JSON dicts.

`RESTClient` turns (resource, namespace, name, subresource) into the URL from the
resource table (`ResourceInfo.base_path`), sends JSON, and maps every error answer
to the exception tree in `errors`. Objects go in and come out as dicts, exactly as
on the wire; bodies may also be `KubeModel`s, and `create_object`/`update_object`
return the caller's model type.

- `list` follows `continue` tokens until the last page and returns the items with
  the list's resourceVersion, the point an informer starts watching from.
- `watch` streams `WatchEvent`s from a long-lived response with no read timeout; an
  ERROR event is raised as its exception (`Gone` for 410: the caller must relist).
  Use it with `contextlib.aclosing` when leaving the loop early.
- An answer of 429, or 5xx, that carries `Retry-After` is retried after that many
  seconds (capped, with a little jitter) up to `max_retries` times, whatever the
  verb: the server refused before doing anything (client-go's `checkWait`). After
  the last try the error is raised (`TooManyRequests` for 429).

Kubernetes counterpart: staging/src/k8s.io/client-go/rest/request.go,
staging/src/k8s.io/client-go/dynamic/simple.go, .../rest/watch/decoder.go
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import random
import re
import sys
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from enum import StrEnum
from typing import Any, TypeVar

import httpx

from tinykube.api.meta import KubeModel, WatchEvent
from tinykube.api.resources import INDEX, ResourceInfo
from tinykube.client.clock import Clock, RealClock
from tinykube.client.config import ClientConfig
from tinykube.client.errors import TransportError, error_from_response, error_from_status

log = logging.getLogger(__name__)

# httpcore runs `import sniffio` on every pooled request and, when the package is
# absent (anyio 4 no longer needs it), each failed import searches sys.path again:
# ~60 µs per request. A None entry makes the failure immediate; nothing changes
# if sniffio is installed.
if importlib.util.find_spec("sniffio") is None:
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

Obj = dict[str, Any]
Body = Obj | KubeModel
M = TypeVar("M", bound=KubeModel)

MAX_RETRIES = 10  # client-go's rest.Request maxRetries
MAX_RETRY_AFTER_SECONDS = 10.0
RETRY_JITTER = 0.2  # wait up to 20 % longer, so throttled clients do not return in step


class PatchType(StrEnum):
    """The four patch flavours and the Content-Type each is sent with."""

    JSON = "json"
    MERGE = "merge"
    STRATEGIC = "strategic"
    APPLY = "apply"

    @property
    def content_type(self) -> str:
        return {
            "json": "application/json-patch+json",
            "merge": "application/merge-patch+json",
            "strategic": "application/strategic-merge-patch+json",
            "apply": "application/apply-patch+yaml",
        }[self.value]


def to_wire(body: Body | list[Any]) -> Any:
    """A request body as JSON-ready data; models are dumped with their camelCase names."""
    return body.to_dict() if isinstance(body, KubeModel) else body


def info_for(obj: Body) -> ResourceInfo:
    """The resource an object belongs to, from its apiVersion and kind."""
    data = to_wire(obj)
    info = INDEX.by_kind(str(data.get("apiVersion", "")), str(data.get("kind", "")))
    if info is None:
        raise ValueError(f"no resource serves apiVersion={data.get('apiVersion')!r} "
                         f"kind={data.get('kind')!r}")
    return info


# RFC 7234 warning-value: code, agent, quoted text (Kubernetes sends 299 and "-").
_WARNING_VALUE = re.compile(r'\s*(\d{3})\s+(\S+)\s+"((?:[^"\\]|\\.)*)"(?:\s+"[^"]*")?\s*,?')


def warning_texts(headers: list[str]) -> list[str]:
    """The texts of the 299 warnings in `Warning` header values."""
    texts = []
    for header in headers:
        for code, _, text in _WARNING_VALUE.findall(header):
            if code == "299":
                texts.append(re.sub(r"\\(.)", r"\1", text))
    return texts


def _log_warning(text: str) -> None:
    log.warning("warning from the API server: %s", text)


class BearerAuth(httpx.Auth):
    """`Authorization: Bearer` with the config's current token (re-read from its file)."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.config.bearer_token()
        if token and "Authorization" not in request.headers:
            request.headers["Authorization"] = f"Bearer {token}"
        yield request


class RESTClient:
    """An async client for one API server.

    - One pooled `httpx.AsyncClient`; close it with `aclose()` or `async with`.
    - Every method raises an `APIStatusError` subclass on an error answer, and
      `TransportError` (tinykube.client.errors) when the server gives no answer.
    - Throttled answers (Retry-After) are retried at most `max_retries` times;
      `clock` and `jitter` (a random number in [0, 1)) are seams for tests.
    - Each `Warning: 299 - "..."` header of an answer goes to `warning_handler`
      (default: logged), as client-go's WarningHandler; the CLI prints them.
    """

    def __init__(self, config: ClientConfig, transport: httpx.AsyncBaseTransport | None = None,
                 *, max_retries: int = MAX_RETRIES, clock: Clock | None = None,
                 jitter: Callable[[], float] = random.random,
                 warning_handler: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.warning_handler = warning_handler or _log_warning
        self.max_retries = max_retries
        self._clock = clock or RealClock()
        self._jitter = jitter
        headers = {"User-Agent": config.user_agent, "Accept": "application/json"}
        self._http = httpx.AsyncClient(base_url=config.server, headers=headers, auth=BearerAuth(config),
                                       verify=config.ssl_context(), transport=transport,
                                       timeout=config.timeout_seconds)

    async def __aenter__(self) -> RESTClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- the raw request ----------------------------------------------------------

    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                      body: Any = None, content_type: str = "application/json",
                      headers: dict[str, str] | None = None) -> Any:
        """Send one request; the decoded JSON answer, or raise the mapped error.
        `headers` adds to or overrides the defaults (e.g. a Table `Accept`)."""
        content = None if body is None else json.dumps(to_wire(body)).encode()
        headers = {**({"Content-Type": content_type} if content is not None else {}),
                   **(headers or {})}
        query = {k: v for k, v in (params or {}).items() if v is not None}
        for attempt in range(self.max_retries + 1):
            with transport_errors(method, path):
                response = await self._http.request(method, path, params=query, content=content,
                                                    headers=headers)
            wait = retry_after_seconds(response)
            if wait is None or attempt == self.max_retries:
                break
            delay = min(wait, MAX_RETRY_AFTER_SECONDS) * (1 + RETRY_JITTER * self._jitter())
            log.debug("retrying after the server asked to code=%d method=%s path=%s "
                      "delay_seconds=%.2f attempt=%d", response.status_code, method, path,
                      delay, attempt + 1)
            await self._clock.sleep(delay)
        for text in warning_texts(response.headers.get_list("warning")):
            self.warning_handler(text)
        if response.status_code >= 400:
            raise error_from_response(response.status_code, response.content)
        if not response.content:
            return None
        return response.json()

    @staticmethod
    def path(info: ResourceInfo, namespace: str | None = None, name: str | None = None,
             subresource: str | None = None) -> str:
        if info.namespaced and name is not None and not namespace:
            raise ValueError(f"{info.plural} are namespaced: pass namespace= with name={name!r}")
        parts = [info.base_path(namespace)]
        if name is not None:
            parts.append(name)
            if subresource:
                parts.append(subresource)
        return "/".join(parts)

    # --- verbs ----------------------------------------------------------------------

    async def get(self, info: ResourceInfo, name: str, namespace: str | None = None) -> Obj:
        result: Obj = await self.request("GET", self.path(info, namespace, name))
        return result

    async def list(self, info: ResourceInfo, namespace: str | None = None, *,
                   label_selector: str | None = None, field_selector: str | None = None,
                   limit: int | None = None) -> tuple[list[Obj], str]:
        """All matching objects (following `continue` pages of `limit`) and the list's
        resourceVersion. Items get apiVersion/kind filled in when the server omits them."""
        items: list[Obj] = []
        resource_version = ""
        token: str | None = None
        while True:
            page: Obj = await self.request("GET", self.path(info, namespace), params={
                "labelSelector": label_selector or None, "fieldSelector": field_selector or None,
                "limit": limit, "continue": token})
            metadata = page.get("metadata") or {}
            resource_version = resource_version or str(metadata.get("resourceVersion") or "")
            for item in page.get("items") or []:
                item.setdefault("apiVersion", info.api_version)
                item.setdefault("kind", info.kind)
                items.append(item)
            token = metadata.get("continue") or None
            if not token:
                return items, resource_version

    async def create(self, info: ResourceInfo, body: Body, namespace: str | None = None, *,
                     field_manager: str | None = None) -> Obj:
        namespace = namespace or _namespace_of(body)
        result: Obj = await self.request("POST", self.path(info, namespace), body=body,
                                         params={"fieldManager": field_manager})
        return result

    async def update(self, info: ResourceInfo, body: Body, namespace: str | None = None, *,
                     field_manager: str | None = None) -> Obj:
        """PUT the whole object; its metadata.resourceVersion makes it compare-and-swap."""
        return await self.put_subresource(info, _name_of(body), None, body,
                                          namespace or _namespace_of(body), field_manager=field_manager)

    async def update_status(self, info: ResourceInfo, body: Body, namespace: str | None = None, *,
                            field_manager: str | None = None) -> Obj:
        """PUT to the status subresource: only .status changes."""
        return await self.put_subresource(info, _name_of(body), "status", body,
                                          namespace or _namespace_of(body), field_manager=field_manager)

    async def patch(self, info: ResourceInfo, name: str, body: Any, *,
                    patch_type: PatchType | str = PatchType.MERGE, namespace: str | None = None,
                    subresource: str | None = None, field_manager: str | None = None,
                    force: bool | None = None) -> Obj:
        kind = PatchType(patch_type)
        if kind is PatchType.APPLY and not field_manager:
            raise ValueError("server-side apply needs a field_manager")
        result: Obj = await self.request(
            "PATCH", self.path(info, namespace, name, subresource), body=body,
            content_type=kind.content_type,
            params={"fieldManager": field_manager, "force": None if force is None else str(force).lower()})
        return result

    async def delete(self, info: ResourceInfo, name: str, namespace: str | None = None, *,
                     grace_period_seconds: int | None = None, propagation_policy: str | None = None,
                     preconditions: dict[str, str] | None = None) -> Obj:
        """Delete (or mark for deletion); returns the object or a Success Status."""
        options: Obj = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        if propagation_policy is not None:
            options["propagationPolicy"] = propagation_policy
        if preconditions:
            options["preconditions"] = preconditions
        result: Obj = await self.request("DELETE", self.path(info, namespace, name), body=options)
        return result

    # --- subresources -----------------------------------------------------------------

    async def get_subresource(self, info: ResourceInfo, name: str, subresource: str,
                              namespace: str | None = None) -> Obj:
        result: Obj = await self.request("GET", self.path(info, namespace, name, subresource))
        return result

    async def put_subresource(self, info: ResourceInfo, name: str, subresource: str | None,
                              body: Body, namespace: str | None = None, *,
                              field_manager: str | None = None) -> Obj:
        result: Obj = await self.request("PUT", self.path(info, namespace, name, subresource),
                                         body=body, params={"fieldManager": field_manager})
        return result

    async def create_subresource(self, info: ResourceInfo, name: str, subresource: str,
                                 body: Body, namespace: str | None = None) -> Obj:
        """POST to a subresource, e.g. pods/<name>/binding (the scheduler's bind)."""
        result: Obj = await self.request("POST", self.path(info, namespace, name, subresource),
                                         body=body)
        return result

    # --- typed helpers ----------------------------------------------------------------

    async def get_object(self, model: type[M], name: str, namespace: str | None = None) -> M:
        """Get one object as `model` (e.g. `await client.get_object(Pod, "web", "default")`)."""
        # Imported here: the kind registry loads every model, which a CLI run rarely needs.
        from tinykube.api.registry import group_version_kind

        api_version, kind = group_version_kind(model)
        info = INDEX.by_kind(api_version, kind)
        if info is None:
            raise ValueError(f"no resource serves {model.__name__}")
        return model.from_dict(await self.get(info, name, namespace))

    async def create_object(self, obj: M, *, field_manager: str | None = None) -> M:
        """Create a model; the resource comes from its apiVersion/kind."""
        return type(obj).from_dict(await self.create(info_for(obj), obj, field_manager=field_manager))

    async def update_object(self, obj: M, *, field_manager: str | None = None) -> M:
        return type(obj).from_dict(await self.update(info_for(obj), obj, field_manager=field_manager))

    # --- watch ------------------------------------------------------------------------

    async def watch(self, info: ResourceInfo, namespace: str | None = None, *,
                    resource_version: str | None = None, label_selector: str | None = None,
                    field_selector: str | None = None, timeout_seconds: int | None = None,
                    allow_bookmarks: bool = True,
                    headers: dict[str, str] | None = None) -> AsyncIterator[WatchEvent]:
        """Events after `resource_version` until the server ends the stream.

        Raises the mapped error for an ERROR event (`Gone` when the version is too
        old) and for an error answer to the request itself.
        """
        params = {"watch": "true", "resourceVersion": resource_version or None,
                  "labelSelector": label_selector or None, "fieldSelector": field_selector or None,
                  "timeoutSeconds": timeout_seconds,
                  "allowWatchBookmarks": "true" if allow_bookmarks else None}
        query = {k: v for k, v in params.items() if v is not None}
        path = self.path(info, namespace)
        with transport_errors("WATCH", path):
            async with self._stream(path, query, headers) as response:
                async for line in response.aiter_lines():
                    if not line.strip():
                        continue
                    data = json.loads(line)
                    event_type, obj = str(data.get("type", "")), data.get("object") or {}
                    if event_type == "ERROR":
                        raise error_from_status(obj)
                    yield WatchEvent.model_construct(type=event_type, object=obj)

    async def stream(self, path: str, params: dict[str, Any] | None = None) -> AsyncIterator[bytes]:
        """The body of a long-running GET as it arrives (`pods/{name}/log?follow=true`)."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        with transport_errors("GET", path):
            async with self._stream(path, query) as response:
                async for chunk in response.aiter_bytes():
                    yield chunk

    @contextlib.asynccontextmanager
    async def _stream(self, path: str, query: dict[str, Any],
                      headers: dict[str, str] | None = None) -> AsyncIterator[httpx.Response]:
        # A stream is idle for as long as nothing happens: never time out a read.
        timeout = httpx.Timeout(self.config.timeout_seconds, read=None)
        async with self._http.stream("GET", path, params=query, timeout=timeout,
                                     headers=headers) as response:
            if response.status_code >= 400:
                raise error_from_response(response.status_code, await response.aread())
            yield response


def retry_after_seconds(response: httpx.Response) -> float | None:
    """How long the server asked us to wait before trying again: for 429 and 5xx
    answers with a Retry-After of whole seconds (client-go's `checkWait`); None
    means do not retry."""
    if response.status_code != 429 and response.status_code < 500:
        return None
    value = response.headers.get("retry-after", "").strip()
    if not value.isdigit():
        return None
    return float(value)


@contextlib.contextmanager
def transport_errors(method: str, path: str) -> Iterator[None]:
    """Turn the HTTP library's connection failures into the client's TransportError."""
    try:
        yield
    except httpx.HTTPError as err:
        raise TransportError(f"{method} {path}: {type(err).__name__}: {err}") from err


def _name_of(body: Body) -> str:
    name = (to_wire(body).get("metadata") or {}).get("name")
    if not name:
        raise ValueError("the object has no metadata.name")
    return str(name)


def _namespace_of(body: Body) -> str | None:
    namespace = (to_wire(body).get("metadata") or {}).get("namespace")
    return str(namespace) if namespace else None
