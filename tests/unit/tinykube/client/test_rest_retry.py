"""RESTClient honours Retry-After: throttled answers are retried, boundedly, without sleeping."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tinykube.api.resources import INDEX
from tinykube.client.clock import FakeClock
from tinykube.client.config import ClientConfig
from tinykube.client.errors import NotFound, ServerError, TooManyRequests
from tinykube.client.rest import MAX_RETRIES, MAX_RETRY_AFTER_SECONDS, RESTClient

CONFIGMAPS = INDEX.by_name("configmaps")
assert CONFIGMAPS


class RecordingClock(FakeClock):
    """Every sleep returns at once; its length is recorded and time moves by it."""

    def __init__(self) -> None:
        super().__init__()
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)


def throttled(retry_after: str | None = "1", code: int = 429) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    reason = "TooManyRequests" if code == 429 else "ServiceUnavailable"
    return httpx.Response(code, headers=headers, json={
        "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
        "reason": reason, "message": "Too many requests, please try again later.",
        "details": {"retryAfterSeconds": 1}})


def scripted(answers: list[httpx.Response]) -> tuple[RESTClient, RecordingClock, list[httpx.Request]]:
    """A client whose server gives `answers` in order (the last one for ever)."""
    seen: list[httpx.Request] = []
    script: Iterator[httpx.Response] = iter(answers)
    last = answers[-1]

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return next(script, last)

    clock = RecordingClock()
    client = RESTClient(ClientConfig(server="http://apiserver.test"),
                        transport=httpx.MockTransport(answer), clock=clock, jitter=lambda: 0.5)
    return client, clock, seen


async def test_a_create_refused_with_429_is_sent_again_after_retry_after() -> None:
    created = httpx.Response(201, json={"kind": "ConfigMap", "metadata": {"name": "a"}})
    client, clock, seen = scripted([throttled("2"), throttled("1"), created])
    async with client:
        result = await client.create(CONFIGMAPS, {"metadata": {"name": "a"}}, "default")
    assert result["metadata"]["name"] == "a"
    assert [r.method for r in seen] == ["POST", "POST", "POST"]
    assert all(json.loads(r.content) == {"metadata": {"name": "a"}} for r in seen)
    assert clock.slept == [pytest.approx(2 * 1.1), pytest.approx(1 * 1.1)]  # 10 % jitter


async def test_gives_up_after_max_retries_with_too_many_requests() -> None:
    client, clock, seen = scripted([throttled("1")])
    async with client:
        with pytest.raises(TooManyRequests) as raised:
            await client.get(CONFIGMAPS, "a", "default")
    assert len(seen) == MAX_RETRIES + 1
    assert len(clock.slept) == MAX_RETRIES
    assert raised.value.retry_after_seconds == 1


async def test_a_long_retry_after_is_capped() -> None:
    ok = httpx.Response(200, json={"kind": "ConfigMap"})
    client, clock, _ = scripted([throttled("3600"), ok])
    async with client:
        await client.get(CONFIGMAPS, "a", "default")
    assert clock.slept == [pytest.approx(MAX_RETRY_AFTER_SECONDS * 1.1)]


@pytest.mark.parametrize("answer, error", [
    (throttled(None), TooManyRequests),            # 429 without Retry-After: no retry
    (throttled("soon"), TooManyRequests),          # not a number of seconds
    (httpx.Response(500, json={"kind": "Status", "code": 500}), ServerError),
    (httpx.Response(404, headers={"Retry-After": "1"}, json={"kind": "Status", "code": 404}),
     NotFound),                                    # only 429 and 5xx are retried
])
async def test_answers_that_are_not_retried(answer: httpx.Response,
                                            error: type[Exception]) -> None:
    client, clock, seen = scripted([answer])
    async with client:
        with pytest.raises(error):
            await client.get(CONFIGMAPS, "a", "default")
    assert len(seen) == 1 and clock.slept == []


async def test_a_5xx_with_retry_after_is_retried() -> None:
    ok = httpx.Response(200, json={"kind": "ConfigMap"})
    client, clock, seen = scripted([throttled("1", code=503), ok])
    async with client:
        await client.get(CONFIGMAPS, "a", "default")
    assert len(seen) == 2 and len(clock.slept) == 1


def test_warning_header_values_are_split_and_unquoted() -> None:
    from tinykube.client.rest import warning_texts
    headers = ['299 - "first, with a comma", 299 - "a \\"quoted\\" word"',
               '199 agent "not a Kubernetes warning"']
    assert warning_texts(headers) == ["first, with a comma", 'a "quoted" word']
