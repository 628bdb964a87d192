"""The cluster image registry: its image, pushing host images to it, listing what it holds.

The registry is Debian's `docker-registry` package (the CNCF distribution registry),
installed in the tinykube image (images.py fetches the .deb on the host with
`apt-get download`: Debian's mirror, no container registry), config
deploy/images/tinykube/registry.yml.

In the compose cluster it is the `registry` service: `registry:5000` on the cluster
network, `127.0.0.1:$TINYKUBE_REGISTRY_PORT` (5000) on the host. Every node's engine
uses it as its mirror for docker.io and as an insecure (plain HTTP) registry, so
`image: busybox` is served from `registry:5000/library/busybox:latest`.

Pushes go from the host's engine to the loopback address (Docker trusts a registry
on 127.0.0.0/8 over plain HTTP without configuration), under the image's Docker Hub
path: `busybox` as `library/busybox:latest`, `tinykube/echo:1` as `tinykube/echo:1`.
`up` pushes the sample images and the tinykube image, and the upstream names the
examples use: `busybox` (tinykube/busybox:1) and `nginx` (the echo image on port 80).

Kubernetes counterpart: kind's local registry recipe (docs/user/local-registry.md),
k3s's registries.yaml mirrors
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Callable

import httpx

from tinykube.cluster import images
from tinykube.cluster.engine import engine_client, engine_endpoint
from tinykube.image_reference import DOCKER_HUB, image_registry, image_tag

# The name nodes reach it by (compose service name; lab: the first control-plane host).
CLUSTER_REGISTRY = "registry:5000"
# The echo sample on port 80, pushed as `nginx` (examples and client tests use nginx).
NGINX_COMPAT_IMAGE = "tinykube/echo-nginx:1"
# Upstream names pushed too: name -> local image.
UPSTREAM_ALIASES = {"busybox:latest": images.BUSYBOX_IMAGE, "nginx:latest": NGINX_COMPAT_IMAGE}
CLUSTER_IMAGES = [*images.SAMPLE_IMAGES, images.TINYKUBE_IMAGE, images.REDIS_IMAGE]
REGISTRY_PORT = 5000


def registry_config(root_directory: str) -> str:
    """The registry's configuration (deploy/images/tinykube/registry.yml is the image's):
    plain HTTP on :5000, no auth, blobs under `root_directory`."""
    return f"""version: 0.1
log:
  level: info
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: {root_directory}
  delete:
    enabled: true
http:
  addr: :{REGISTRY_PORT}
  headers:
    X-Content-Type-Options: [nosniff]
"""

Progress = Callable[[str], None]


class RegistryError(RuntimeError):
    pass


def host_port() -> int:
    return int(os.environ.get("TINYKUBE_REGISTRY_PORT", "5000"))


def build_nginx_compat_image(endpoint: str | None = None, progress: Progress = images._quiet) -> bool:
    """Make sure the nginx-compatible echo image is current (after the sample images)."""
    built = False
    with engine_client(endpoint or engine_endpoint(), timeout_seconds=900.0) as client:
        echo_id = client.get(f"/images/{images.ECHO_IMAGE}/json").json()["Id"]
        dockerfile = f"FROM {images.ECHO_IMAGE}\nENV PORT=80\nEXPOSE 80\n".encode()
        nginx_context, nginx_digest = images.tar_context({"Dockerfile": dockerfile})
        nginx_digest = hashlib.sha256((nginx_digest + echo_id).encode()).hexdigest()
        if images.image_digest_label(client, NGINX_COMPAT_IMAGE) != nginx_digest:
            images.build_image(client, NGINX_COMPAT_IMAGE, nginx_context, nginx_digest, progress=progress)
            built = True
    return built


def registry_path(image: str) -> str:
    """The repository:tag an image has in the cluster registry (its Docker Hub path)."""
    host, path = image_registry(image)
    if host != DOCKER_HUB:
        raise RegistryError(f"{image} names registry {host}: only Docker Hub names are mirrored by the cluster registry")
    return f"{path}:{image_tag(image) or 'latest'}"


def wait_answers(port: int | None = None, timeout_seconds: float = 60.0) -> None:
    url = f"http://127.0.0.1:{port or host_port()}/v2/"
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RegistryError(f"the cluster registry at {url} did not answer in {timeout_seconds:.0f}s "
                                "(docker logs of the registry container)")
        time.sleep(0.2)


def push(pushes: dict[str, str], progress: Progress = images._quiet, port: int | None = None) -> None:
    """Push {name in the registry: local image} from the host's engine to the registry."""
    address = f"127.0.0.1:{port or host_port()}"
    wait_answers(port)
    no_auth = base64.urlsafe_b64encode(b"{}").decode()
    with engine_client(engine_endpoint(), timeout_seconds=900.0) as client:
        for name, local in pushes.items():
            repository, _, tag = registry_path(name).rpartition(":")
            target = f"{address}/{repository}"
            tagged = client.post(f"/images/{local}/tag", params={"repo": target, "tag": tag})
            if tagged.status_code == 404:
                raise RegistryError(f"image {local} is not in the host's Docker engine (docker images)")
            tagged.raise_for_status()
            progress(f"pushing {local} as {repository}:{tag}")
            try:
                with client.stream("POST", f"/images/{target}/push", params={"tag": tag},
                                   headers={"X-Registry-Auth": no_auth}) as response:
                    if response.status_code != 200:
                        raise RegistryError(f"pushing {local}: {response.read().decode(errors='replace').strip()}")
                    for line in response.iter_lines():
                        message = json.loads(line) if line.strip() else {}
                        if "error" in message:
                            raise RegistryError(f"pushing {local} to {address}: {message['error']}")
            finally:
                client.delete(f"/images/{target}:{tag}", params={"noprune": "1"})


def push_cluster_images(progress: Progress = images._quiet, port: int | None = None,
                        only_present: bool = False) -> list[str]:
    """What `up` and `init` put in the registry: every cluster image and the upstream
    aliases (with `only_present`, those the host's engine has); the names pushed."""
    pushes = {**{image: image for image in CLUSTER_IMAGES}, **UPSTREAM_ALIASES}
    if only_present:
        with engine_client(engine_endpoint()) as client:
            pushes = {name: local for name, local in pushes.items() if images.image_exists(client, local)}
    push(pushes, progress, port)
    return list(pushes)


def catalog(port: int | None = None) -> dict[str, list[str]]:
    """{repository: sorted tags} of everything the registry holds."""
    base = f"http://127.0.0.1:{port or host_port()}/v2"
    try:
        with httpx.Client(timeout=10.0) as client:
            repositories = client.get(f"{base}/_catalog", params={"n": "1000"}).raise_for_status().json()
            held = {}
            for repository in repositories.get("repositories") or []:
                tags = client.get(f"{base}/{repository}/tags/list").raise_for_status().json().get("tags") or []
                held[repository] = sorted(tags)
            return held
    except httpx.HTTPError as err:
        raise RegistryError(f"the cluster registry at {base} does not answer ({err}): is the cluster up?") from err
