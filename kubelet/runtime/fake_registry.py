"""A registry for hollow nodes: what it holds and who may pull, from a JSON file.

With `--fake-registry FILE` a hollow node's engine starts with no image but the
pause image, and a pull asks this registry, which reads FILE at every pull (so a
test "pushes" by rewriting it):

    {"images": ["busybox:latest", "registry:5000/app:1"],
     "credentials": {"registry:5000": "user:password"}}

Images are compared by their full reference with Docker's defaults
(`busybox` = `docker.io/library/busybox:latest`). A host listed in `credentials`
wants those credentials, as a registry with htpasswd auth does. The errors are the
Docker engine's for the same cases, so events read as on a real node:

- no credentials sent:   `Head "http://HOST/v2/REPO/manifests/TAG": no basic auth credentials`
- wrong credentials:     `Head "http://HOST/v2/REPO/manifests/TAG": unauthorized: authentication required`
- an image it lacks:     `manifest for IMAGE not found: manifest unknown: manifest unknown`

Kubernetes counterpart: none (a test double for a registry behind the CRI's PullImage)
"""

from __future__ import annotations

import json
from pathlib import Path

from kubelet.runtime import AuthConfig, RuntimeServiceError
from tinykube.image_reference import DOCKER_HUB, image_registry, normalized


class FakeRegistry:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _contents(self) -> tuple[set[str], dict[str, str]]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError) as err:
            raise RuntimeServiceError(f"fake registry {self.path}: {err}") from None
        return {normalized(i) for i in data.get("images") or []}, dict(data.get("credentials") or {})

    def pull(self, image: str, auth: AuthConfig | None) -> None:
        """Return when the registry serves `image` to these credentials, else raise with Docker's message."""
        held, credentials = self._contents()
        host, path = image_registry(image)
        reference = normalized(image)
        tag = reference.rsplit(":", 1)[-1] if "@" not in reference else reference.partition("@")[2]
        wanted = credentials.get(host)
        if wanted is not None:
            manifest_url = f"http://{host}/v2/{path}/manifests/{tag}"
            if auth is None:
                raise RuntimeServiceError(f'Head "{manifest_url}": no basic auth credentials')
            if f"{auth.username}:{auth.password}" != wanted:
                raise RuntimeServiceError(f'Head "{manifest_url}": unauthorized: authentication required')
        if reference not in held:
            shown = image if host != DOCKER_HUB else reference.removeprefix("docker.io/").removeprefix("library/")
            raise RuntimeServiceError(f"manifest for {shown} not found: manifest unknown: manifest unknown")
