"""Names in the cluster registry, and a lab worker's engine configured to mirror it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tinykube.cluster import lab_registry, registry
from tinykube.image_reference import normalized


def test_images_are_pushed_under_their_docker_hub_paths() -> None:
    assert registry.registry_path("busybox") == "library/busybox:latest"
    assert registry.registry_path("nginx:latest") == "library/nginx:latest"
    assert registry.registry_path("tinykube/echo:1") == "tinykube/echo:1"
    with pytest.raises(registry.RegistryError, match="names registry quay.io"):
        registry.registry_path("quay.io/team/app:1")
    assert normalized("busybox") == "docker.io/library/busybox:latest"
    assert normalized("registry:5000/app") == "registry:5000/app:latest"


def test_the_registry_config_serves_plain_http_on_5000_from_the_given_directory() -> None:
    config = registry.registry_config("/var/lib/tinykube/registry")
    assert "rootdirectory: /var/lib/tinykube/registry" in config and "addr: :5000" in config
    assert "auth" not in config


def test_join_merges_the_mirror_into_daemon_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    daemon_json = tmp_path / "daemon.json"
    daemon_json.write_text(json.dumps({"log-level": "warn", "registry-mirrors": ["http://other:5000"]}))
    monkeypatch.setattr(lab_registry, "DOCKER_DAEMON_JSON", daemon_json)
    monkeypatch.setattr(lab_registry, "DOCKERD_PID_FILE", tmp_path / "no-such.pid")
    said: list[str] = []
    lab_registry.use_registry("10.0.0.5:5000", said.append)
    lab_registry.use_registry("10.0.0.5:5000", said.append)  # a second join changes nothing
    assert json.loads(daemon_json.read_text()) == {
        "log-level": "warn", "registry-mirrors": ["http://other:5000", "http://10.0.0.5:5000"],
        "insecure-registries": ["10.0.0.5:5000"]}
    assert len(said) == 1 and "10.0.0.5:5000 is the docker.io mirror" in said[0]
