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

from collections.abc import Iterator
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


def _entries(value: Any, field: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(`field[i]`, entry) for each object of a list (anything else: nothing to check)."""
    for i, entry in enumerate(value if isinstance(value, list) else []):
        if isinstance(entry, dict):
            yield f"{field}[{i}]", entry


def _items(items: Any, field: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, item in enumerate(items if isinstance(items, list) else []):
        path = item.get("path") if isinstance(item, dict) else None
        if not path:
            errs.append(required(f"{field}[{i}].path"))
        else:
            errs.extend(validate_local_non_reserved_path(str(path), f"{field}[{i}].path"))
    return errs


def _source_paths(source: dict[str, Any], at: str) -> list[FieldError]:
    """The file paths of one volume or projection: configMap, secret and downwardAPI
    items, a serviceAccountToken's path."""
    errs: list[FieldError] = []
    for kind in ("configMap", "secret", "downwardAPI"):
        if isinstance(source.get(kind), dict):
            errs.extend(_items(source[kind].get("items"), f"{at}.{kind}.items"))
    token = source.get("serviceAccountToken")
    if isinstance(token, dict) and token.get("path"):
        errs.extend(validate_local_non_reserved_path(str(token["path"]), f"{at}.serviceAccountToken.path"))
    return errs


def validate_volume_paths(volumes: Any, field: str) -> list[FieldError]:
    """`spec.volumes`: item paths (projected sources too) and hostPath paths."""
    errs: list[FieldError] = []
    for at, volume in _entries(volumes, field):
        errs.extend(_source_paths(volume, at))
        projected = volume.get("projected")
        sources = projected.get("sources") if isinstance(projected, dict) else None
        for source_at, source in _entries(sources, f"{at}.projected.sources"):
            errs.extend(_source_paths(source, source_at))
        host_path = volume.get("hostPath")
        if isinstance(host_path, dict) and host_path.get("path"):
            errs.extend(validate_path_no_backsteps(str(host_path["path"]), f"{at}.hostPath.path"))
    return errs


def validate_mount_paths(mounts: Any, field: str) -> list[FieldError]:
    """A container's `volumeMounts`: subPath and subPathExpr."""
    errs: list[FieldError] = []
    for at, mount in _entries(mounts, field):
        sub_path, expr = mount.get("subPath"), mount.get("subPathExpr")
        if sub_path and expr:
            errs.append(forbidden(f"{at}.subPathExpr", "subPathExpr and subPath are mutually exclusive"))
        if sub_path:
            errs.extend(validate_local_descending_path(str(sub_path), f"{at}.subPath"))
        if expr:
            errs.extend(validate_local_descending_path(str(expr), f"{at}.subPathExpr"))
    return errs
