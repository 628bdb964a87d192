"""Paths inside volumes: subPath, subPathExpr, items[].path, hostPath (kube-apiserver's rules)."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver.strategies.podspec import validate_pod_spec


def spec(volume: dict[str, Any], mount: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"containers": [{"name": "c", "image": "busybox",
                            "volumeMounts": [{"name": "v", "mountPath": "/data", **(mount or {})}]}],
            "volumes": [{"name": "v", **volume}]}


EMPTY = {"emptyDir": {}}


@pytest.mark.parametrize(("volume", "mount", "expected"), [
    (EMPTY, {"subPath": "../../etc"},
     ['spec.containers[0].volumeMounts[0].subPath: Invalid value: "../../etc": must not contain \'..\'']),
    (EMPTY, {"subPath": "/etc"},
     ['spec.containers[0].volumeMounts[0].subPath: Invalid value: "/etc": must be a relative path']),
    (EMPTY, {"subPath": "/a/../b"},
     ['spec.containers[0].volumeMounts[0].subPath: Invalid value: "/a/../b": must be a relative path',
      'spec.containers[0].volumeMounts[0].subPath: Invalid value: "/a/../b": must not contain \'..\'']),
    (EMPTY, {"subPathExpr": "$(POD)/../x"},
     ['spec.containers[0].volumeMounts[0].subPathExpr: Invalid value: "$(POD)/../x": '
      "must not contain '..'"]),
    (EMPTY, {"subPath": "a", "subPathExpr": "b"},
     ["spec.containers[0].volumeMounts[0].subPathExpr: Forbidden: subPathExpr and subPath are "
      "mutually exclusive"]),
    ({"configMap": {"name": "cm", "items": [{"key": "k", "path": "../k"}]}}, None,
     ['spec.volumes[0].configMap.items[0].path: Invalid value: "../k": must not contain \'..\'',
      'spec.volumes[0].configMap.items[0].path: Invalid value: "../k": must not start with \'..\'']),
    ({"secret": {"secretName": "s", "items": [{"key": "k", "path": "/k"}]}}, None,
     ['spec.volumes[0].secret.items[0].path: Invalid value: "/k": must be a relative path']),
    ({"downwardAPI": {"items": [{"path": "..data/x", "fieldRef": {"fieldPath": "metadata.name"}}]}}, None,
     ['spec.volumes[0].downwardAPI.items[0].path: Invalid value: "..data/x": must not start with \'..\'']),
    ({"projected": {"sources": [{"secret": {"name": "s", "items": [{"key": "k", "path": "a/../../b"}]}},
                                {"serviceAccountToken": {"path": "/token"}}]}}, None,
     ['spec.volumes[0].projected.sources[0].secret.items[0].path: Invalid value: "a/../../b": '
      "must not contain '..'",
      'spec.volumes[0].projected.sources[1].serviceAccountToken.path: Invalid value: "/token": '
      "must be a relative path"]),
    ({"hostPath": {"path": "/var/../etc"}}, None,
     ['spec.volumes[0].hostPath.path: Invalid value: "/var/../etc": must not contain \'..\'']),
    # Allowed: relative paths below the volume, dots inside names, an absolute hostPath.
    (EMPTY, {"subPath": "logs/app..1"}, []),
    ({"configMap": {"name": "cm", "items": [{"key": "k", "path": "dir/file.conf"}]}}, None, []),
    ({"hostPath": {"path": "/var/log"}}, None, []),
])
def test_volume_paths(volume: dict[str, Any], mount: dict[str, Any] | None, expected: list[str]) -> None:
    assert [str(e) for e in validate_pod_spec(spec(volume, mount), "spec")] == expected
