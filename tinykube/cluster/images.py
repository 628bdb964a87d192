"""Build every image tinykube needs, offline and incrementally.

No registry is reachable on the machines tinykube is made on, so nothing is pulled:

- Sample images (`tinykube/pause:1`, `tinykube/busybox:1`, `tinykube/echo:1`) are
  built FROM scratch out of `sample-images/<name>/` (next to this module, so an
  installed tinykube can build them on a lab host) plus the host's static busybox
  (Debian's `busybox-static`).
- `tinykube/redis:1`, the database sample, is Debian's redis-server on the same
  Debian base as the next one (sample-images/redis/; the debootstrap base holds it).
- `tinykube/tinykube:latest`, the image of every component, is built from
  `deploy/images/tinykube/Dockerfile` on a Debian base: `debian:bookworm-slim` when
  the engine has it or can pull it, otherwise `tinykube/debian-base:bookworm`, a
  root filesystem made by `debootstrap` from the Debian mirror (with the packages
  of packages.txt already in) and `docker import`ed. Python wheels for tinykube and
  every dependency are built on the host (`pip wheel`) and installed in the image
  with `--no-index`. The host's extra CA certificates can be added. The cluster
  registry is Debian's `docker-registry` in the same image: its .deb is fetched on
  the host with `apt-get download` (Debian's mirror, no container registry).

Incremental: each image carries a label with the digest of what it was built
from, and is only built again when that digest changes; the wheels are only
rebuilt when pyproject.toml (dependencies) or the source (tinykube's wheel)
changes. Within a build, the engine's layer cache does the rest.

Builds go to the engine's `/build` endpoint as a tar context, so neither BuildKit
nor a particular docker CLI is needed.

Kubernetes counterpart: build/ (the release images), test/images/, kind's node image
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path

import httpx

from tinykube.cluster.engine import engine_client, engine_endpoint

PROJECT_DIR = Path(__file__).resolve().parents[2]
IMAGES_DIR = PROJECT_DIR / "deploy" / "images"
SAMPLE_IMAGES_DIR = Path(__file__).resolve().parent / "sample-images"
BUILD_DIR = PROJECT_DIR / "build" / "images"

BUSYBOX_IMAGE = "tinykube/busybox:1"
PAUSE_IMAGE = "tinykube/pause:1"
ECHO_IMAGE = "tinykube/echo:1"
SAMPLE_IMAGES = {PAUSE_IMAGE: "pause", BUSYBOX_IMAGE: "busybox", ECHO_IMAGE: "echo"}
TINYKUBE_IMAGE = "tinykube/tinykube:latest"
# The database sample: Debian's redis-server on the tinykube image's Debian base.
REDIS_IMAGE = "tinykube/redis:1"
REDIS_PACKAGES = ("redis-server", "redis-tools")
PUBLIC_BASE_IMAGE = "debian:bookworm-slim"
DEBOOTSTRAP_BASE_IMAGE = "tinykube/debian-base:bookworm"
DEBIAN_MIRROR = os.environ.get("TINYKUBE_DEBIAN_MIRROR", "http://deb.debian.org/debian")

DIGEST_LABEL = "io.tinykube.build-digest"
HOST_BUSYBOX = Path("/bin/busybox")
# Source trees that go into tinykube's wheel (a change rebuilds it).
SOURCE_PACKAGES = ("tinykube", "apiserver", "controller_manager", "scheduler", "kubelet", "kube_proxy",
                   "cluster_dns", "cloud_controller_manager", "ingress_controller", "dashboard")

Progress = Callable[[str], None]


class ImageBuildError(RuntimeError):
    pass


def _quiet(_: str) -> None:
    pass


# --- the engine ------------------------------------------------------------------

def image_digest_label(client: httpx.Client, tag: str) -> str | None:
    response = client.get(f"/images/{tag}/json")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return ((response.json().get("Config") or {}).get("Labels") or {}).get(DIGEST_LABEL) or ""


def image_exists(client: httpx.Client, tag: str) -> bool:
    return client.get(f"/images/{tag}/json").status_code == 200


def build_image(client: httpx.Client, tag: str, context: bytes, digest: str,
                buildargs: dict[str, str] | None = None, progress: Progress = _quiet) -> None:
    """POST /build; the engine's error (with the last lines of output) on failure."""
    params = {"t": tag, "labels": json.dumps({DIGEST_LABEL: digest}), "rm": "1", "forcerm": "1"}
    if buildargs:
        params["buildargs"] = json.dumps(buildargs)
    with client.stream("POST", "/build", params=params, content=context,
                       headers={"Content-Type": "application/x-tar"}) as response:
        if response.status_code != 200:
            raise ImageBuildError(f"building {tag}: {response.read().decode(errors='replace').strip()}")
        output: list[str] = []
        for line in response.iter_lines():
            if not line.strip():
                continue
            message = json.loads(line)
            if "error" in message:
                tail = "".join(output)[-1500:]
                raise ImageBuildError(f"building {tag} failed: {message['error'].strip()}\n{tail}")
            text = str(message.get("stream", ""))
            output.append(text)
            if text.startswith("Step "):
                progress(f"{tag}: {text.strip()[:100]}")


def tar_context(files: dict[str, bytes | Path]) -> tuple[bytes, str]:
    """A build context from {name in context: bytes or a file}, and its digest."""
    digest = hashlib.sha256()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, source in sorted(files.items()):
            data = source.read_bytes() if isinstance(source, Path) else source
            mode = (source.stat().st_mode & 0o777) if isinstance(source, Path) else 0o755
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue(), digest.hexdigest()


# --- sample images (FROM scratch + busybox) ----------------------------------------

def host_busybox() -> bytes:
    """The host's busybox, which must be static: the images have no libc."""
    if not HOST_BUSYBOX.exists():
        raise ImageBuildError(f"{HOST_BUSYBOX} is missing: install busybox-static "
                              "(deploy/prereqs.sh does)")
    binary = HOST_BUSYBOX.read_bytes()
    if b"ld-linux" in binary[:4096]:  # a dynamic ELF names its loader in PT_INTERP, up front
        raise ImageBuildError(f"{HOST_BUSYBOX} is dynamically linked: install busybox-static")
    return binary


def sample_context(name: str) -> tuple[bytes, str]:
    files: dict[str, bytes | Path] = {p.name: p for p in sorted((SAMPLE_IMAGES_DIR / name).iterdir()) if p.is_file()}
    files["busybox"] = host_busybox()
    return tar_context(files)


def build_sample_images(endpoint: str | None = None, progress: Progress = _quiet) -> dict[str, bool]:
    """Make sure every sample image exists and is current; returns {tag: rebuilt}."""
    rebuilt = {}
    with engine_client(endpoint or engine_endpoint(), timeout_seconds=300.0) as client:
        for tag, name in SAMPLE_IMAGES.items():
            context, digest = sample_context(name)
            rebuilt[tag] = image_digest_label(client, tag) != digest
            if rebuilt[tag]:
                progress(f"building {tag}")
                build_image(client, tag, context, digest)
    return rebuilt


# The e2e tests use the same images.
build_test_images = build_sample_images


# --- the base image -----------------------------------------------------------------

def packages() -> list[str]:
    return (IMAGES_DIR / "tinykube" / "packages.txt").read_text().split()


def base_packages() -> list[str]:
    """What a debootstrap base holds: the tinykube image's packages and the redis sample's."""
    return [*packages(), *REDIS_PACKAGES]


def ensure_base_image(client: httpx.Client, progress: Progress = _quiet) -> str:
    """The base for the tinykube image: $TINYKUBE_BASE_IMAGE, debian:bookworm-slim
    (present or pullable), or a debootstrap base made now."""
    chosen = os.environ.get("TINYKUBE_BASE_IMAGE")
    if chosen:
        if not image_exists(client, chosen):
            raise ImageBuildError(f"TINYKUBE_BASE_IMAGE={chosen} is not in the engine")
        return chosen
    if image_exists(client, PUBLIC_BASE_IMAGE):
        return PUBLIC_BASE_IMAGE
    expected = hashlib.sha256(" ".join(base_packages()).encode() + DEBIAN_MIRROR.encode()).hexdigest()
    if image_digest_label(client, DEBOOTSTRAP_BASE_IMAGE) == expected:
        return DEBOOTSTRAP_BASE_IMAGE
    name, _, tag = PUBLIC_BASE_IMAGE.partition(":")
    pulled = client.post("/images/create", params={"fromImage": name, "tag": tag}, timeout=120.0)
    if pulled.status_code == 200 and image_exists(client, PUBLIC_BASE_IMAGE):
        return PUBLIC_BASE_IMAGE
    progress(f"no registry answers: making {DEBOOTSTRAP_BASE_IMAGE} with debootstrap from {DEBIAN_MIRROR}")
    debootstrap_base(client, expected, progress)
    return DEBOOTSTRAP_BASE_IMAGE


def debootstrap_base(client: httpx.Client, digest: str, progress: Progress = _quiet) -> None:
    """Debian bookworm (minbase + packages.txt) from the mirror, imported as an image.

    The root filesystem is made in a fresh temporary directory each time, so an
    interrupted run leaves nothing half-made behind that a later one would trust."""
    debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
    if not Path(debootstrap).exists():
        raise ImageBuildError("debootstrap is not installed and debian:bookworm-slim cannot be pulled: "
                              "run `make install` (deploy/prereqs.sh installs debootstrap)")
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rootfs-", dir=BUILD_DIR) as workdir:
        root = Path(workdir) / "root"
        command = [debootstrap, "--variant=minbase", f"--include={','.join(base_packages())}",
                   "bookworm", str(root), DEBIAN_MIRROR]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise ImageBuildError(f"debootstrap failed ({result.returncode}):\n{result.stdout[-1500:]}"
                                  f"{result.stderr[-1500:]}")
        for leftover in ("var/cache/apt/archives", "usr/share/doc", "usr/share/man", "var/lib/apt/lists"):
            shutil.rmtree(root / leftover, ignore_errors=True)
        (root / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
        (root / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)
        progress(f"importing {DEBOOTSTRAP_BASE_IMAGE}")
        tar = subprocess.Popen(["tar", "-C", str(root), "--numeric-owner", "-cf", "-", "."],
                               stdout=subprocess.PIPE)
        changes = [f"LABEL {DIGEST_LABEL}={digest}", 'CMD ["bash"]']
        name, _, tag = DEBOOTSTRAP_BASE_IMAGE.partition(":")
        response = client.post("/images/create", params={"fromSrc": "-", "repo": name, "tag": tag,
                                                         "changes": changes},
                               content=iter(lambda: tar.stdout.read(1 << 20), b""),  # type: ignore[union-attr]
                               headers={"Content-Type": "application/x-tar"}, timeout=600.0)
        tar.wait()
        if response.status_code != 200 or b'"error"' in response.content:
            raise ImageBuildError(f"importing the debootstrap base failed: {response.text[-500:]}")


# --- wheels --------------------------------------------------------------------------

def _tree_digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(PROJECT_DIR)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def source_files() -> list[Path]:
    files = [PROJECT_DIR / "pyproject.toml"]
    for package in SOURCE_PACKAGES:
        files += [p for p in (PROJECT_DIR / package).rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    return files


def dependencies() -> list[str]:
    return tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]["dependencies"]


def _pip(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise ImageBuildError(f"pip {' '.join(args[:2])} failed:\n{result.stdout[-1000:]}{result.stderr[-1500:]}")


def ensure_wheels(progress: Progress = _quiet) -> tuple[Path, Path]:
    """build/images/wheels/{deps,tinykube}: rebuilt only when their inputs change.

    The wheels are built by this Python, which must be the image's minor version
    (3.11, Debian bookworm's) for compiled dependencies to fit."""
    if sys.version_info[:2] != (3, 11):
        raise ImageBuildError(f"building the image's wheels needs Python 3.11 (Debian bookworm's); "
                              f"this is {sys.version.split()[0]}")
    deps_dir, own_dir = BUILD_DIR / "wheels" / "deps", BUILD_DIR / "wheels" / "tinykube"
    requirements = "\n".join(dependencies()) + "\n"
    deps_stamp = hashlib.sha256(requirements.encode()).hexdigest()
    if _stamp(deps_dir) != deps_stamp:
        progress("building dependency wheels (pip wheel)")
        fresh = _fresh_dir(deps_dir)
        (fresh / "requirements.txt").write_text(requirements)
        _pip("wheel", "--quiet", "--wheel-dir", str(fresh), "-r", str(fresh / "requirements.txt"))
        _commit_dir(fresh, deps_dir, deps_stamp)
    own_stamp = _tree_digest(source_files())
    if _stamp(own_dir) != own_stamp:
        progress("building the tinykube wheel")
        fresh = _fresh_dir(own_dir)
        with tempfile.TemporaryDirectory(prefix="wheel-src-") as source:
            # A copy, so setuptools' build/ and egg-info never land in the checkout.
            for path in source_files():
                target = Path(source) / path.relative_to(PROJECT_DIR)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
            _pip("wheel", "--quiet", "--no-deps", "--wheel-dir", str(fresh), source)
        _commit_dir(fresh, own_dir, own_stamp)
    return deps_dir, own_dir


def _stamp(directory: Path) -> str | None:
    try:
        return (directory / ".stamp").read_text().strip()
    except OSError:
        return None


def _fresh_dir(directory: Path) -> Path:
    fresh = directory.with_name(directory.name + ".new")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    return fresh


def _commit_dir(fresh: Path, directory: Path, stamp: str) -> None:
    """The stamp is written last, and the directory swapped in whole: an interrupted
    build never leaves a stamped half."""
    (fresh / ".stamp").write_text(stamp + "\n")
    shutil.rmtree(directory, ignore_errors=True)
    fresh.rename(directory)


# --- the tinykube image ----------------------------------------------------------

REGISTRY_PACKAGE = "docker-registry"


def registry_deb(progress: Progress = _quiet) -> Path:
    """Debian's docker-registry .deb, downloaded once into build/images/debs."""
    directory = BUILD_DIR / "debs"
    found = sorted(directory.glob(f"{REGISTRY_PACKAGE}_*.deb"))
    if found:
        return found[-1]
    if shutil.which("apt-get") is None:
        raise ImageBuildError(f"apt-get is missing: the image needs Debian's {REGISTRY_PACKAGE} package")
    directory.mkdir(parents=True, exist_ok=True)
    progress(f"downloading Debian's {REGISTRY_PACKAGE} package (apt-get download)")
    result = subprocess.run(["apt-get", "download", REGISTRY_PACKAGE], cwd=directory, capture_output=True, text=True)
    found = sorted(directory.glob(f"{REGISTRY_PACKAGE}_*.deb"))
    if result.returncode != 0 or not found:
        raise ImageBuildError(f"apt-get download {REGISTRY_PACKAGE} failed: {result.stderr.strip()[-500:]}")
    return found[-1]


def tinykube_context(deps_dir: Path, own_dir: Path, extra_ca_dir: Path | None) -> tuple[bytes, str]:
    here = IMAGES_DIR / "tinykube"
    files: dict[str, bytes | Path] = {p.name: p for p in here.iterdir() if p.is_file()}
    for directory, prefix in ((deps_dir, "wheels/deps"), (own_dir, "wheels/tinykube")):
        for path in directory.iterdir():
            if path.name != ".stamp":
                files[f"{prefix}/{path.name}"] = path
    from tinykube.cluster.registry import registry_config  # registry.py imports this module
    files["docker-registry.deb"] = registry_deb()
    files["registry.yml"] = registry_config("/var/lib/docker-registry").encode()
    files["extra-ca/README"] = b"CA certificates (*.crt) added with --extra-ca-certs land here.\n"
    if extra_ca_dir is not None:
        certificates = sorted(extra_ca_dir.glob("*.crt")) if extra_ca_dir.is_dir() else [extra_ca_dir]
        if not certificates or not all(p.is_file() for p in certificates):
            raise ImageBuildError(f"--extra-ca-certs {extra_ca_dir}: no *.crt file there")
        for path in certificates:
            files[f"extra-ca/{path.name}"] = path
    return tar_context(files)


def build_tinykube_image(endpoint: str | None = None, extra_ca_dir: Path | None = None,
                         progress: Progress = _quiet) -> bool:
    """Make sure tinykube/tinykube:latest is current; True when it was built now."""
    with engine_client(endpoint or engine_endpoint(), timeout_seconds=900.0) as client:
        base = ensure_base_image(client, progress)
        deps_dir, own_dir = ensure_wheels(progress)
        context, digest = tinykube_context(deps_dir, own_dir, extra_ca_dir)
        return build_on_base(client, TINYKUBE_IMAGE, base, context, digest, progress)


def build_on_base(client: httpx.Client, tag: str, base: str, context: bytes, context_digest: str,
                  progress: Progress = _quiet) -> bool:
    """Build `tag` FROM `base` unless it is current (its digest covers the base's id too)."""
    base_id = client.get(f"/images/{base}/json").json()["Id"]
    digest = hashlib.sha256((context_digest + base_id).encode()).hexdigest()
    if image_digest_label(client, tag) == digest:
        return False
    progress(f"building {tag} on {base}")
    build_image(client, tag, context, digest, {"BASE": base}, progress)
    return True


def build_redis_image(endpoint: str | None = None, progress: Progress = _quiet) -> bool:
    """Make sure tinykube/redis:1 is current (on the same base); True when it was built now."""
    with engine_client(endpoint or engine_endpoint(), timeout_seconds=900.0) as client:
        base = ensure_base_image(client, progress)
        files: dict[str, bytes | Path] = {p.name: p for p in sorted((SAMPLE_IMAGES_DIR / "redis").iterdir())}
        context, digest = tar_context(files)
        return build_on_base(client, REDIS_IMAGE, base, context, digest, progress)


def main() -> None:
    for tag, was_built in build_sample_images(progress=print).items():
        print(f"{tag}: {'built' if was_built else 'up to date'}")
    built = build_tinykube_image(progress=print)
    print(f"{TINYKUBE_IMAGE}: {'built' if built else 'up to date'}")
    print(f"{REDIS_IMAGE}: {'built' if build_redis_image(progress=print) else 'up to date'}")


if __name__ == "__main__":
    main()
