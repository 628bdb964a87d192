"""The client's exception tree, built from the v1 Status the API server returns.

Every API error carries a Status body (`code`, `reason`, `message`, `details`). The
client turns it into one exception class per meaning, so callers write
`except NotFound:` instead of comparing numbers:

    ClientError
    ├── TransportError          (no answer: connection refused or broken, timeout)
    └── APIStatusError
    ├── BadRequest (400)        ├── Conflict (409, stale resourceVersion)
    ├── Unauthorized (401)      ├── AlreadyExists (409, reason AlreadyExists)
    ├── Forbidden (403)         ├── Gone (410, watch/list from a compacted revision)
    ├── NotFound (404)          ├── Invalid (422)
    ├── TooManyRequests (429)   └── ServerError (5xx)

Kubernetes counterpart: staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go
"""

from __future__ import annotations

import json
from typing import Any


class ClientError(Exception):
    """Anything a call to the API server can fail with: catch this in component loops."""


class TransportError(ClientError):
    """The API server gave no answer: refused, reset, timed out, or a broken stream.

    Components catch this instead of importing the HTTP library; the request may or
    may not have reached the server (a create can have happened).
    """


class APIStatusError(ClientError):
    """An error answer from the API server.

    - `code` is the HTTP status, `reason` the Status reason ("NotFound", ...).
    - `status` is the whole Status body as received (or synthesized when the body
      was not a Status), for callers that need `details.causes`.
    """

    def __init__(self, code: int, reason: str, message: str,
                 status: dict[str, Any] | None = None) -> None:
        super().__init__(f"{message} (code={code} reason={reason})" if message
                         else f"code={code} reason={reason}")
        self.code = code
        self.reason = reason
        self.message = message
        self.status: dict[str, Any] = status or {
            "kind": "Status", "apiVersion": "v1", "status": "Failure",
            "code": code, "reason": reason, "message": message,
        }

    @property
    def retry_after_seconds(self) -> int | None:
        details = self.status.get("details") or {}
        value = details.get("retryAfterSeconds")
        return int(value) if isinstance(value, int) else None


class BadRequest(APIStatusError):
    """400: the request itself is malformed (bad selector, undecodable body)."""


class Unauthorized(APIStatusError):
    """401: no or unknown credentials."""


class Forbidden(APIStatusError):
    """403: authenticated, but not allowed (or the namespace is terminating)."""


class NotFound(APIStatusError):
    """404: the object (or the route) does not exist."""


class Conflict(APIStatusError):
    """409: the write lost an optimistic-concurrency race; re-read and retry."""


class AlreadyExists(Conflict):
    """409 with reason AlreadyExists: create of a name that is taken."""


class Gone(APIStatusError):
    """410: the resourceVersion is older than the server's history; relist."""


class Invalid(APIStatusError):
    """422: the object failed validation; `status["details"]["causes"]` names fields."""


class TooManyRequests(APIStatusError):
    """429: throttled; `retry_after_seconds` says when to come back."""


class ServerError(APIStatusError):
    """5xx: the server failed; the request may be retried."""


_BY_CODE: dict[int, type[APIStatusError]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict,
    410: Gone, 422: Invalid, 429: TooManyRequests,
}

_DEFAULT_REASON: dict[int, str] = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
    405: "MethodNotAllowed", 409: "Conflict", 410: "Gone", 415: "UnsupportedMediaType",
    422: "Invalid", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
    504: "Timeout",
}


def error_class_for(code: int, reason: str) -> type[APIStatusError]:
    if code == 409 and reason == "AlreadyExists":
        return AlreadyExists
    if code >= 500:
        return ServerError
    return _BY_CODE.get(code, APIStatusError)


def error_from_status(status: dict[str, Any], code: int | None = None) -> APIStatusError:
    """The exception for a Status object (as found in an ERROR watch event)."""
    status_code = int(status.get("code") or code or 500)
    reason = str(status.get("reason") or _DEFAULT_REASON.get(status_code, "Unknown"))
    message = str(status.get("message") or "")
    return error_class_for(status_code, reason)(status_code, reason, message, status)


def error_from_response(status_code: int, body: bytes | str | dict[str, Any] | None) -> APIStatusError:
    """The exception for an HTTP error answer; tolerates bodies that are not a Status."""
    data: Any = body
    if isinstance(body, bytes | str):
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = None
    if isinstance(data, dict) and data.get("kind") == "Status":
        return error_from_status({**data, "code": data.get("code") or status_code}, status_code)
    reason = _DEFAULT_REASON.get(status_code, "Unknown")
    text = body.decode(errors="replace") if isinstance(body, bytes) else str(body or "")
    message = text.strip()[:500] or f"the server answered HTTP {status_code}"
    return error_class_for(status_code, reason)(status_code, reason, message)
