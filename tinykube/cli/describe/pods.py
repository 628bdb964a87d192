"""Describe a Pod, and the pod-template section shared by the workload describers.

Containers are shown with their image, ports, state (Waiting/Running/Terminated
with reason and times), readiness, restarts, resources, environment and mounts;
then the pod's conditions, volumes and QoS class.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/describe/describe.go (PodDescriber,
describeContainers, DescribePodTemplate)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tinykube.api.resources import ResourceInfo
from tinykube.cli.describe.format import (
    SKIPPED_ANNOTATIONS,
    PrefixWriter,
    controller_of,
    format_time,
    write_map,
)
from tinykube.client import RESTClient

Obj = dict[str, Any]


async def describe_pod(client: RESTClient, info: ResourceInfo, pod: Obj) -> PrefixWriter:
    w = PrefixWriter()
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}")
    if spec.get("priority") is not None:
        w.write(0, f"Priority:\t{spec['priority']}")
    w.write_optional(0, "Service Account", spec.get("serviceAccountName"))
    node = spec.get("nodeName")
    w.write(0, f"Node:\t{node + '/' + status.get('hostIP', '') if node else '<none>'}")
    if status.get("startTime"):
        w.write(0, f"Start Time:\t{format_time(status['startTime'])}")
    write_map(w, 0, "Labels", meta.get("labels"))
    write_object_annotations(w, meta)
    if meta.get("deletionTimestamp"):
        w.write(0, f"Status:\tTerminating (lasts since {format_time(meta['deletionTimestamp'])})")
        w.write(0, f"Termination Grace Period:\t{meta.get('deletionGracePeriodSeconds', 0)}s")
    else:
        w.write(0, f"Status:\t{status.get('phase', '')}")
    for key, title in (("reason", "Reason"), ("message", "Message")):
        if status.get(key):
            w.write(0, f"{title}:\t{status[key]}")
    w.write(0, f"IP:\t{status.get('podIP', '')}")
    ips = [entry.get("ip", "") for entry in status.get("podIPs") or []]
    if ips:
        w.write(0, "IPs:")
        for ip in ips:
            w.write(1, f"IP:\t{ip}")
    else:
        w.write(0, "IPs:\t<none>")
    owner = controller_of(pod)
    if owner:
        w.write(0, f"Controlled By:\t{owner}")
    statuses = {s.get("name"): s for s in status.get("containerStatuses") or []}
    if spec.get("initContainers"):
        init_statuses = {s.get("name"): s for s in status.get("initContainerStatuses") or []}
        write_containers(w, "Init Containers", spec["initContainers"], init_statuses)
    write_containers(w, "Containers", spec.get("containers") or [], statuses)
    conditions = status.get("conditions") or []
    if conditions:
        w.write(0, "Conditions:")
        w.write(1, "Type\tStatus")
        for cond in conditions:
            w.write(1, f"{cond.get('type', '')} \t{cond.get('status', '')} ")
    write_volumes(w, spec.get("volumes") or [])
    if status.get("qosClass"):
        w.write(0, f"QoS Class:\t{status['qosClass']}")
    write_map(w, 0, "Node-Selectors", spec.get("nodeSelector"))
    tolerations = [toleration_text(t) for t in spec.get("tolerations") or []]
    w.write(0, f"Tolerations:\t{tolerations[0] if tolerations else '<none>'}")
    for text in tolerations[1:]:
        w.write(0, f"\t{text}")
    return w


def write_object_annotations(w: PrefixWriter, meta: Mapping[str, Any]) -> None:
    write_map(w, 0, "Annotations", meta.get("annotations"), SKIPPED_ANNOTATIONS, ": ")


def write_pod_template(w: PrefixWriter, template: Mapping[str, Any], level: int = 0) -> None:
    """`Pod Template:` as Deployments, ReplicaSets and `rollout history --revision` show it."""
    meta, spec = template.get("metadata") or {}, template.get("spec") or {}
    w.write(level, "Pod Template:")
    write_map(w, level + 1, "Labels", meta.get("labels"))
    if meta.get("annotations"):
        write_map(w, level + 1, "Annotations", meta.get("annotations"), separator=": ")
    w.write_optional(level + 1, "Service Account", spec.get("serviceAccountName"))
    if spec.get("initContainers"):
        write_containers(w, "Init Containers", spec["initContainers"], {}, level + 1, " ")
    write_containers(w, "Containers", spec.get("containers") or [], {}, level + 1, " ")
    write_volumes(w, spec.get("volumes") or [], level + 1)
    write_map(w, level + 1, "Node-Selectors", spec.get("nodeSelector"))
    tolerations = [toleration_text(t) for t in spec.get("tolerations") or []]
    w.write(level + 1, f"Tolerations:\t{', '.join(tolerations) or '<none>'}")


def write_containers(w: PrefixWriter, title: str, containers: list[Obj],
                     statuses: Mapping[str, Obj], level: int = 0, name_prefix: str = "") -> None:
    """Containers of a pod (level 0), or of a template (level 1, names indented by one
    more space and fields not indented further: kubectl's layout)."""
    w.write(level, f"{title}:")
    base = 0 if name_prefix else level
    for container in containers:
        name = container.get("name", "")
        cstatus = statuses.get(name)
        w.write(base + 1, f"{name_prefix}{name}:")
        inner = base + 2
        if cstatus is not None:
            w.write(inner, f"Container ID:\t{cstatus.get('containerID', '')}")
        w.write(inner, f"Image:\t{container.get('image', '')}")
        if cstatus is not None:
            w.write(inner, f"Image ID:\t{cstatus.get('imageID', '')}")
        ports = container.get("ports") or []
        if not ports:
            w.write(inner, "Port:\t<none>")
            w.write(inner, "Host Port:\t<none>")
        for port in ports:
            protocol = port.get("protocol", "TCP")
            w.write(inner, f"Port:\t{port.get('containerPort', 0)}/{protocol}")
            w.write(inner, f"Host Port:\t{port.get('hostPort', 0)}/{protocol}")
        for key, label in (("command", "Command"), ("args", "Args")):
            if container.get(key):
                w.write(inner, f"{label}:")
                for word in container[key]:
                    w.write(inner + 1, str(word))
        if cstatus is not None:
            write_container_state(w, inner, "State", cstatus.get("state") or {})
            if cstatus.get("lastState"):
                write_container_state(w, inner, "Last State", cstatus["lastState"])
            w.write(inner, f"Ready:\t{'True' if cstatus.get('ready') else 'False'}")
            w.write(inner, f"Restart Count:\t{cstatus.get('restartCount', 0)}")
        resources = container.get("resources") or {}
        for key, label in (("limits", "Limits"), ("requests", "Requests")):
            if resources.get(key):
                w.write(inner, f"{label}:")
                for resource, quantity in sorted(resources[key].items()):
                    w.write(inner + 1, f"{resource}:\t{quantity}")
        for key, label in (("livenessProbe", "Liveness"), ("readinessProbe", "Readiness"),
                           ("startupProbe", "Startup")):
            if container.get(key):
                w.write(inner, f"{label}:\t{probe_text(container[key])}")
        env = container.get("env") or []
        if not env:
            w.write(inner, "Environment:\t<none>")
        else:
            w.write(inner, "Environment:")
            for var in env:
                value = var.get("value")
                if value is None and var.get("valueFrom"):
                    value = f"<set from {', '.join(sorted(var['valueFrom']))}>"
                w.write(inner + 1, f"{var.get('name', '')}:\t{value or ''}")
        mounts = container.get("volumeMounts") or []
        if not mounts:
            w.write(inner, "Mounts:\t<none>")
        else:
            w.write(inner, "Mounts:")
            for mount in sorted(mounts, key=lambda m: str(m.get("mountPath"))):
                mode = "ro" if mount.get("readOnly") else "rw"
                w.write(inner + 1, f"{mount.get('mountPath')} from {mount.get('name')} ({mode})")


def write_container_state(w: PrefixWriter, level: int, title: str, state: Mapping[str, Any]) -> None:
    if "running" in state:
        w.write(level, f"{title}:\tRunning")
        w.write(level + 1, f"Started:\t{format_time((state['running'] or {}).get('startedAt'))}")
    elif "waiting" in state:
        w.write(level, f"{title}:\tWaiting")
        if (state["waiting"] or {}).get("reason"):
            w.write(level + 1, f"Reason:\t{state['waiting']['reason']}")
    elif "terminated" in state:
        done = state["terminated"] or {}
        w.write(level, f"{title}:\tTerminated")
        if done.get("reason"):
            w.write(level + 1, f"Reason:\t{done['reason']}")
        w.write(level + 1, f"Exit Code:\t{done.get('exitCode', 0)}")
        w.write(level + 1, f"Started:\t{format_time(done.get('startedAt'))}")
        w.write(level + 1, f"Finished:\t{format_time(done.get('finishedAt'))}")
    else:
        w.write(level, f"{title}:\tWaiting")


def write_volumes(w: PrefixWriter, volumes: list[Obj], level: int = 0) -> None:
    if not volumes:
        w.write(level, "Volumes:\t<none>")
        return
    w.write(level, "Volumes:")
    for volume in volumes:
        w.write(level + 1, f"{volume.get('name', '')}:")
        source = next(((k, v) for k, v in volume.items() if k != "name"), None)
        if source is None:
            continue
        kind, details = source
        w.write(level + 2, f"Type:\t{kind[0].upper() + kind[1:]}")
        for key, value in sorted((details or {}).items()):
            if not isinstance(value, (dict, list)):
                w.write(level + 2, f"{key[0].upper() + key[1:]}:\t{value}")


def probe_text(probe: Mapping[str, Any]) -> str:
    if probe.get("httpGet"):
        get = probe["httpGet"]
        what = f"http-get http://{get.get('host', '')}:{get.get('port')}{get.get('path', '')}"
    elif probe.get("tcpSocket"):
        what = f"tcp-socket :{probe['tcpSocket'].get('port')}"
    elif probe.get("exec"):
        what = f"exec {probe['exec'].get('command')}"
    else:
        what = "unknown"
    return (f"{what} delay={probe.get('initialDelaySeconds', 0)}s "
            f"timeout={probe.get('timeoutSeconds', 1)}s period={probe.get('periodSeconds', 10)}s "
            f"#success={probe.get('successThreshold', 1)} #failure={probe.get('failureThreshold', 3)}")


def toleration_text(toleration: Mapping[str, Any]) -> str:
    text = str(toleration.get("key", ""))
    if toleration.get("value"):
        text += f"={toleration['value']}"
    if toleration.get("effect"):
        text += f":{toleration['effect']}"
    elif toleration.get("operator") == "Exists" and not text:
        text = "op=Exists"
    if toleration.get("tolerationSeconds") is not None:
        text += f" for {toleration['tolerationSeconds']}s"
    return text

