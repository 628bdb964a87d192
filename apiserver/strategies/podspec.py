"""Defaults and validation of a pod spec, shared by Pods and every pod template.

Kubernetes counterpart: pkg/apis/core/v1/defaults.go, pkg/apis/core/validation/validation.go
(ValidatePodSpec)
"""

from __future__ import annotations

from typing import Any

from apiserver.strategies.volume_paths import validate_mount_paths, validate_volume_paths
from tinykube.api.validation import (
    FieldError,
    duplicate,
    invalid,
    is_dns1123_label,
    not_supported,
    required,
)

RESTART_POLICIES = ["Always", "OnFailure", "Never"]
PROTOCOLS = ["TCP", "UDP", "SCTP"]
PULL_POLICIES = ["Always", "IfNotPresent", "Never"]


def default_pod_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    for group in ("initContainers", "containers"):
        for container in spec.get(group) or []:
            if isinstance(container, dict):
                _default_container(container)


def _default_container(container: dict[str, Any]) -> None:
    image = str(container.get("image") or "")
    tag = image.rsplit("/", 1)[-1]
    latest = "@" not in tag and (":" not in tag or tag.endswith(":latest"))
    container.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
    for probe_field in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(probe_field)
        if isinstance(probe, dict):
            _default_probe(probe)


def _default_probe(probe: dict[str, Any]) -> None:
    """SetDefaults_Probe and SetDefaults_HTTPGetAction."""
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    http_get = probe.get("httpGet")
    if isinstance(http_get, dict):
        http_get.setdefault("path", "/")
        http_get.setdefault("scheme", "HTTP")


def validate_pod_spec(spec: Any, path: str) -> list[FieldError]:
    if not isinstance(spec, dict):
        return [required(path)]
    errs: list[FieldError] = []
    containers = spec.get("containers")
    if not containers:
        errs.append(required(f"{path}.containers"))
    names: set[str] = set()
    for group in ("initContainers", "containers"):
        for i, container in enumerate(spec.get(group) or []):
            errs.extend(_validate_container(container, f"{path}.{group}[{i}]", names))
    policy = spec.get("restartPolicy")
    if policy is not None and policy not in RESTART_POLICIES:
        errs.append(not_supported(f"{path}.restartPolicy", policy, RESTART_POLICIES))
    grace = spec.get("terminationGracePeriodSeconds")
    if isinstance(grace, int) and grace < 0:
        errs.append(invalid(f"{path}.terminationGracePeriodSeconds", grace,
                            "must be greater than or equal to 0"))
    volume_names: set[str] = set()
    for i, volume in enumerate(spec.get("volumes") or []):
        name = volume.get("name") if isinstance(volume, dict) else None
        if not name:
            errs.append(required(f"{path}.volumes[{i}].name"))
        elif name in volume_names:
            errs.append(duplicate(f"{path}.volumes[{i}].name", name))
        else:
            volume_names.add(name)
    errs.extend(validate_volume_paths(spec.get("volumes"), f"{path}.volumes"))
    return errs


def _validate_container(container: Any, path: str, names: set[str]) -> list[FieldError]:
    if not isinstance(container, dict):
        return [invalid(path, container, "must be an object")]
    errs: list[FieldError] = []
    name = container.get("name")
    if not name:
        errs.append(required(f"{path}.name"))
    else:
        errs.extend(invalid(f"{path}.name", name, m) for m in is_dns1123_label(str(name)))
        if name in names:
            errs.append(duplicate(f"{path}.name", name))
        names.add(name)
    if not container.get("image"):
        errs.append(required(f"{path}.image"))
    policy = container.get("imagePullPolicy")
    if policy is not None and policy not in PULL_POLICIES:
        errs.append(not_supported(f"{path}.imagePullPolicy", policy, PULL_POLICIES))
    for j, port in enumerate(container.get("ports") or []):
        port_path = f"{path}.ports[{j}]"
        number = port.get("containerPort") if isinstance(port, dict) else None
        if number is None:
            errs.append(required(f"{port_path}.containerPort"))
        elif not 1 <= int(number) <= 65535:
            errs.append(invalid(f"{port_path}.containerPort", number,
                                "must be between 1 and 65535, inclusive"))
        protocol = port.get("protocol") if isinstance(port, dict) else None
        if protocol is not None and protocol not in PROTOCOLS:
            errs.append(not_supported(f"{port_path}.protocol", protocol, PROTOCOLS))
    for j, env in enumerate(container.get("env") or []):
        if not isinstance(env, dict) or not env.get("name"):
            errs.append(required(f"{path}.env[{j}].name"))
    errs.extend(validate_mount_paths(container.get("volumeMounts"), f"{path}.volumeMounts"))
    return errs
