"""Image references as Docker reads them: registry host, repository path, tag.

`busybox` is `docker.io/library/busybox:latest`; a first component with a `.` or
`:`, or `localhost`, is a registry host (`registry:5000/team/app:2`); Docker Hub's
spellings (`docker.io`, `index.docker.io`, `registry-1.docker.io`) are one registry.
Used by the kubelet (which pull secret fits an image) and by the cluster tooling
(where an image lives in the cluster registry).

Kubernetes counterpart: github.com/distribution/reference (ParseNormalizedNamed),
pkg/util/parsers
"""

from __future__ import annotations

DOCKER_HUB = "docker.io"
HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})


def image_registry(image: str) -> tuple[str, str]:
    """(registry host, repository path) of an image reference, Docker's defaults applied."""
    name = image.partition("@")[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host, path = first, rest
    else:
        host, path = DOCKER_HUB, name if rest else f"library/{name}"
    return (DOCKER_HUB if host in HUB_ALIASES else host), path


def image_tag(image: str) -> str:
    """The tag (`latest` when none is given); "" for a reference by digest."""
    if "@" in image:
        return ""
    last = image.rsplit("/", 1)[-1]
    return last.partition(":")[2] or "latest"


def normalized(image: str) -> str:
    """`busybox` → `docker.io/library/busybox:latest`; a digest is kept as is."""
    host, path = image_registry(image)
    digest = image.partition("@")[2]
    return f"{host}/{path}@{digest}" if digest else f"{host}/{path}:{image_tag(image)}"
