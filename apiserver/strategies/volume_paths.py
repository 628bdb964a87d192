"""The paths a pod names inside its volumes: they must stay inside.

A `subPath` (or `subPathExpr`) of a volumeMount is joined below the volume on the
node, and an `items[].path` of a configMap, secret, downwardAPI or projected
volume is a file written below it: an absolute path or a `..` element would reach
the node's own files (`subPath: ../../../../etc` on an emptyDir would mount the
node's /etc). The rules and messages are kube-apiserver's:

- subPath, subPathExpr: `must be a relative path`, `must not contain '..'`; the two
  are mutually exclusive;
- items[].path (and a projected serviceAccountToken's path): the same, and
  `must not start with '..'` (the kubelet's `..data` links live there);
- hostPath.path: `must not contain '..'` (absolute, of course).

The kubelet checks subPath again before it mounts (a pod stored before this
validation): kubelet/kuberuntime/container_config.py.

Kubernetes counterpart: pkg/apis/core/validation/validation.go (validateLocalDescendingPath,
validatePathNoBacksteps, validateLocalNonReservedPath, validateVolumeMounts, validateKeyToPath)
"""

from __future__ import annotations

from typing import Any

from tinykube.api.validation import FieldError, forbidden, invalid, required


def validate_path_no_backsteps(target: str, field: str) -> list[FieldError]:
    if ".." in target.split("/"):
        return [invalid(field, target, "must not contain '..'")]  # one error for ../../..
    return []


def validate_local_descending_path(target: str, field: str) -> list[FieldError]:
    errs = [invalid(field, target, "must be a relative path")] if target.startswith("/") else []
    return errs + validate_path_no_backsteps(target, field)


def validate_local_non_reserved_path(target: str, field: str) -> list[FieldError]:
    errs = validate_local_descending_path(target, field)
    if target.startswith(".."):
        errs.append(invalid(field, target, "must not start with '..'"))
    return errs


def _items(items: Any, field: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, item in enumerate(items if isinstance(items, list) else []):
        path = item.get("path") if isinstance(item, dict) else None
        if not path:
            errs.append(required(f"{field}[{i}].path"))
        else:
            errs.extend(validate_local_non_reserved_path(str(path), f"{field}[{i}].path"))
    return errs


def _projected_sources(sources: Any, field: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, source in enumerate(sources if isinstance(sources, list) else []):
        source = source if isinstance(source, dict) else {}
        at = f"{field}[{i}]"
        for kind in ("configMap", "secret", "downwardAPI"):
            if isinstance(source.get(kind), dict):
                errs.extend(_items(source[kind].get("items"), f"{at}.{kind}.items"))
        token = source.get("serviceAccountToken")
        if isinstance(token, dict) and token.get("path"):
            errs.extend(validate_local_non_reserved_path(str(token["path"]),
                                                         f"{at}.serviceAccountToken.path"))
    return errs


def validate_volume_paths(volumes: Any, field: str) -> list[FieldError]:
    """`spec.volumes`: item paths and hostPath paths."""
    errs: list[FieldError] = []
    for i, volume in enumerate(volumes if isinstance(volumes, list) else []):
        volume = volume if isinstance(volume, dict) else {}
        at = f"{field}[{i}]"
        for kind in ("configMap", "secret", "downwardAPI"):
            if isinstance(volume.get(kind), dict):
                errs.extend(_items(volume[kind].get("items"), f"{at}.{kind}.items"))
        if isinstance(volume.get("projected"), dict):
            errs.extend(_projected_sources(volume["projected"].get("sources"), f"{at}.projected.sources"))
        host_path = volume.get("hostPath")
        if isinstance(host_path, dict) and host_path.get("path"):
            errs.extend(validate_path_no_backsteps(str(host_path["path"]), f"{at}.hostPath.path"))
    return errs


def validate_mount_paths(mounts: Any, field: str) -> list[FieldError]:
    """A container's `volumeMounts`: subPath and subPathExpr."""
    errs: list[FieldError] = []
    for i, mount in enumerate(mounts if isinstance(mounts, list) else []):
        mount = mount if isinstance(mount, dict) else {}
        at = f"{field}[{i}]"
        sub_path, expr = mount.get("subPath"), mount.get("subPathExpr")
        if sub_path and expr:
            errs.append(forbidden(f"{at}.subPathExpr", "subPathExpr and subPath are mutually exclusive"))
        if sub_path:
            errs.extend(validate_local_descending_path(str(sub_path), f"{at}.subPath"))
        if expr:
            errs.extend(validate_local_descending_path(str(expr), f"{at}.subPathExpr"))
    return errs
