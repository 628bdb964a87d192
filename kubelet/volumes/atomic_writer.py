"""Write a set of files so that a reader never sees half of an update.

Layout of a target directory (as Kubernetes' AtomicWriter):

    <target>/..2026_01_01_12_00_00.123456789/   the files of one version
    <target>/..data -> ..2026_01_01_12_00_00.123456789
    <target>/<key> -> ..data/<key>               what the container reads

An update writes a fresh timestamped directory, points a temporary `..data_tmp`
symlink at it and renames that over `..data` (rename is atomic), then fixes the
user-visible symlinks and removes the old version. Nothing is written when the
payload equals what `..data` already holds.

Kubernetes counterpart: pkg/volume/util/atomic_writer.go
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass

DATA_DIR = "..data"
DATA_DIR_TMP = "..data_tmp"


@dataclass(frozen=True)
class FileProjection:
    data: bytes
    mode: int = 0o644


def _current(target: str) -> dict[str, FileProjection] | None:
    data = os.path.join(target, DATA_DIR)
    if not os.path.isdir(data):
        return None
    files: dict[str, FileProjection] = {}
    for root, _, names in os.walk(data, followlinks=False):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                files[os.path.relpath(path, data)] = FileProjection(handle.read(), os.stat(path).st_mode & 0o7777)
    return files


def _validate(path: str) -> None:
    parts = path.split("/")
    if not path or path.startswith("/") or ".." in parts or parts[0].startswith(".."):
        raise ValueError(f"invalid path {path!r}: must be relative, without '..'")


def write_payload(target: str, payload: dict[str, FileProjection]) -> bool:
    """Make `target` show exactly `payload`; returns whether anything changed."""
    for path in payload:
        _validate(path)
    os.makedirs(target, mode=0o755, exist_ok=True)
    old_version = os.readlink(os.path.join(target, DATA_DIR)) if os.path.islink(
        os.path.join(target, DATA_DIR)) else None
    if _current(target) == payload:
        return False
    stamp = time.strftime("%Y_%m_%d_%H_%M_%S", time.gmtime()) + f".{time.time_ns() % 10**9:09d}"
    version = tempfile.mkdtemp(prefix=f"..{stamp}", dir=target)
    os.chmod(version, 0o755)
    for path, projection in payload.items():
        full = os.path.join(version, path)
        os.makedirs(os.path.dirname(full), mode=0o755, exist_ok=True)
        with open(full, "wb") as handle:
            handle.write(projection.data)
        os.chmod(full, projection.mode)
    tmp_link = os.path.join(target, DATA_DIR_TMP)
    if os.path.lexists(tmp_link):
        os.unlink(tmp_link)
    os.symlink(os.path.basename(version), tmp_link)
    os.rename(tmp_link, os.path.join(target, DATA_DIR))
    visible = {path.split("/")[0] for path in payload}
    for name in os.listdir(target):
        full = os.path.join(target, name)
        if not name.startswith("..") and name not in visible and os.path.islink(full):
            os.unlink(full)  # a key that left the payload
    for name in visible:
        full = os.path.join(target, name)
        if not os.path.lexists(full):
            os.symlink(os.path.join(DATA_DIR, name), full)
    if old_version and old_version != os.path.basename(version):
        shutil.rmtree(os.path.join(target, old_version), ignore_errors=True)
    return True
