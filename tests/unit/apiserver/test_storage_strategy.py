"""PersistentVolume and claim create validation: field paths and upstream's messages."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver.strategies.storage import validate_claim_spec, validate_volume_spec

Obj = dict[str, Any]
CLAIM: Obj = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
VOLUME: Obj = {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}, "hostPath": {"path": "/data"}}


def messages(errors: list[Any]) -> list[str]:
    return [f"{e.field}: {e.message}" for e in errors]


@pytest.mark.parametrize(("change", "expected"), [
    ({}, []),
    ({"accessModes": []}, ["spec.accessModes: Required value: at least 1 access mode is required"]),
    ({"accessModes": ["ReadWriteSometimes"]}, ['spec.accessModes[0]: Unsupported value: "ReadWriteSometimes": '
                                               'supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", '
                                               '"ReadWriteOncePod"']),
    ({"resources": {}}, ["spec.resources[storage]: Required value"]),
    ({"resources": {"requests": {"storage": "0"}}}, ['spec.resources[storage]: Invalid value: "0": '
                                                     'must be greater than zero']),
])
def test_claim_spec(change: Obj, expected: list[str]) -> None:
    assert messages(validate_claim_spec({**CLAIM, **change})) == expected


@pytest.mark.parametrize(("change", "expected"), [
    ({}, []),
    ({"capacity": {}}, ["spec.capacity: Required value"]),
    ({"persistentVolumeReclaimPolicy": "Keep"}, ['spec.persistentVolumeReclaimPolicy: Unsupported value: "Keep": '
                                                 'supported values: "Delete", "Recycle", "Retain"']),
    ({"hostPath": None}, ["spec: Required value: must specify a volume type"]),
    ({"hostPath": None, "nfs": {"server": "x", "path": "/"}},
     ['spec.nfs: Unsupported value: "nfs": supported values: "hostPath", "local"']),
    ({"local": {"path": "/mnt"}}, ["spec.local: Forbidden: may not specify more than 1 volume type"]),
    ({"hostPath": None, "local": {"path": "/mnt"}},
     ["spec.nodeAffinity: Required value: Local volume requires node affinity"]),
])
def test_volume_spec(change: Obj, expected: list[str]) -> None:
    assert messages(validate_volume_spec({**VOLUME, **change})) == expected
