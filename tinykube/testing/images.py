"""Build the images the e2e tests and the Docker kubelet need, offline.

No registry is reachable here, so `tinykube/busybox:test` and `tinykube/pause:test`
are built FROM scratch out of `deploy/images/<name>/` plus the host's static
busybox (Debian's `busybox-static`, /bin/busybox), sent to the engine's `/build`
endpoint as a tar context. Each image is labelled with a digest of its context;
a build happens only when no image with that tag and digest exists, so a second
test session starts instantly.

Kubernetes counterpart: test/images/ (the e2e test images), build/pause/
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import httpx

from tinykube.testing.docker import engine_client, engine_endpoint

IMAGES_DIR = Path(__file__).resolve().parents[2] / "deploy" / "images"
BUSYBOX_IMAGE = "tinykube/busybox:test"
PAUSE_IMAGE = "tinykube/pause:test"
TEST_IMAGES = {BUSYBOX_IMAGE: "busybox", PAUSE_IMAGE: "pause"}
DIGEST_LABEL = "io.tinykube.build-digest"
HOST_BUSYBOX = Path("/bin/busybox")


class ImageBuildError(RuntimeError):
    pass


def host_busybox() -> bytes:
    """The host's busybox, which must be static: the images have no libc."""
    if not HOST_BUSYBOX.exists():
        raise ImageBuildError(f"{HOST_BUSYBOX} is missing: install busybox-static "
                              "(deploy/prereqs.sh does)")
    binary = HOST_BUSYBOX.read_bytes()
    if b"ld-linux" in binary[:4096]:  # a dynamic ELF names its loader in PT_INTERP, up front
        raise ImageBuildError(f"{HOST_BUSYBOX} is dynamically linked: install busybox-static")
    return binary


def build_context(name: str) -> tuple[bytes, str]:
    """The tar context for deploy/images/<name>/ plus busybox, and its digest."""
    files = {path.name: path.read_bytes() for path in sorted((IMAGES_DIR / name).iterdir()) if path.is_file()}
    files["busybox"] = host_busybox()
    digest = hashlib.sha256()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for file_name, data in sorted(files.items()):
            digest.update(file_name.encode() + b"\0" + hashlib.sha256(data).digest())
            info = tarfile.TarInfo(file_name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue(), digest.hexdigest()


def image_digest_label(client: httpx.Client, tag: str) -> str | None:
    response = client.get(f"/images/{tag}/json")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return ((response.json().get("Config") or {}).get("Labels") or {}).get(DIGEST_LABEL)


def build_image(client: httpx.Client, tag: str, context: bytes, digest: str) -> None:
    params = {"t": tag, "labels": json.dumps({DIGEST_LABEL: digest}), "rm": "1", "forcerm": "1"}
    with client.stream("POST", "/build", params=params, content=context,
                       headers={"Content-Type": "application/x-tar"}) as response:
        if response.status_code != 200:
            raise ImageBuildError(f"building {tag}: {response.read().decode(errors='replace')}")
        output = []
        for line in response.iter_lines():
            if not line.strip():
                continue
            message = json.loads(line)
            if "error" in message:
                raise ImageBuildError(f"building {tag}: {message['error']}\n{''.join(output)[-2000:]}")
            output.append(str(message.get("stream", "")))


def build_test_images(endpoint: str | None = None) -> dict[str, bool]:
    """Make sure every test image exists and is current; returns {tag: rebuilt}."""
    rebuilt = {}
    with engine_client(endpoint or engine_endpoint(), timeout_seconds=300.0) as client:
        for tag, name in TEST_IMAGES.items():
            context, digest = build_context(name)
            rebuilt[tag] = image_digest_label(client, tag) != digest
            if rebuilt[tag]:
                build_image(client, tag, context, digest)
    return rebuilt


if __name__ == "__main__":
    for image_tag, was_built in build_test_images().items():
        print(f"{image_tag}: {'built' if was_built else 'up to date'}")
