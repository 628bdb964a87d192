"""Container lifecycle hooks: postStart after a start, preStop before a stop.

A handler is `exec` (ExecSync in the container) or `httpGet` (to the pod IP),
as for probes. `run_handler` returns "" on success or the failure message:
a failed postStart kills the container (FailedPostStartHook); a failed preStop
is logged and the stop goes on (FailedPreStopHook), as upstream.

Kubernetes counterpart: pkg/kubelet/lifecycle/handlers.go
"""

from __future__ import annotations

import asyncio

from kubelet.prober.probers import ExecRuntime, ProbeResult, exec_command, http_get
from tinykube.api.core import Container, LifecycleHandler


async def run_handler(runtime: ExecRuntime, handler: LifecycleHandler, *, container: Container, container_id: str,
                      pod_ip: str, timeout_seconds: float) -> str:
    try:
        if handler.exec_ is not None:
            result, message = await exec_command(runtime, handler.exec_.command or [], container_id=container_id,
                                                 timeout_seconds=timeout_seconds)
        elif handler.http_get is not None:
            result, message = await http_get(handler.http_get, container=container, pod_ip=pod_ip,
                                             timeout_seconds=timeout_seconds)
        elif handler.sleep is not None:
            await asyncio.sleep(min(float(handler.sleep.seconds), timeout_seconds))
            return ""
        else:
            return "a lifecycle handler needs exec, httpGet or sleep"
    except ValueError as err:
        return str(err)
    return "" if result is ProbeResult.SUCCESS else message or "hook failed"
