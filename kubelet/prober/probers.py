"""Run one probe or lifecycle handler: httpGet, tcpSocket or exec.

- httpGet: GET `<scheme>://<host or pod IP>:<port><path>` with `httpHeaders`; a
  status in [200, 400) is success. Redirects are not followed; HTTPS does not
  verify the certificate (as upstream).
- tcpSocket: success when a TCP connection opens within the timeout.
- exec: `ExecSync` in the container; exit code 0 is success.
- A named port is looked up in the container's `ports`.

Every check is bounded by `timeoutSeconds` (default 1 s).

Kubernetes counterpart: pkg/kubelet/prober/prober.go, pkg/probe/http/http.go,
pkg/probe/tcp/tcp.go, pkg/probe/exec/exec.go
"""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import Protocol

import httpx

from kubelet.runtime import ExecResult
from tinykube.api.core import Container, HTTPGetAction, Probe, TCPSocketAction


class ProbeResult(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    UNKNOWN = "unknown"


class ExecRuntime(Protocol):
    async def exec_sync(self, container_id: str, command: list[str], timeout_seconds: float) -> ExecResult: ...


class ProbeRunner(Protocol):
    async def __call__(self, probe: Probe, *, container: Container, container_id: str,
                       pod_ip: str) -> tuple[ProbeResult, str]: ...


def resolve_port(port: int | str, container: Container) -> int:
    if isinstance(port, int) or str(port).isdigit():
        return int(port)
    for spec_port in container.ports or []:
        if spec_port.name == port:
            return spec_port.container_port
    raise ValueError(f"couldn't find port {port!r} in container {container.name}")


async def http_get(action: HTTPGetAction, *, container: Container, pod_ip: str,
                   timeout_seconds: float) -> tuple[ProbeResult, str]:
    scheme = (action.scheme or "HTTP").lower()
    host = action.host or pod_ip
    path = action.path or "/"
    if not path.startswith("/"):
        path = "/" + path
    url = f"{scheme}://{host}:{resolve_port(action.port, container)}{path}"
    headers = {h.name: h.value for h in action.http_headers or []}
    headers.setdefault("User-Agent", "kube-probe/1.32")
    try:
        async with httpx.AsyncClient(verify=False, timeout=timeout_seconds, follow_redirects=False,
                                     trust_env=False) as client:
            response = await client.get(url, headers=headers)
    except (httpx.HTTPError, OSError) as err:
        return ProbeResult.FAILURE, f'Get "{url}": {err or type(err).__name__}'
    if 200 <= response.status_code < 400:
        return ProbeResult.SUCCESS, ""
    return ProbeResult.FAILURE, f"HTTP probe failed with statuscode: {response.status_code}"


async def tcp_socket(action: TCPSocketAction, *, container: Container, pod_ip: str,
                     timeout_seconds: float) -> tuple[ProbeResult, str]:
    host, port = action.host or pod_ip, resolve_port(action.port, container)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_seconds)
    except (OSError, TimeoutError) as err:
        return ProbeResult.FAILURE, f"dial tcp {host}:{port}: {err or 'i/o timeout'}"
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return ProbeResult.SUCCESS, ""


async def exec_command(runtime: ExecRuntime, command: list[str], *, container_id: str,
                       timeout_seconds: float) -> tuple[ProbeResult, str]:
    try:
        result = await runtime.exec_sync(container_id, list(command), timeout_seconds)
    except TimeoutError:
        return ProbeResult.FAILURE, f"command timed out after {timeout_seconds:g}s"
    except Exception as err:  # noqa: BLE001 - the runtime: container gone, exec failed to start...
        return ProbeResult.UNKNOWN, str(err)
    if result.exit_code == 0:
        return ProbeResult.SUCCESS, ""
    output = (result.stdout + result.stderr).decode(errors="replace").strip()
    return ProbeResult.FAILURE, output or f"command exited with code {result.exit_code}"


class RuntimeProbeRunner:
    """Runs probes for real: HTTP and TCP to the pod IP, exec through the runtime."""

    def __init__(self, runtime: ExecRuntime) -> None:
        self.runtime = runtime

    async def __call__(self, probe: Probe, *, container: Container, container_id: str,
                       pod_ip: str) -> tuple[ProbeResult, str]:
        timeout = float(probe.timeout_seconds or 1)
        try:
            if probe.exec_ is not None:
                return await exec_command(self.runtime, probe.exec_.command or [], container_id=container_id,
                                          timeout_seconds=timeout)
            if probe.http_get is not None:
                return await http_get(probe.http_get, container=container, pod_ip=pod_ip, timeout_seconds=timeout)
            if probe.tcp_socket is not None:
                return await tcp_socket(probe.tcp_socket, container=container, pod_ip=pod_ip,
                                        timeout_seconds=timeout)
        except ValueError as err:
            return ProbeResult.FAILURE, str(err)
        return ProbeResult.UNKNOWN, "missing probe handler"


async def always_succeed(probe: Probe, *, container: Container, container_id: str,
                         pod_ip: str) -> tuple[ProbeResult, str]:
    """The hollow node's prober: nothing runs, so every probe passes."""
    return ProbeResult.SUCCESS, ""
