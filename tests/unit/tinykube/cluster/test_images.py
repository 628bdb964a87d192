"""What goes into the tinykube image's build context, and when it counts as changed."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from tinykube.cluster.images import ImageBuildError, tinykube_context


def wheel_dirs(tmp_path: Path) -> tuple[Path, Path]:
    deps, own = tmp_path / "deps", tmp_path / "own"
    for directory, name in ((deps, "pyyaml-6.0-py3-none-any.whl"), (own, "tinykube-0.1.0-py3-none-any.whl")):
        directory.mkdir()
        (directory / name).write_bytes(b"wheel " + name.encode())
        (directory / ".stamp").write_text("stamp\n")
    (deps / "requirements.txt").write_text("pyyaml\n")
    return deps, own


def names(context: bytes) -> set[str]:
    with tarfile.open(fileobj=io.BytesIO(context)) as tar:
        return set(tar.getnames())


def test_context_holds_the_dockerfile_wheels_and_no_stamps(tmp_path: Path) -> None:
    context, _ = tinykube_context(*wheel_dirs(tmp_path), None)
    files = names(context)
    assert {"Dockerfile", "packages.txt", "tinykube-node", "wheels/deps/requirements.txt",
            "wheels/deps/pyyaml-6.0-py3-none-any.whl", "wheels/tinykube/tinykube-0.1.0-py3-none-any.whl",
            "extra-ca/README"} <= files
    assert not any(name.endswith(".stamp") for name in files)


def test_extra_ca_certificates_go_in_and_change_the_digest(tmp_path: Path) -> None:
    deps, own = wheel_dirs(tmp_path)
    _, plain = tinykube_context(deps, own, None)
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "corp-proxy.crt").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    context, with_ca = tinykube_context(deps, own, certs)
    assert "extra-ca/corp-proxy.crt" in names(context)
    assert with_ca != plain
    assert tinykube_context(deps, own, None)[1] == plain  # same inputs, same digest: no rebuild


def test_extra_ca_dir_without_certificates_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ImageBuildError, match="no \\*.crt file"):
        tinykube_context(*wheel_dirs(tmp_path), empty)
