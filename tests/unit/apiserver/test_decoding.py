"""Tests for apiserver.decoding: body size, nesting depth and YAML alias bounds."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request
from starlette.types import Message

from apiserver import errors
from apiserver.decoding import (
    MAX_NESTING_DEPTH,
    DecodeError,
    allowed_alias_ratio,
    parse_json,
    parse_yaml,
    read_limited_body,
)


def laughs(levels: int, fanout: int = 9) -> str:
    """The "billion laughs": each level a list of `fanout` aliases of the one before."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * fanout)}]"]
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * fanout)}]")
    return "\n".join(lines) + "\n"


def nested(depth: int, opener: str = "[", closer: str = "]") -> str:
    return opener * depth + closer * depth


EXCESSIVE_ALIASING = "yaml: document contains excessive aliasing"
YAML_TOO_DEEP = f"yaml: exceeded max depth of {MAX_NESTING_DEPTH}"
JSON_TOO_DEEP = f"json: exceeded max depth of {MAX_NESTING_DEPTH}"

YAML_REFUSED = [
    ("billion-laughs", laughs(9), EXCESSIVE_ALIASING),
    ("four-levels-of-ten", laughs(4, fanout=10), EXCESSIVE_ALIASING),
    ("deep-flow-sequences", "[" * 100_000, YAML_TOO_DEEP),
    ("deep-flow-mappings", "x: " + "{" * 100_000, YAML_TOO_DEEP),
    ("deep-block-sequences", "- " * 100_000, YAML_TOO_DEEP),
    ("one-level-too-deep", nested(MAX_NESTING_DEPTH + 1), YAML_TOO_DEEP),
    ("recursive-anchor-in-a-sequence", "a: &x [*x]\n", YAML_TOO_DEEP),
    ("recursive-anchor-in-a-mapping", "a: &x {b: *x}\n", YAML_TOO_DEEP),
    # Each part is shallow, but the alias puts a deep list below a deep list.
    ("deep-only-when-expanded", f"a: &a {nested(60)}\nb: {'[' * 60}*a{']' * 60}\n", YAML_TOO_DEEP),
]


@pytest.mark.parametrize(("name", "document", "message"), YAML_REFUSED,
                         ids=[c[0] for c in YAML_REFUSED])
def test_parse_yaml_refuses(name: str, document: str, message: str) -> None:
    with pytest.raises(DecodeError) as caught:
        parse_yaml(document)
    assert str(caught.value) == message


YAML_ACCEPTED: list[tuple[str, str, Any]] = [
    ("empty", "", None),
    ("plain", "a: 1\nb: [x, y]\n", {"a": 1, "b": ["x", "y"]}),
    ("as-deep-as-allowed", nested(MAX_NESTING_DEPTH), None),
    ("a-few-aliases", "a: &a {x: 1}\nb: *a\nc: [*a, *a]\n",
     {"a": {"x": 1}, "b": {"x": 1}, "c": [{"x": 1}, {"x": 1}]}),
    ("merge-key", "base: &b {x: 1}\nd:\n  <<: *b\n  y: 2\n", {"base": {"x": 1}, "d": {"x": 1, "y": 2}}),
    ("two-levels-of-ten", laughs(2, fanout=10), None),
]


@pytest.mark.parametrize(("name", "document", "expected"), YAML_ACCEPTED,
                         ids=[c[0] for c in YAML_ACCEPTED])
def test_parse_yaml_accepts(name: str, document: str, expected: Any) -> None:
    value = parse_yaml(document)
    if expected is not None:
        assert value == expected


def test_parse_yaml_reports_syntax_errors() -> None:
    with pytest.raises(DecodeError):
        parse_yaml("a: [1, 2\n")


@pytest.mark.parametrize(("document", "refused"), [
    (nested(MAX_NESTING_DEPTH), False),
    (nested(MAX_NESTING_DEPTH + 1), True),
    ('{"a":' * (MAX_NESTING_DEPTH + 1) + "1" + "}" * (MAX_NESTING_DEPTH + 1), True),
    (nested(100_000), True),  # deeper than Python's recursion limit
    ('{"a": [1, {"b": null}]}', False),
])
def test_parse_json_nesting_bound(document: str, refused: bool) -> None:
    if refused:
        with pytest.raises(DecodeError, match=JSON_TOO_DEEP):
            parse_json(document)
    else:
        parse_json(document)


def test_parse_json_reports_syntax_errors() -> None:
    with pytest.raises(DecodeError, match="Expecting"):
        parse_json(b"{bad")


@pytest.mark.parametrize(("decode_count", "ratio"), [
    (1_000, 0.99), (400_000, 0.99), (2_200_000, 0.545), (4_000_000, 0.10), (9_000_000, 0.10),
])
def test_allowed_alias_ratio_follows_go_yaml(decode_count: int, ratio: float) -> None:
    assert allowed_alias_ratio(decode_count) == pytest.approx(ratio)


def request_with_body(chunks: list[bytes], content_length: int | None) -> tuple[Request, list[int]]:
    """A request whose body arrives in `chunks`; the list records how many were received."""
    received: list[int] = []
    headers = [] if content_length is None else [(b"content-length", str(content_length).encode())]

    async def receive() -> Message:
        index = len(received)
        received.append(index)
        return {"type": "http.request", "body": chunks[index],
                "more_body": index + 1 < len(chunks)}

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers, "query_string": b""}
    return Request(scope, receive), received


async def test_read_limited_body_joins_chunks_within_the_limit() -> None:
    request, _ = request_with_body([b"ab", b"cd", b"e"], None)
    assert await read_limited_body(request, 5) == b"abcde"


async def test_read_limited_body_stops_reading_at_the_limit() -> None:
    request, received = request_with_body([b"x" * 4] * 100, None)
    with pytest.raises(errors.APIError) as caught:
        await read_limited_body(request, 10)
    assert (caught.value.code, caught.value.reason) == (413, "RequestEntityTooLarge")
    assert caught.value.message == "Request entity too large: limit is 10"
    assert len(received) == 3  # 12 bytes read: more than 10, and not one chunk more


async def test_read_limited_body_refuses_a_large_content_length_unread() -> None:
    request, received = request_with_body([b"x"], 50 * 1024 * 1024)
    with pytest.raises(errors.APIError) as caught:
        await read_limited_body(request, 3 * 1024 * 1024)
    assert caught.value.message == "Request entity too large: limit is 3145728"
    assert received == []
