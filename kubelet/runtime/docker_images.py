"""CRI's ImageService on the Docker engine: pull, inspect, list and remove images.

A pull goes through the engine, so its registry mirrors apply (a node's engine
mirrors docker.io to the cluster registry, DESIGN in docs/architecture.md), with
the pull secret's credentials as the engine's X-Registry-Auth. A failed pull's
message (for example "manifest for registry:5000/x:1 not found: manifest unknown",
or the registry's 401 "no basic auth credentials") is raised as
`RuntimeServiceError` and the kubelet shows it as the container's ErrImagePull
message, as Kubernetes does. A pull can fail either with
an HTTP error or with an `error` line inside the 200 progress stream; both count.

Kubernetes counterpart: pkg/kubelet/dockershim/docker_image.go,
pkg/kubelet/images/image_manager.go (the caller)
"""

from __future__ import annotations

import logging
from typing import Any

from docker.utils import parse_repository_tag

from kubelet.runtime import AuthConfig, Image, RuntimeNotFound, RuntimeServiceError
from kubelet.runtime.docker_engine import DockerEngine

log = logging.getLogger(__name__)


def to_image(inspected: dict[str, Any]) -> Image:
    return Image(id=inspected.get("Id", ""), repo_tags=tuple(inspected.get("RepoTags") or ()),
                 size_bytes=int(inspected.get("Size") or 0))


class DockerImageService:
    """The ImageService half of DockerRuntime (mixed into it; needs `self.engine`)."""

    engine: DockerEngine

    async def pull_image(self, image: str, auth: AuthConfig | None = None) -> str:
        """Pull `image` and return its id ("sha256:..."), or raise with the engine's message."""
        repository, tag = parse_repository_tag(image)
        log.info("pulling image image=%s with_credentials=%s", image, auth is not None)
        auth_config = None if auth is None else {
            "username": auth.username, "password": auth.password, "serveraddress": auth.server_address}

        def pull() -> None:
            for message in self.engine.api.pull(repository, tag=tag or "latest", stream=True, decode=True,
                                                auth_config=auth_config):
                error = message.get("error") or (message.get("errorDetail") or {}).get("message")
                if error:
                    raise RuntimeServiceError(str(error))

        try:
            await self.engine.call(pull)
        except RuntimeServiceError as error:
            log.info("image pull failed image=%s error=%s", image, error)
            raise
        status = await self.image_status(image)
        if status is None:
            raise RuntimeServiceError(f"image {image} not present after pull")
        return status.id

    async def image_status(self, image: str) -> Image | None:
        try:
            return to_image(await self.engine.call(self.engine.api.inspect_image, image))
        except RuntimeNotFound:
            return None

    async def list_images(self) -> list[Image]:
        summaries = await self.engine.call(self.engine.api.images)
        return [Image(id=s.get("Id", ""), repo_tags=tuple(t for t in s.get("RepoTags") or () if t != "<none>:<none>"),
                      size_bytes=int(s.get("Size") or 0)) for s in summaries]

    async def remove_image(self, image: str) -> None:
        """Remove an image; removing one that is absent is not an error (as in CRI)."""
        try:
            await self.engine.call(self.engine.api.remove_image, image)
        except RuntimeNotFound:
            log.debug("image already absent image=%s", image)

