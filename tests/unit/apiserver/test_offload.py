"""Heavy work off the loop: streamed lists are byte-identical, large YAML runs in a thread."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from starlette.responses import StreamingResponse

from apiserver.offload import LIST_CHUNK_ITEMS, OFFLOAD_BYTES, decode_off_loop, list_response


def pod_list(count: int) -> dict[str, Any]:
    return {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "7"},
            "items": [{"metadata": {"name": f"p{i}"}, "spec": {"n": i}} for i in range(count)]}


async def body_of(response: Any) -> bytes:
    if isinstance(response, StreamingResponse):
        return b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[misc]
    return bytes(response.body)


@pytest.mark.parametrize("count", [0, 1, LIST_CHUNK_ITEMS, LIST_CHUNK_ITEMS + 1,
                                   3 * LIST_CHUNK_ITEMS + 7])
async def test_list_bytes_are_those_of_one_dumps(count: int) -> None:
    body = pod_list(count)
    response = list_response(body)
    assert isinstance(response, StreamingResponse) is (count > LIST_CHUNK_ITEMS)
    assert await body_of(response) == json.dumps(body, separators=(",", ":")).encode()


async def test_large_bodies_are_decoded_in_a_worker_thread() -> None:
    threads: list[str] = []

    def decode(raw: bytes) -> int:
        threads.append(threading.current_thread().name)
        return len(raw)

    assert await decode_off_loop(decode, b"x" * 10) == 10
    assert await decode_off_loop(decode, b"x" * OFFLOAD_BYTES) == OFFLOAD_BYTES
    assert threads[0] == threading.current_thread().name
    assert threads[1] != threading.current_thread().name


async def test_decode_errors_come_back_from_the_thread() -> None:
    def decode(raw: bytes) -> None:
        raise ValueError("bad")

    with pytest.raises(ValueError, match="bad"):
        await decode_off_loop(decode, b"x" * OFFLOAD_BYTES)
