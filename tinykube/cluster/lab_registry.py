"""The cluster registry on lab hosts: `init` runs it, fills it and applies the add-ons;
`join` points the worker's engine at it.

- `init` starts Debian's `docker-registry` (the package: `apt-get install
  docker-registry`; the tinykube image has it) as the component `registry`, on port
  5000 of the control-plane host, blobs in /var/lib/tinykube/registry. When a Docker
  engine answers on that host, the cluster images it holds (the tinykube image, the
  samples) are pushed there with the upstream aliases (`busybox`, and `nginx` made
  from the echo sample there), as `up` does; then the add-ons (cluster DNS, the Ingress controller, the default
  StorageClass, the dashboard) are applied, and run once workers join.
- `join` writes `registry-mirrors` and `insecure-registries` (the control-plane
  host's address, port 5000, plain HTTP) into /etc/docker/daemon.json, and has a
  running engine reload it (SIGHUP), so the add-ons' `tinykube/tinykube:latest` and
  `image: busybox` are pulled from the cluster registry.

Kubernetes counterpart: kubeadm's addon phase (cmd/kubeadm/app/phases/addons),
k3s's embedded registry mirror
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

from tinykube.cluster import images, registry
from tinykube.cluster.engine import DOCKERD_PID_FILE, engine_answers, engine_client, engine_endpoint

Say = Callable[[str], None]
DOCKER_DAEMON_JSON = Path(os.environ.get("TINYKUBE_DOCKER_DAEMON_JSON", "/etc/docker/daemon.json"))


class LabRegistryError(RuntimeError):
    pass


def registry_command(data_dir: Path) -> list[str]:
    """The registry's command line, its configuration written under `data_dir`."""
    binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
    if not Path(binary).exists():
        raise LabRegistryError("docker-registry is not installed: `apt-get install docker-registry` "
                               "(Debian's package of the distribution registry)")
    config = data_dir / "registry.yml"
    data_dir.mkdir(parents=True, exist_ok=True)
    config.write_text(registry.registry_config(str(data_dir / "registry")))
    return [binary, "serve", str(config)]


def fill(say: Say) -> None:
    """Push the cluster images this host's engine holds; say so when there is no engine."""
    if not engine_answers(engine_endpoint()):
        say("  registry: no Docker engine on this host, nothing pushed (push images with "
            f"`docker push <this host>:{registry.REGISTRY_PORT}/...`)")
        return
    try:
        with engine_client(engine_endpoint()) as client:
            has_echo = images.image_exists(client, images.ECHO_IMAGE)
        if has_echo:  # `nginx` is made from it here, as `up` does
            registry.build_nginx_compat_image(progress=lambda line: say(f"  {line}"))
        registry.wait_answers(registry.REGISTRY_PORT)
        pushed = registry.push_cluster_images(lambda line: say(f"  {line}"), port=registry.REGISTRY_PORT,
                                              only_present=True)
    except registry.RegistryError as err:
        raise LabRegistryError(str(err)) from None
    say(f"  registry: {len(pushed)} images pushed")


def use_registry(address: str, say: Say) -> None:
    """Make `address` (host:port) this engine's docker.io mirror and an insecure registry."""
    try:
        config = json.loads(DOCKER_DAEMON_JSON.read_text()) if DOCKER_DAEMON_JSON.exists() else {}
    except ValueError as err:
        raise LabRegistryError(f"{DOCKER_DAEMON_JSON} is not JSON ({err}): fix or remove it") from None
    mirror = f"http://{address}"
    changed = False
    for key, value in (("registry-mirrors", mirror), ("insecure-registries", address)):
        values = list(config.get(key) or [])
        if value not in values:
            config[key] = [*values, value]
            changed = True
    if not changed:
        return
    DOCKER_DAEMON_JSON.parent.mkdir(parents=True, exist_ok=True)
    DOCKER_DAEMON_JSON.write_text(json.dumps(config, indent=2) + "\n")
    say(f"  engine: {address} is the docker.io mirror ({DOCKER_DAEMON_JSON})")
    try:
        pid = int(DOCKERD_PID_FILE.read_text().strip())
        os.kill(pid, signal.SIGHUP)  # dockerd reloads its mirrors and insecure registries
    except (OSError, ValueError):
        pass  # no engine yet: the one started next reads the file
