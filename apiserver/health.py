"""`/livez`, `/readyz` and `/healthz`: named checks, answered like kube-apiserver.

Each endpoint runs its checks (concurrently, each bounded in time, so an etcd
that does not answer fails the check instead of hanging the probe):

- `/livez`, `/healthz`: `ping` (the process answers) and `etcd` (a read of etcd
  within `--etcd-healthcheck-timeout`);
- `/readyz`: those, plus `etcd-readiness` (within `--etcd-readycheck-timeout`,
  etcd answers and has no active alarm: with NOSPACE every write fails) and
  `shutdown` (the server has started and is not stopping).

The body is `ok`, or with `?verbose` one line per check (`[+]etcd ok`) and
`readyz check passed`. A failure is HTTP 500 with every line (`[-]etcd failed:
reason withheld`, as these endpoints are public) and `readyz check failed`; the
reason is logged and served by the check's own path (`/readyz/etcd-readiness`).
`?exclude=<name>` skips a check.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/server/healthz/healthz.go,
staging/src/k8s.io/apiserver/pkg/storage/storagebackend/factory/etcd3.go (the etcd checks)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from apiserver.server import APIServer

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[None]]
HEADERS = {"X-Content-Type-Options": "nosniff"}
TEXT = "text/plain; charset=utf-8"


class CheckFailed(Exception):
    pass


def endpoint_checks(server: APIServer) -> dict[str, dict[str, Check]]:
    """The checks of each health endpoint, in the order they are reported."""
    config = server.config

    async def ping() -> None:
        pass

    async def etcd() -> None:
        await _bounded(server.storage.ping(), config.etcd_healthcheck_timeout_seconds)

    async def etcd_readiness() -> None:
        async def answers_without_alarm() -> None:
            await server.storage.ping()
            alarms = await server.storage.alarms()
            if "NOSPACE" in alarms:
                raise CheckFailed("etcd alarm NOSPACE: etcd's database space is exceeded, "
                                  "it refuses every write until space is freed and the alarm "
                                  "disarmed")
            if alarms:
                raise CheckFailed(f"etcd alarms active: {', '.join(alarms)}")
        await _bounded(answers_without_alarm(), config.etcd_readycheck_timeout_seconds)

    async def shutdown() -> None:
        if not server.ready:
            raise CheckFailed("the API server has not started or is shutting down")

    live = {"ping": ping, "etcd": etcd}
    return {"livez": live, "healthz": live,
            "readyz": {**live, "etcd-readiness": etcd_readiness, "shutdown": shutdown}}


async def _bounded(call: Awaitable[None], timeout_seconds: float) -> None:
    try:
        await asyncio.wait_for(call, timeout_seconds)
    except TimeoutError:
        raise CheckFailed(f"etcd did not answer within {timeout_seconds:g}s") from None


async def _outcome(check: Check) -> Exception | None:
    try:
        await check()
        return None
    except Exception as err:
        return err


async def root_health(name: str, checks: dict[str, Check], request: Request) -> Response:
    query = request.query_params
    excluded = set(query.getlist("exclude"))
    running = {n: c for n, c in checks.items() if n not in excluded}
    outcomes = dict(zip(running, await asyncio.gather(*(_outcome(c) for c in running.values()))))
    lines: list[str] = []
    failed: list[str] = []
    for check_name in checks:
        if check_name in excluded:
            excluded.discard(check_name)
            lines.append(f"[+]{check_name} excluded: ok\n")
        elif outcomes[check_name] is not None:
            lines.append(f"[-]{check_name} failed: reason withheld\n")
            failed.append(check_name)
            log.info("%s check failed check=%s err=%s", name, check_name, outcomes[check_name])
        else:
            lines.append(f"[+]{check_name} ok\n")
    if excluded:
        quoted = ",".join(f'"{n}"' for n in sorted(excluded))
        lines.append(f"warn: some health checks cannot be excluded: no matches for {quoted}\n")
    if failed:
        return PlainTextResponse(f"{''.join(lines)}{name} check failed\n", 500,
                                 headers=HEADERS, media_type=TEXT)
    if "verbose" not in query:
        return PlainTextResponse("ok", headers=HEADERS, media_type=TEXT)
    return PlainTextResponse(f"{''.join(lines)}{name} check passed\n", headers=HEADERS,
                             media_type=TEXT)


async def one_check(check: Check) -> Response:
    error = await _outcome(check)
    if error is not None:
        return PlainTextResponse(f"internal server error: {error}\n", 500, headers=HEADERS,
                                 media_type=TEXT)
    return PlainTextResponse("ok", headers=HEADERS, media_type=TEXT)


def install_routes(app: FastAPI, server: APIServer) -> None:
    for name, checks in endpoint_checks(server).items():
        _install(app, name, checks)


def _install(app: FastAPI, name: str, checks: dict[str, Check]) -> None:
    @app.get(f"/{name}")
    async def root(request: Request) -> Response:
        return await root_health(name, checks, request)

    @app.get(f"/{name}/{{check}}")
    async def single(check: str) -> Response:
        if check not in checks:
            return PlainTextResponse("404 page not found\n", 404, headers=HEADERS, media_type=TEXT)
        return await one_check(checks[check])
