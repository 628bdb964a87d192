"""Cluster bring-up benchmark: `tinykube up` cold and warm, to every node Ready, next
to `docker run` of one node container in the same run.

1. baseline: `docker run -d` of one node container (the tinykube image with the
   node options of docker-compose.yml), and the time until the Docker engine inside
   it answers; the container is removed again.
2. cold: every tinykube image removed and build/images wiped (as on a fresh clone;
   pip's own download cache stays), then `tinykube up`: debootstrap base, wheels,
   images, compose, sample images into the nodes, all nodes Ready.
3. warm: `tinykube down`, then `tinykube up` again: nothing to build.

The cluster is a compose project of its own (TINYKUBE_PROJECT=tinykube-bench, a
free API port) and is removed with its volumes at the end. A measurement, not a
test: the targets (warm < 20 s, cold < 4 min) are printed beside the figures and
the script exits 0 either way. It refuses to run while another tinykube cluster
uses the images (removing them is part of the cold start).

Kubernetes counterpart: kind's `create cluster` timing (sigs.k8s.io/kind)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tinykube.cluster.engine import ensure_docker  # noqa: E402
from tinykube.cluster.images import (  # noqa: E402
    BUILD_DIR,
    DEBOOTSTRAP_BASE_IMAGE,
    SAMPLE_IMAGES,
    TINYKUBE_IMAGE,
    build_tinykube_image,
)
from tinykube.testing.processes import REPO_ROOT, free_port  # noqa: E402

PROJECT = "tinykube-bench"
TINYKUBE = str(Path(sys.executable).with_name("tinykube"))
TARGET_WARM_SECONDS = 20.0
TARGET_COLD_SECONDS = 240.0
NODE_OPTIONS = ["--init", "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
                "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
                "--device-cgroup-rule", "a *:* rwm", "-v", "/var/lib/docker"]


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["docker", *args], text=True, capture_output=True)
    if check and result.returncode != 0:
        sys.exit(f"docker {' '.join(args[:2])} failed: {result.stderr.strip()}")
    return result


def baseline_node_container() -> tuple[float, float]:
    """(seconds for `docker run -d`, seconds until the inner engine answers)."""
    name = f"tinykube-bench-node-{os.getpid()}"
    started = time.perf_counter()
    docker("run", "-d", "--name", name, *NODE_OPTIONS, TINYKUBE_IMAGE, "tinykube-node")
    ran = time.perf_counter() - started
    try:
        while docker("exec", name, "docker", "info", check=False).returncode != 0:
            time.sleep(0.05)
        return ran, time.perf_counter() - started
    finally:
        docker("rm", "-f", "-v", name)


def timed_up(env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run([TINYKUBE, "up"], cwd=REPO_ROOT, env=env, text=True, capture_output=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"tinykube up failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-wheels", action="store_true", help="cold start without wiping build/images")
    args = parser.parse_args()
    ensure_docker()
    users = docker("ps", "-aq", "--filter", f"ancestor={TINYKUBE_IMAGE}", check=False).stdout.split()
    if users:
        sys.exit(f"{len(users)} containers use {TINYKUBE_IMAGE}: `tinykube down` first (the cold start removes it)")
    env = {**os.environ, "TINYKUBE_PROJECT": PROJECT, "TINYKUBE_API_PORT": str(free_port())}
    env.pop("KUBECONFIG", None)
    subprocess.run([TINYKUBE, "down", "--volumes"], cwd=REPO_ROOT, env=env, capture_output=True)

    for tag in (TINYKUBE_IMAGE, DEBOOTSTRAP_BASE_IMAGE, *SAMPLE_IMAGES):
        docker("rmi", tag, check=False)
    if not args.keep_wheels:
        shutil.rmtree(BUILD_DIR, ignore_errors=True)
    try:
        cold = timed_up(env)
        subprocess.run([TINYKUBE, "down"], cwd=REPO_ROOT, env=env, capture_output=True, check=True)
        warm = timed_up(env)
    finally:
        subprocess.run([TINYKUBE, "down", "--volumes"], cwd=REPO_ROOT, env=env, capture_output=True)
    build_tinykube_image()  # unchanged inputs: a no-op, but makes sure the image is there for the baseline
    ran, engine = baseline_node_container()

    print(f"\n{'':38}{'seconds':>9}  target")
    print(f"{'docker run -d of one node container':38}{ran:9.2f}")
    print(f"{'  ... until its Docker engine answers':38}{engine:9.2f}")
    print(f"{'tinykube up, cold (builds every image)':38}{cold:9.1f}  < {TARGET_COLD_SECONDS:.0f}"
          f"  {'met' if cold < TARGET_COLD_SECONDS else 'MISSED'}")
    print(f"{'tinykube up, warm (after down)':38}{warm:9.1f}  < {TARGET_WARM_SECONDS:.0f}"
          f"  {'met' if warm < TARGET_WARM_SECONDS else 'MISSED'}")
    print(f"{'warm up / node container engine':38}{warm / engine:9.1f}x")
    print("(both up figures run to every node Ready, with 2 nodes)")


if __name__ == "__main__":
    main()
