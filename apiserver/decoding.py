"""Reading and parsing request bodies within bounds, so one request cannot exhaust the server.

Every body the API server accepts passes through here:

- `read_limited_body` reads the ASGI body chunk by chunk and stops at the limit
  (3 MiB, Kubernetes' `MaxRequestBodyBytes`): more is 413 RequestEntityTooLarge,
  and a `Content-Length` above the limit is refused before a byte is read;
- `parse_json` and `parse_yaml` refuse documents nested deeper than
  `MAX_NESTING_DEPTH`, and YAML whose aliases expand into much more than the
  document itself (a "billion laughs", CVE-2019-11253). Both raise `DecodeError`,
  whose message the handlers put into a 400 BadRequest.

Aliases are bounded the way go-yaml (behind sigs.k8s.io/yaml) bounds them: every
node decoded counts, nodes decoded inside an alias expansion count as aliased, and
once more than 100 aliased nodes make up more than the allowed share of over 1000
decoded ones the document is refused. PyYAML shares one Python object between an
anchor and its aliases, so the expansion only happens later, when the tree is
walked or encoded; the count is therefore taken on the composed node graph before
anything is constructed.

The depth bound is lower than Kubernetes' 10,000 because every layer of the API
server walks objects recursively, one Python frame or more per level, under
Python's recursion limit (docs/differences-from-kubernetes.md).

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/endpoints/handlers/rest.go
(limitedReadBody), sigs.k8s.io/yaml/goyaml.v2/decode.go (allowedAliasRatio),
encoding/json's maxNestingDepth
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from starlette.requests import Request

from apiserver import errors

# Kubernetes' MaxRequestBodyBytes: twice etcd's 1.5 MiB request limit, because a JSON
# body is larger than the protobuf the real API server stores.
MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024
MAX_NESTING_DEPTH = 100

# go-yaml's allowedAliasRatio: 99% of a small document may come from aliases,
# falling linearly to 10% between 400,000 and 4,000,000 decoded nodes.
_ALIAS_RATIO_RANGE_LOW = 400_000
_ALIAS_RATIO_RANGE_HIGH = 4_000_000


class DecodeError(ValueError):
    """A body that cannot be parsed or breaks a bound; the message is shown to the user."""


async def read_limited_body(request: Request, limit_bytes: int = MAX_REQUEST_BODY_BYTES) -> bytes:
    """The whole body, read incrementally; 413 as soon as it is known to exceed the limit."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit_bytes:
        raise errors.too_large(limit_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit_bytes:
            raise errors.too_large(limit_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes | str) -> Any:
    try:
        value = json.loads(raw)
    except RecursionError:
        raise DecodeError(f"json: exceeded max depth of {MAX_NESTING_DEPTH}") from None
    except ValueError as err:
        raise DecodeError(str(err)) from None
    if _may_nest_deeper(raw, MAX_NESTING_DEPTH) and _depth_exceeds(value, MAX_NESTING_DEPTH):
        raise DecodeError(f"json: exceeded max depth of {MAX_NESTING_DEPTH}")
    return value


def _may_nest_deeper(raw: bytes | str, bound: int) -> bool:
    """False when `raw` has too few `{` and `[` to open more than `bound` nested
    containers (every level opens with one); counting is far cheaper than the walk."""
    if isinstance(raw, bytes):
        return raw.count(b"{") + raw.count(b"[") > bound
    return raw.count("{") + raw.count("[") > bound


def parse_yaml(raw: bytes | str) -> Any:
    loader = _BoundedLoader(raw.decode() if isinstance(raw, bytes) else raw)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        return loader.construct_document(node)
    except RecursionError:  # a recursive anchor the walk above did not reach
        raise DecodeError(f"yaml: exceeded max depth of {MAX_NESTING_DEPTH}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise DecodeError(str(err)) from None
    finally:
        loader.dispose()


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing to compose a node graph deeper than the bound.

    Composition recurses once per level, so the bound must hold here already, before
    Python's recursion limit would.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        self._depth += 1
        try:
            if self._depth > MAX_NESTING_DEPTH and self.check_event(
                    yaml.SequenceStartEvent, yaml.MappingStartEvent):
                raise DecodeError(f"yaml: exceeded max depth of {MAX_NESTING_DEPTH}")
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1


def allowed_alias_ratio(decode_count: int) -> float:
    if decode_count <= _ALIAS_RATIO_RANGE_LOW:
        return 0.99
    if decode_count >= _ALIAS_RATIO_RANGE_HIGH:
        return 0.10
    share = (decode_count - _ALIAS_RATIO_RANGE_LOW) / (_ALIAS_RATIO_RANGE_HIGH - _ALIAS_RATIO_RANGE_LOW)
    return 0.99 - 0.89 * share


def _check_expansion(root: yaml.Node) -> None:
    """Walk the node graph as it will expand, counting like go-yaml's decoder.

    An anchor precedes its aliases in document order, so the first visit of a node
    is its definition and every later visit is an alias expansion. Iterative, and
    the expanded depth is bounded too (an alias can sit deep and point at a deep
    node, and a recursive anchor is an endless expansion).
    """
    seen: set[int] = set()
    decode_count = alias_count = 0
    # (node, depth, inside an alias expansion)
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, aliased = stack.pop()
        if id(node) in seen:  # an alias: go-yaml decodes the alias node, then its target
            decode_count += 1
            alias_count += aliased
            aliased = True
        seen.add(id(node))
        decode_count += 1
        alias_count += aliased
        if (alias_count > 100 and decode_count > 1000
                and alias_count / decode_count > allowed_alias_ratio(decode_count)):
            raise DecodeError("yaml: document contains excessive aliasing")
        if isinstance(node, yaml.ScalarNode):
            continue
        if depth > MAX_NESTING_DEPTH:
            raise DecodeError(f"yaml: exceeded max depth of {MAX_NESTING_DEPTH}")
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:  # a mapping: keys and values, in order
            children = [child for pair in node.value for child in pair]
        # Reversed, so the stack visits children in document order.
        stack.extend((child, depth + 1, aliased) for child in reversed(children))


def _depth_exceeds(value: Any, bound: int) -> bool:
    """Whether a parsed JSON value nests containers more than `bound` deep (iterative)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > bound:
            return True
        if isinstance(current, dict):
            stack.extend((child, depth + 1) for child in current.values()
                         if isinstance(child, (dict, list)))
        elif isinstance(current, list):
            stack.extend((child, depth + 1) for child in current
                         if isinstance(child, (dict, list)))
    return False
