"""The connection to the Docker engine shared by the Docker runtime's modules.

`DockerEngine` owns two `docker.APIClient`s on the `--container-runtime-endpoint`
(short calls with a timeout; long streams such as `logs --follow` without one) and
turns the blocking SDK into coroutines: short calls run through `asyncio.to_thread`,
long streams are read by a dedicated daemon thread that feeds an asyncio queue (so
a follower never occupies the default executor). Every engine error becomes a
`RuntimeServiceError` carrying the engine's own message (`RuntimeNotFound` for a
404), which is what a CRI runtime returns as a gRPC status.

Together with `docker.py`, `docker_streams.py` and `docker_images.py` this is the
only code in tinykube that imports the `docker` package (an import-linter contract).

Kubernetes counterpart: pkg/kubelet/dockershim/libdocker/kube_docker_client.go
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlparse

import docker
import docker.errors

from kubelet.runtime import RuntimeNotFound, RuntimeServiceError

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "unix:///var/run/docker.sock"
CALL_TIMEOUT_SECONDS = 120
_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")

P = ParamSpec("P")
T = TypeVar("T")


def engine_error(error: Exception) -> RuntimeServiceError:
    """The engine's message, as the CRI error the kubelet reports (e.g. in ErrImagePull)."""
    if isinstance(error, docker.errors.NotFound):
        return RuntimeNotFound(error.explanation or str(error))
    if isinstance(error, docker.errors.APIError):
        return RuntimeServiceError(error.explanation or str(error))
    return RuntimeServiceError(f"{type(error).__name__}: {error}")


def parse_timestamp_ns(text: str | None) -> int:
    """RFC 3339 with nanoseconds ("2024-05-01T10:00:00.123456789Z") → ns since the epoch.

    Docker's zero time ("0001-01-01T00:00:00Z") means "never" and maps to 0.
    """
    if not text or text.startswith("0001-01-01"):
        return 0
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    whole, fraction, zone = match.groups()
    zone = "+00:00" if zone == "Z" else zone
    seconds = int(datetime.fromisoformat(whole + zone).timestamp())
    return seconds * 1_000_000_000 + int(((fraction or "") + "000000000")[:9])


class DockerEngine:
    """The SDK clients for one endpoint, with async wrappers.

    - `call(fn, ...)` runs one blocking SDK call in a thread and maps its errors.
    - `stream(open_stream)` iterates a blocking SDK stream in its own thread; closing
      the async iterator closes the HTTP response, which ends the thread.
    """

    def __init__(self, endpoint: str = DEFAULT_ENDPOINT) -> None:
        self.endpoint = endpoint
        self.api = docker.APIClient(base_url=endpoint, version="auto", timeout=CALL_TIMEOUT_SECONDS)
        self.streaming_api = docker.APIClient(base_url=endpoint, version=self.api.api_version,
                                              timeout=None)

    @property
    def api_version(self) -> str:
        return str(self.api.api_version)

    def unix_socket_path(self) -> str | None:
        parsed = urlparse(self.endpoint)
        return parsed.path if parsed.scheme in ("unix", "") else None

    def tcp_address(self) -> tuple[str, int]:
        parsed = urlparse(self.endpoint)
        return parsed.hostname or "127.0.0.1", parsed.port or 2375

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except (docker.errors.DockerException, OSError) as error:
            raise engine_error(error) from error

    async def stream(self, open_stream: Callable[[], Iterable[T]]) -> AsyncIterator[T]:
        """Yield the items of a blocking SDK stream; errors come out as RuntimeServiceError."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize=256)
        holder: dict[str, Any] = {}
        stopped = threading.Event()

        def put(kind: str, value: Any) -> None:
            # Blocks while the queue is full (back-pressure), but never past the
            # consumer's end: then the item is dropped and the thread winds down.
            try:
                future = asyncio.run_coroutine_threadsafe(queue.put((kind, value)), loop)
            except RuntimeError:  # the loop is closed
                stopped.set()
                return
            while not stopped.is_set():
                try:
                    future.result(timeout=0.5)
                    return
                except TimeoutError:
                    continue
                except Exception:  # noqa: BLE001 - the loop went away
                    return
            future.cancel()

        def pump() -> None:
            try:
                source = open_stream()
                holder["source"] = source
                if stopped.is_set():
                    return
                for item in source:
                    if stopped.is_set():
                        return
                    put("item", item)
                put("end", None)
            except BaseException as error:  # noqa: BLE001 - handed to the consumer
                put("error", error)

        thread = threading.Thread(target=pump, name="docker-stream", daemon=True)
        thread.start()
        try:
            while True:
                kind, value = await queue.get()
                if kind == "end":
                    return
                if kind == "error":
                    if isinstance(value, (docker.errors.DockerException, OSError)):
                        raise engine_error(value) from value
                    raise RuntimeServiceError(f"{type(value).__name__}: {value}") from value
                yield value
        finally:
            stopped.set()
            source = holder.get("source")
            close = getattr(source, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()

    def close(self) -> None:
        self.api.close()
        self.streaming_api.close()
