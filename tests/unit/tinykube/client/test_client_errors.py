"""HTTP answers and Status bodies become the right exception."""

from __future__ import annotations

import json

import pytest

from tinykube.client.errors import (
    AlreadyExists,
    APIStatusError,
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    ServerError,
    TooManyRequests,
    Unauthorized,
    error_from_response,
    error_from_status,
)


def status(code: int, reason: str, message: str = "boom") -> dict[str, object]:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
            "reason": reason, "message": message}


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        (400, "BadRequest", BadRequest),
        (401, "Unauthorized", Unauthorized),
        (403, "Forbidden", Forbidden),
        (404, "NotFound", NotFound),
        (409, "AlreadyExists", AlreadyExists),
        (409, "Conflict", Conflict),
        (410, "Expired", Gone),
        (410, "Gone", Gone),
        (422, "Invalid", Invalid),
        (429, "TooManyRequests", TooManyRequests),
        (500, "InternalError", ServerError),
        (503, "ServiceUnavailable", ServerError),
        (405, "MethodNotAllowed", APIStatusError),
    ],
)
def test_status_maps_to_exception_class(code: int, reason: str, expected: type[APIStatusError]) -> None:
    err = error_from_response(code, json.dumps(status(code, reason)).encode())
    assert type(err) is expected
    assert (err.code, err.reason, err.message) == (code, reason, "boom")
    assert err.status["reason"] == reason


def test_already_exists_is_a_conflict() -> None:
    # Callers retrying on Conflict must not retry a create whose name is taken by mistake,
    # but `except Conflict` still catches both, as errors.IsConflict does in client-go.
    assert issubclass(AlreadyExists, Conflict)


def test_a_body_that_is_not_a_status_still_maps_by_code() -> None:
    err = error_from_response(404, b"404 page not found")
    assert isinstance(err, NotFound)
    assert err.reason == "NotFound"
    assert "404 page not found" in err.message
    assert isinstance(error_from_response(502, b""), ServerError)


def test_in_stream_error_status_maps_to_gone() -> None:
    err = error_from_status(status(410, "Expired", "too old resource version: 5 (20)"))
    assert isinstance(err, Gone)
    assert "too old" in str(err)


def test_retry_after_seconds_is_read_from_details() -> None:
    body = {**status(429, "TooManyRequests"), "details": {"retryAfterSeconds": 3}}
    err = error_from_response(429, body)
    assert isinstance(err, TooManyRequests)
    assert err.retry_after_seconds == 3
