"""Heavy work kept from stalling the event loop: large YAML bodies and large lists.

The API server serves every request on one asyncio loop, so a request that holds
the CPU for a second holds every other request (and `/readyz`) for that second.
Two costs grow with the size of a request and are handled here:

- **YAML decoding** is pure Python (~2 s per MiB); bodies over `OFFLOAD_BYTES`
  are decoded in a worker thread. The loop keeps running between the thread's
  bytecodes (the interpreter switches threads every few milliseconds), so other
  requests are answered while a large manifest is parsed. JSON is not moved: the
  C decoder takes ~6 ms per MiB and holds the interpreter lock throughout, so a
  thread would gain nothing.
- **Encoding a list** of thousands of objects is one long `json.dumps`; a list of
  more than `LIST_CHUNK_ITEMS` items is streamed in chunks of that many items,
  returning to the loop between chunks (Kubernetes 1.33 streams list encoding in
  the same way). The bytes are exactly those `json.dumps` would produce.

Kubernetes counterpart: staging/src/k8s.io/apimachinery/pkg/runtime/serializer/json
(StreamingListEncoding), staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from starlette.responses import Response, StreamingResponse

T = TypeVar("T")

OFFLOAD_BYTES = 64 * 1024
LIST_CHUNK_ITEMS = 500


async def decode_off_loop(decode: Callable[[bytes], T], raw: bytes) -> T:
    """`decode(raw)`, in a worker thread when `raw` is large."""
    if len(raw) < OFFLOAD_BYTES:
        return decode(raw)
    return await asyncio.to_thread(decode, raw)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def list_response(body: dict[str, Any]) -> Response:
    """A `...List` body as JSON; streamed in chunks when it has many items."""
    items = body.get("items") or []
    if len(items) <= LIST_CHUNK_ITEMS or len(body) < 2 or list(body)[-1] != "items":
        return Response(_dumps(body), 200, media_type="application/json")
    return StreamingResponse(_chunks(body, items), media_type="application/json")


async def _chunks(body: dict[str, Any], items: list[Any]) -> AsyncIterator[bytes]:
    head = _dumps({k: v for k, v in body.items() if k != "items"})
    yield (head[:-1] + ',"items":[').encode()
    for start in range(0, len(items), LIST_CHUNK_ITEMS):
        chunk = ",".join(_dumps(item) for item in items[start:start + LIST_CHUNK_ITEMS])
        yield (chunk if start == 0 else "," + chunk).encode()
        await asyncio.sleep(0)  # let other requests run between chunks
    yield b"]}"
