"""e2e fixtures: a real Docker engine (started here if none answers), the offline
test images, and a DockerRuntime whose pods are removed after each test.

Every e2e test module sets `pytestmark = pytest.mark.e2e`. They are skipped only when no engine can run at all
(not root and no daemon answering), with that reason; on CI and these machines the
session starts dockerd itself and stops it again at the end.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from kubelet.runtime import POD_UID_LABEL, PodSandboxConfig, PodSandboxMetadata
from kubelet.runtime.docker import DockerRuntime
from tinykube.cluster.engine import DockerDaemon, DockerUnavailable, ensure_docker, remove_containers_with_label
from tinykube.cluster.images import BUSYBOX_IMAGE, PAUSE_IMAGE, build_test_images


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[DockerDaemon]:
    try:
        daemon = ensure_docker()
    except DockerUnavailable as error:
        pytest.skip(f"no Docker engine can run here: {error}")
    started = time.time() - 1
    yield daemon
    # Kubelets stopped by their fixtures leave their pods' containers behind, as a
    # killed kubelet would; remove the ones this session's pods created.
    remove_containers_with_label(daemon.endpoint, POD_UID_LABEL, created_since=started)
    daemon.stop()


@pytest.fixture(scope="session")
def test_images(docker_engine: DockerDaemon) -> dict[str, str]:
    build_test_images(docker_engine.endpoint)
    return {"busybox": BUSYBOX_IMAGE, "pause": PAUSE_IMAGE}


class PodFactory:
    """Sandbox configs with fresh uids; every uid handed out is cleaned up after the test."""

    def __init__(self) -> None:
        self.uids: list[str] = []

    def sandbox_config(self, name: str = "pod", **kwargs: object) -> PodSandboxConfig:
        uid = str(uuid.uuid4())
        self.uids.append(uid)
        metadata = PodSandboxMetadata(name=f"{name}-{uid[:6]}", namespace="e2e", uid=uid)
        return PodSandboxConfig(metadata=metadata, labels={POD_UID_LABEL: uid}, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def runtime(docker_engine: DockerDaemon, test_images: dict[str, str]) -> AsyncIterator[DockerRuntime]:
    docker_runtime = DockerRuntime(docker_engine.endpoint, pod_infra_container_image=test_images["pause"])
    yield docker_runtime
    docker_runtime.close()


@pytest.fixture
def pods(docker_engine: DockerDaemon) -> Iterator[PodFactory]:
    factory = PodFactory()
    yield factory
    for uid in factory.uids:
        remove_containers_with_label(docker_engine.endpoint, f"{POD_UID_LABEL}={uid}")
