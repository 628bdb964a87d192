"""`tinykube wait (TYPE NAME | TYPE/NAME | TYPE -l sel | TYPE --all) --for=... [--timeout=30s]`.

`--for` is `delete`, `condition=Ready[=true|false]` or `jsonpath={.status.phase}=Running`.
Each object is watched the way kubectl's informer commands watch one: a list with
`fieldSelector=metadata.name=<name>`, then a watch from the list's
resourceVersion; a 410 Gone relists. `watch_until` is shared with `rollout status`.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/wait/wait.go (condition.go, delete.go,
json.go)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tinykube.api.resources import ResourceInfo
from tinykube.cli.context import CLIContext, CLIError, object_ref, select_objects
from tinykube.client import Gone, NotFound, RESTClient
from tinykube.component import duration

Obj = dict[str, Any]
Check = Callable[[Obj | None], bool]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("wait", help="wait for a condition on one or many resources")
    parser.add_argument("targets", nargs="+", metavar="TYPE NAME | TYPE/NAME")
    parser.add_argument("--for", dest="for_", required=True,
                        help="delete | condition=NAME[=VALUE] | jsonpath={.path}=VALUE")
    parser.add_argument("--timeout", type=duration, default=30.0,
                        help="how long to wait (e.g. 30s, 2m); 0 checks once, negative waits a week")
    parser.add_argument("-l", "--selector", help="label selector to filter on")
    parser.add_argument("--all", action="store_true", help="every object of the type")
    parser.add_argument("-A", "--all-namespaces", action="store_true")
    parser.set_defaults(func=run, intermixed_positionals="targets")


@dataclass(frozen=True)
class Condition:
    """What `--for` asks for, as a check on the object (None: it does not exist)."""

    text: str
    check: Check
    deleted: bool = False


def parse_for(text: str) -> Condition:
    if text == "delete":
        return Condition(text, lambda obj: obj is None, deleted=True)
    if text.startswith("condition="):
        name, _, value = text[len("condition="):].partition("=")
        if not name:
            raise CLIError("--for=condition needs a condition name")
        wanted = value or "true"
        return Condition(text, lambda obj: _has_condition(obj, name, wanted))
    if text.startswith("jsonpath="):
        match = re.fullmatch(r"jsonpath=['\"]?(\{[^}]*\})['\"]?(?:=(.*))?", text)
        if not match:
            raise CLIError(f"unrecognized jsonpath expression: {text[len('jsonpath='):]}")
        path, value = match.group(1), match.group(2)
        return Condition(text, lambda obj: _jsonpath_matches(obj, path, value))
    raise CLIError(f"unrecognized condition: {text!r}")


def _has_condition(obj: Obj | None, name: str, wanted: str) -> bool:
    if obj is None:
        return False
    generation = (obj.get("metadata") or {}).get("generation")
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if str(cond.get("type", "")).lower() != name.lower():
            continue
        observed = cond.get("observedGeneration")
        if observed is not None and generation is not None and observed < generation:
            return False
        return str(cond.get("status", "")).lower() == wanted.lower()
    return False


def jsonpath_get(obj: Any, path: str) -> Any:
    """A value at a simple JSONPath like `{.status.containerStatuses[0].ready}`; None if absent."""
    for part in re.findall(r"\.([^.\[\]]+)|\[(\d+)\]", path.strip("{}")):
        key, index = part
        if key:
            obj = obj.get(key) if isinstance(obj, dict) else None
        else:
            obj = obj[int(index)] if isinstance(obj, list) and int(index) < len(obj) else None
        if obj is None:
            return None
    return obj


def _jsonpath_matches(obj: Obj | None, path: str, value: str | None) -> bool:
    if obj is None:
        return False
    found = jsonpath_get(obj, path)
    if value is None:
        return found is not None
    text = ("true" if found else "false") if isinstance(found, bool) else str(found)
    return found is not None and text == value


async def watch_until(client: RESTClient, info: ResourceInfo, namespace: str | None, name: str,
                      check: Check, on_change: Callable[[Obj | None], None] | None = None,
                      uid: str | None = None) -> Obj | None:
    """List+watch one object by name until `check(obj)` holds; returns that object
    (None once it is gone). An object with another `uid` counts as gone."""
    selector = f"metadata.name={name}"

    def seen(obj: Obj | None) -> Obj | None:
        if obj is not None and uid and (obj.get("metadata") or {}).get("uid") != uid:
            obj = None
        if on_change:
            on_change(obj)
        return obj

    while True:
        items, resource_version = await client.list(info, namespace, field_selector=selector)
        current = seen(items[0] if items else None)
        if check(current):
            return current
        with contextlib.suppress(Gone):
            async with contextlib.aclosing(client.watch(
                    info, namespace, resource_version=resource_version, field_selector=selector,
                    timeout_seconds=300)) as events:
                async for event in events:
                    if event.type == "BOOKMARK":
                        continue
                    current = seen(None if event.type == "DELETED" else event.object)
                    if check(current):
                        return current


async def run(ctx: CLIContext) -> int:
    args = ctx.args
    condition = parse_for(args.for_)
    timeout_seconds: float = args.timeout
    if timeout_seconds < 0:
        timeout_seconds = 7 * 24 * 3600.0
    async with ctx.client() as client:
        try:
            objects = await select_objects(ctx, client, args.targets, selector=args.selector,
                                           select_all=args.all, all_namespaces=args.all_namespaces)
        except NotFound:
            if condition.deleted:
                return 0
            raise
        if not objects:
            raise CLIError("no matching resources found")
        deadline = asyncio.get_running_loop().time() + timeout_seconds
        for info, obj in objects:
            meta = obj["metadata"]
            ref = object_ref(info, meta["name"])
            remaining = max(deadline - asyncio.get_running_loop().time(), 0.0)
            if not condition.check(obj) or condition.deleted:
                try:
                    await asyncio.wait_for(watch_until(
                        client, info, meta.get("namespace"), meta["name"], condition.check,
                        uid=meta.get("uid") if condition.deleted else None), remaining or 0.001)
                except TimeoutError:
                    raise CLIError(f"timed out waiting for the condition on "
                                   f"{info.plural}/{meta['name']}") from None
            print(f"{ref} condition met", file=ctx.out)
    return 0
