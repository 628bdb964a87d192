"""The one-command cluster: the compose project of docker-compose.yml, driven for the user.

`up` builds what is missing (tinykube.cluster.images), starts the project, writes
./kubeconfig, loads the sample images into every node's engine, and waits with a
live display until every node is Ready. `down` stops it (state stays in volumes
unless `--volumes`). `status` summarizes containers and nodes. `load-image`
pushes host images to the cluster registry (registry.py) and copies them into
every node (like `kind load docker-image`); `images` lists the registry. `node add`
and `node remove` change the number of workers: added nodes live in
var/<project>/nodes.yml, a second compose file of the same project.

Both `docker compose` (v2) and `docker-compose` (1.29) work; the project is
named `tinykube` (or $TINYKUBE_PROJECT, for a second cluster beside it: the tests
use one), so containers and volumes are found whichever is used. The API server's
host port is 6443 or $TINYKUBE_API_PORT.

Kubernetes counterpart: kind (sigs.k8s.io/kind/pkg/cluster), hack/local-up-cluster.sh
"""

from __future__ import annotations

import base64
import concurrent.futures
import copy
import datetime
import errno
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from tinykube.cluster import ha, images, network, registry
from tinykube.cluster.engine import DockerUnavailable, ensure_docker, engine_client, engine_endpoint

PROJECT = os.environ.get("TINYKUBE_PROJECT", "tinykube")
PROJECT_DIR = images.PROJECT_DIR
COMPOSE_FILE = PROJECT_DIR / "docker-compose.yml"
STATE_DIR = PROJECT_DIR / "var" / PROJECT
NODES_FILE = STATE_DIR / "nodes.yml"
SUBNET_FILE = STATE_DIR / "subnet"  # the network's subnet, kept across down/up (network.py)
# The HA topology (`up --control-planes N`), generated from COMPOSE_FILE (ha.py); while
# it exists it replaces COMPOSE_FILE for this project.
HA_FILE = STATE_DIR / "control-planes.yml"
KUBECONFIG_FILE = PROJECT_DIR / "kubeconfig" if PROJECT == "tinykube" else STATE_DIR / "kubeconfig"
NODE_ROLE_LABEL = "io.tinykube.role"
# What every node's engine gets: the sample images, and the tinykube image for the
# add-ons that run as pods (cluster DNS, the Ingress controller).
NODE_IMAGES = [*images.SAMPLE_IMAGES, images.TINYKUBE_IMAGE, images.REDIS_IMAGE]
ADDONS_DIR = Path(__file__).resolve().parent / "addons"
# The pod network and the Service range (docker-compose.yml, the API server's default).
CLUSTER_RANGES = ("10.244.0.0/16", "10.96.0.0/16")
READY_TIMEOUT_SECONDS = float(os.environ.get("TINYKUBE_READY_TIMEOUT", "180"))

Say = Callable[[str], None]


class ClusterError(RuntimeError):
    """Something the user must fix; the message says what (printed as one line or a few)."""


def api_port() -> int:
    return int(os.environ.get("TINYKUBE_API_PORT", "6443"))


# --- compose ---------------------------------------------------------------------

def compose_command() -> list[str]:
    """`docker compose` when the v2 plugin is there, else `docker-compose`."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy:
        return [legacy]
    raise ClusterError("neither `docker compose` nor `docker-compose` is installed: run `make install` "
                       "(deploy/prereqs.sh installs docker-compose from the distro)")


def compose_files() -> list[Path]:
    base = HA_FILE if HA_FILE.exists() else COMPOSE_FILE
    return [base] + ([NODES_FILE] if NODES_FILE.exists() else [])


def compose(*args: str) -> subprocess.CompletedProcess[str]:
    command = compose_command() + ["-p", PROJECT, "--project-directory", str(PROJECT_DIR)]
    for path in compose_files():
        command += ["-f", str(path)]
    saved = network.load_saved(SUBNET_FILE)
    subnet_env = network.compose_environment(saved) if saved is not None else {}
    result = subprocess.run(command + list(args), text=True, cwd=PROJECT_DIR, capture_output=True,
                            env={**os.environ, "TINYKUBE_NETWORK": PROJECT, **subnet_env})
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip().splitlines()
        errors = [line for line in output if "error" in line.lower()] or output
        raise ClusterError(f"`{' '.join(command[:2])} {' '.join(args)}` failed: "
                           + "\n  ".join(errors[-6:]))
    return result


def container_id(service: str) -> str | None:
    found = compose("ps", "-q", service).stdout.strip()
    return found.splitlines()[0] if found else None


def compose_services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = {}
    for path in compose_files():
        services.update(yaml.safe_load(path.read_text()).get("services") or {})
    return services


def node_names() -> list[str]:
    """Worker node services, node-1 first."""
    nodes = [name for name, service in compose_services().items()
             if (service.get("labels") or {}).get(NODE_ROLE_LABEL) == "node"]
    return sorted(nodes, key=lambda name: (len(name), name))


def base_node_names() -> set[str]:
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    return {n for n, s in services.items() if (s.get("labels") or {}).get(NODE_ROLE_LABEL) == "node"}


# --- checks before anything starts -----------------------------------------------

def check_engine(say: Say) -> None:
    try:
        daemon = ensure_docker()
    except DockerUnavailable as err:
        raise ClusterError(f"no Docker engine: {err}") from None
    if daemon.started_by_us:
        say(f"started dockerd (pid {daemon.process.pid}, log {daemon.log_path})")  # type: ignore[union-attr]


def check_port_free(port: int) -> None:
    """The API server's host port, unless our own API server already holds it."""
    if container_running("apiserver"):
        return
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as err:
            if err.errno != errno.EADDRINUSE:
                raise
            raise ClusterError(f"port {port} on 127.0.0.1 is already in use by another program: stop it, "
                               f"or pick another port with TINYKUBE_API_PORT={port + 1} tinykube up") from None


def container_started_at(service: str) -> float:
    """When the service's container last started (epoch seconds; 0 if it has none)."""
    cid = container_id(service)
    if cid is None:
        return 0.0
    with engine_client(engine_endpoint()) as client:
        found = client.get(f"/containers/{cid}/json")
    if found.status_code != 200:
        return 0.0
    # Docker gives nanoseconds ("2026-11-26T06:47:08.123456789Z"): seconds are enough.
    return _epoch(found.json()["State"]["StartedAt"].split(".")[0] + "Z")


def container_running(service: str) -> bool:
    cid = container_id(service)
    if cid is None:
        return False
    with engine_client(engine_endpoint()) as client:
        found = client.get(f"/containers/{cid}/json")
        return found.status_code == 200 and bool(found.json()["State"]["Running"])


def protect_cluster_ranges(say: Say) -> None:
    """`unreachable` routes for the pod and service CIDRs on this host when its default
    route leads off the machine (DESIGN.md §3): the nodes' default route is this
    host, so a stray packet for a cluster address dies here instead of leaving."""
    ip = shutil.which("ip")
    if ip is None or not subprocess.run([ip, "-4", "route", "show", "default"], capture_output=True,
                                        text=True).stdout.strip():
        return
    for cidr in CLUSTER_RANGES:
        if "unreachable" in subprocess.run([ip, "-4", "route", "show", cidr], capture_output=True,
                                           text=True).stdout:
            continue
        added = subprocess.run([ip, "-4", "route", "replace", "unreachable", cidr], capture_output=True, text=True)
        if added.returncode != 0:
            say(f"warning: could not add `unreachable {cidr}` on this host: {added.stderr.strip()}")


# --- the API ----------------------------------------------------------------------

@dataclass
class AdminAccess:
    server: str
    token: str
    ca_pem: bytes

    @classmethod
    def from_kubeconfig(cls, path: Path) -> AdminAccess:
        config = yaml.safe_load(path.read_text())
        cluster, user = config["clusters"][0]["cluster"], config["users"][0]["user"]
        return cls(cluster["server"], user["token"], base64.b64decode(cluster["certificate-authority-data"]))

    def client(self) -> httpx.Client:
        context = ssl.create_default_context(cadata=self.ca_pem.decode())
        # Generous: on a busy 2-core machine a just-started API server answers slowly.
        return httpx.Client(base_url=self.server, verify=context, timeout=30.0,
                            headers={"Authorization": f"Bearer {self.token}"})


def write_kubeconfig() -> AdminAccess:
    """./kubeconfig for the host (never ~/.kube/config), from the API server's container."""
    deadline = time.monotonic() + 60
    while True:
        try:
            text = compose("exec", "-T", "apiserver", "python", "-m", "tinykube.cluster.bootstrap",
                           "kubeconfig", "--server", f"https://127.0.0.1:{api_port()}").stdout
            break
        except ClusterError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    KUBECONFIG_FILE.parent.mkdir(parents=True, exist_ok=True)
    KUBECONFIG_FILE.write_text(text)
    KUBECONFIG_FILE.chmod(0o600)
    return AdminAccess.from_kubeconfig(KUBECONFIG_FILE)


def node_states(access: AdminAccess, since: dict[str, float] | None = None) -> dict[str, str]:
    """{node name: Ready | NotReady | Unknown} as the API server sees it. A Ready
    whose last heartbeat is older than `since[name]` (epoch seconds: when the node's
    container started) counts as Unknown: after `down` and `up`, etcd still holds
    the Ready of the node's previous life until its kubelet reports again."""
    with access.client() as client:
        response = client.get("/api/v1/nodes")
        response.raise_for_status()
    states = {}
    for node in response.json()["items"]:
        ready = next((c for c in (node.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"), None)
        state = {"True": "Ready", "False": "NotReady"}.get((ready or {}).get("status", ""), "Unknown")
        heartbeat = (ready or {}).get("lastHeartbeatTime")
        started = (since or {}).get(node["metadata"]["name"], 0.0)
        if state == "Ready" and (not heartbeat or _epoch(heartbeat) < int(started)):
            state = "Unknown"
        states[node["metadata"]["name"]] = state
    return states


def _epoch(timestamp: str) -> float:
    return datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def wait_nodes_ready(access: AdminAccess, names: list[str], say: Say,
                     timeout_seconds: float = READY_TIMEOUT_SECONDS) -> None:
    """A live line per change (or one rewritten line on a terminal) until all are Ready."""
    started = time.monotonic()
    since = {name: container_started_at(name) for name in names}
    live = sys.stdout.isatty()
    shown = ""
    while True:
        try:
            states = node_states(access, since)
        except httpx.HTTPError:
            states = {}
        line = "  nodes: " + ", ".join(f"{n} {states.get(n, 'not registered')}" for n in names)
        if live:
            print(f"\r{line} ({time.monotonic() - started:.0f}s)\033[K", end="", flush=True)
        elif line != shown:
            say(line)
        shown = line
        if all(states.get(n) == "Ready" for n in names):
            if live:
                print()
            return
        if time.monotonic() - started > timeout_seconds:
            if live:
                print()
            raise ClusterError(f"nodes not Ready after {timeout_seconds:.0f}s ({line.strip()}); "
                               "see `docker logs` of the node containers (tinykube status lists them)")
        time.sleep(0.5)


def apply_addons(access: AdminAccess, say: Say) -> None:
    """Server-side apply of every manifest in addons/ (field manager tinykube-up), so
    a newer tinykube updates them and a user's own fields elsewhere stay."""
    with access.client() as client:
        for path in sorted(ADDONS_DIR.glob("*.yaml")):
            for document in yaml.safe_load_all(path.read_text()):
                prefix, plural = ADDON_API_PATHS[document["kind"]]
                meta = document["metadata"]
                scope = f"/namespaces/{meta['namespace']}" if meta.get("namespace") else ""
                url = f"{prefix}{scope}/{plural}/{meta['name']}"
                response = client.patch(url, params={"fieldManager": "tinykube-up", "force": "true"},
                                        content=yaml.safe_dump(document),
                                        headers={"Content-Type": "application/apply-patch+yaml"})
                if response.status_code >= 400:
                    raise ClusterError(f"applying add-on {path.name} {document['kind']}/{meta['name']}: "
                                       f"{response.json().get('message', response.text)}")


# Where each kind the add-ons use lives in the API.
ADDON_API_PATHS = {"Service": ("/api/v1", "services"), "ConfigMap": ("/api/v1", "configmaps"),
                   "Secret": ("/api/v1", "secrets"), "Deployment": ("/apis/apps/v1", "deployments"),
                   "IngressClass": ("/apis/networking.k8s.io/v1", "ingressclasses"),
                   "StorageClass": ("/apis/storage.k8s.io/v1", "storageclasses"),
                   "ServiceAccount": ("/api/v1", "serviceaccounts"),
                   "ClusterRole": ("/apis/rbac.authorization.k8s.io/v1", "clusterroles"),
                   "ClusterRoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings")}


def wait_addons_ready(access: AdminAccess, say: Say, timeout_seconds: float = READY_TIMEOUT_SECONDS) -> None:
    """Until every add-on Deployment has at least one ready replica."""
    names = [(d["metadata"]["namespace"], d["metadata"]["name"]) for path in sorted(ADDONS_DIR.glob("*.yaml"))
             for d in yaml.safe_load_all(path.read_text()) if d["kind"] == "Deployment"]
    deadline = time.monotonic() + timeout_seconds
    shown = ""
    while True:
        states = {}
        with access.client() as client:
            for namespace, name in names:
                found = client.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
                status = found.json().get("status", {}) if found.status_code == 200 else {}
                wanted = (found.json().get("spec") or {}).get("replicas", 1) if found.status_code == 200 else 1
                states[name] = (int(status.get("readyReplicas") or 0), int(wanted))
        line = "  add-ons: " + ", ".join(f"{n} {ready}/{wanted} ready" for n, (ready, wanted) in states.items())
        if line != shown:
            say(line)
            shown = line
        if all(ready > 0 for ready, _ in states.values()):
            return
        if time.monotonic() > deadline:
            raise ClusterError(f"add-ons not ready after {timeout_seconds:.0f}s ({line.strip()}); "
                               "see `tinykube get pods -n kube-system`")
        time.sleep(0.5)


# --- images into nodes ---------------------------------------------------------------

def _docker() -> str:
    docker = shutil.which("docker")
    if docker is None:
        raise ClusterError("the docker command is not installed (deploy/prereqs.sh installs docker.io)")
    return docker


def wait_node_engine(cid: str, timeout_seconds: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_seconds
    while subprocess.run([_docker(), "exec", cid, "docker", "info"], capture_output=True).returncode != 0:
        if time.monotonic() > deadline:
            raise ClusterError(f"the Docker engine in node container {cid[:12]} did not answer in "
                               f"{timeout_seconds:.0f}s (docker logs {cid[:12]})")
        time.sleep(0.2)


def host_image_ids(tags: list[str]) -> dict[str, str]:
    with engine_client(engine_endpoint()) as client:
        ids = {}
        for tag in tags:
            found = client.get(f"/images/{tag}/json")
            if found.status_code != 200:
                raise ClusterError(f"image {tag} is not in the host's Docker engine (docker images)")
            ids[tag] = found.json()["Id"]
        return ids


def load_images(tags: list[str], nodes: list[str], say: Say) -> None:
    """Copy host images into each node's engine, skipping those already there; the
    nodes are served in parallel."""
    wanted = host_image_ids(tags)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
        for future in [pool.submit(_load_into_node, node, tags, wanted, say) for node in nodes]:
            future.result()


def _load_into_node(node: str, tags: list[str], wanted: dict[str, str], say: Say) -> None:
    """`docker save` on the host piped into `docker load` in the node's engine."""
    cid = container_id(node)
    if cid is None:
        raise ClusterError(f"node {node} has no container: is the cluster up? (tinykube status)")
    wait_node_engine(cid)
    present = subprocess.run([_docker(), "exec", cid, "docker", "image", "inspect", "-f", "{{.Id}}", *tags],
                             capture_output=True, text=True).stdout.split()
    missing = [tag for tag in tags if wanted[tag] not in present]
    if not missing:
        return
    say(f"loading {', '.join(missing)} into {node}")
    save = subprocess.Popen([_docker(), "save", *missing], stdout=subprocess.PIPE)
    loaded = subprocess.run([_docker(), "exec", "-i", cid, "docker", "load", "-q"], stdin=save.stdout,
                            capture_output=True, text=True)
    save.wait()
    if save.returncode != 0 or loaded.returncode != 0:
        raise ClusterError(f"loading {', '.join(missing)} into {node} failed: {loaded.stderr.strip()}")


# --- the commands ----------------------------------------------------------------

def up(say: Say = print, extra_ca_dir: Path | None = None, control_planes: int | None = None) -> None:
    started = time.monotonic()
    check_engine(say)
    compose_command()
    choose_topology(control_planes)
    check_port_free(api_port())
    protect_cluster_ranges(say)
    say("images:")
    built = any(images.build_sample_images(progress=lambda line: say(f"  {line}")).values())
    built |= images.build_tinykube_image(extra_ca_dir=extra_ca_dir, progress=lambda line: say(f"  {line}"))
    built |= images.build_redis_image(progress=lambda line: say(f"  {line}"))
    built |= registry.build_nginx_compat_image(progress=lambda line: say(f"  {line}"))
    verify_image(images.TINYKUBE_IMAGE)
    if not built:
        say("  up to date")
    choose_network_subnet()
    say(f"starting etcd, the control plane and the nodes (compose project '{PROJECT}')")
    compose("up", "-d", "--remove-orphans")
    access = write_kubeconfig()
    nodes = node_names()
    load_images(NODE_IMAGES, nodes, say)
    say(f"filling the cluster registry ({registry.CLUSTER_REGISTRY}, 127.0.0.1:{registry.host_port()} here)")
    push_to_registry(registry.push_cluster_images, say)
    wait_nodes_ready(access, nodes, say)
    apply_addons(access, say)
    wait_addons_ready(access, say)
    say(f"""
tinykube is up in {time.monotonic() - started:.0f}s: API server {access.server}, nodes {', '.join(nodes)}.
The kubeconfig is {KUBECONFIG_FILE} (your ~/.kube/config is left alone). Next:

  export KUBECONFIG={KUBECONFIG_FILE}
  tinykube get nodes                        # or kubectl, the same
  tinykube apply -f examples/web-app.yaml
  tinykube get pods -n web-demo -o wide

`tinykube status` shows the cluster, `tinykube down` stops it (objects survive).""")


def choose_topology(control_planes: int | None) -> None:
    """Keep the project's topology (regenerating the HA file, so edits of
    docker-compose.yml reach it), or start one; switching needs `down --volumes`
    first: etcd's data does not move between the topologies."""
    current = ha.control_plane_count(HA_FILE)
    wanted = current if control_planes is None else control_planes
    if wanted < 1:
        raise ClusterError("--control-planes must be at least 1")
    if wanted != current and (_has_container("etcd") or _has_container("cp-1")):
        raise ClusterError(f"this cluster has {current} control plane(s); to change to {wanted}, "
                           "`tinykube down --volumes` first (etcd's data does not carry over)")
    if wanted == 1:
        HA_FILE.unlink(missing_ok=True)
    else:
        ha.write_ha_file(HA_FILE, COMPOSE_FILE, wanted, token=PROJECT)


def _has_container(service: str) -> bool:
    """A container of this project's `service` exists (running or not), in either topology."""
    labels = [f"com.docker.compose.project={PROJECT}", f"com.docker.compose.service={service}"]
    with engine_client(engine_endpoint()) as client:
        found = client.get("/containers/json", params={"all": "1", "filters": json.dumps({"label": labels})})
        found.raise_for_status()
        return bool(found.json())


def choose_network_subnet() -> None:
    """Keep the saved subnet of the cluster network, or pick a free one (network.py)."""
    with engine_client(engine_endpoint()) as client:
        in_use = network.docker_subnets(client, except_network=PROJECT) + network.host_routes()
    chosen = network.choose_subnet(network.load_saved(SUBNET_FILE), in_use)
    SUBNET_FILE.parent.mkdir(parents=True, exist_ok=True)
    SUBNET_FILE.write_text(f"{chosen}\n")


def verify_image(tag: str) -> None:
    """One container of the image must import every component: an image left half-built
    (an interrupted or hand-made build under our tag) is stopped here with a clear
    message instead of failing later inside compose. Checked once per image ID."""
    image_id = host_image_ids([tag])[tag]
    stamp = images.BUILD_DIR / "verified" / image_id.replace(":", "-")
    if stamp.exists():
        return
    check = subprocess.run([_docker(), "run", "--rm", "--entrypoint", "python", tag, "-c",
                            "import apiserver, controller_manager, scheduler, kubelet, tinykube.cluster.bootstrap"],
                           capture_output=True, text=True)
    if check.returncode != 0:
        reason = (check.stderr.strip().splitlines() or ["it does not run"])[-1]
        raise ClusterError(f"image {tag} ({image_id[7:19]}) is incomplete: {reason}. "
                           f"Remove it (docker rmi {tag}) and run `tinykube up` again to rebuild it")
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.touch()


def down(volumes: bool, say: Say = print) -> None:
    compose_command()
    remove_load_balancers()
    args = ["down", "--remove-orphans"] + (["--volumes"] if volumes else [])
    compose(*args)
    if volumes:
        HA_FILE.unlink(missing_ok=True)  # the next `up` starts from the default topology
    say("tinykube is down" + (" and its volumes are removed (etcd, node engines, tokens)" if volumes
                              else "; etcd's data and the nodes' engines stay in volumes for the next up"))


def remove_load_balancers() -> None:
    """The cloud controller's load balancer containers on this project's network: they
    are not compose's, and the network cannot go while they are on it."""
    with engine_client(engine_endpoint(), timeout_seconds=60.0) as client:
        found = client.get("/containers/json", params={
            "all": "1", "filters": json.dumps({"label": [f"io.tinykube.network={PROJECT}"]})})
        found.raise_for_status()
        for container in found.json():
            client.delete(f"/containers/{container['Id']}", params={"force": "1"})


def status(say: Say = print) -> int:
    """Containers and nodes; 0 when every container runs and every node is Ready."""
    compose_command()
    healthy = True
    say("containers:")
    services = compose_services()
    width = max((len(service) for service in services), default=0) + 1
    with engine_client(engine_endpoint()) as client:
        for service in services:
            cid = container_id(service)
            state = "not created"
            if cid:
                info = client.get(f"/containers/{cid}/json").json()["State"]
                state = info["Status"] + (f" ({info['Health']['Status']})" if info.get("Health") else "")
                if services[service].get("restart") == "no" and state == "exited" and info["ExitCode"] == 0:
                    state = "completed"  # a one-shot step (the HA topology's control-plane-init)
            healthy &= state.startswith(("running", "completed"))
            say(f"  {service:<{width}} {state}")
    if not KUBECONFIG_FILE.exists() or not container_running("apiserver"):
        say("API server: not running")
        return 1
    access = AdminAccess.from_kubeconfig(KUBECONFIG_FILE)
    try:
        states = node_states(access)
        with access.client() as client:
            pods = client.get("/api/v1/pods").json()["items"]
    except httpx.HTTPError as err:
        say(f"API server {access.server}: not answering ({err})")
        return 1
    say(f"API server {access.server}: ready\nnodes:")
    width = max((len(name) for name in states), default=0) + 1
    for name, state in sorted(states.items()):
        count = sum(1 for p in pods if (p.get("spec") or {}).get("nodeName") == name)
        say(f"  {name:<{width}} {state:<9} {count} pods")
        healthy &= state == "Ready"
    return 0 if healthy else 1


def push_to_registry(pushing: Callable[[Callable[[str], None]], None], say: Say) -> None:
    try:
        pushing(lambda line: say(f"  {line}"))
    except registry.RegistryError as err:
        raise ClusterError(str(err)) from None


def load_image(tags: list[str], say: Say = print) -> None:
    """Into the cluster registry (so nodes added later pull them), and straight into
    every node's engine (faster than each node pulling)."""
    compose_command()
    hub_names = [tag for tag in tags if registry.image_registry(tag)[0] == registry.DOCKER_HUB]
    if hub_names:
        push_to_registry(lambda progress: registry.push({tag: tag for tag in hub_names}, progress), say)
    load_images(tags, node_names(), say)


def list_images(say: Say = print) -> None:
    """What the cluster registry holds, one `repository:tag` a line."""
    try:
        held = registry.catalog()
    except registry.RegistryError as err:
        raise ClusterError(str(err)) from None
    for repository, tags in sorted(held.items()):
        for tag in tags:
            say(f"{repository}:{tag}")


def node_add(count: int, say: Say = print) -> list[str]:
    base = yaml.safe_load(COMPOSE_FILE.read_text())
    template_name = sorted(base_node_names())[0]
    template = base["services"][template_name]
    extra = yaml.safe_load(NODES_FILE.read_text()) if NODES_FILE.exists() else {"services": {}, "volumes": {}}
    existing = node_names()
    numbers = [int(n.rsplit("-", 1)[1]) for n in existing if n.rsplit("-", 1)[-1].isdigit()]
    added = [f"node-{max(numbers, default=0) + i}" for i in range(1, count + 1)]
    for name in added:
        service = copy.deepcopy(template)
        service["hostname"] = name
        service["environment"] = {**(service.get("environment") or {}), "NODE_NAME": name}
        # Keep the shared volumes (node-config: the CA and bootstrap kubeconfig), not the template's own.
        service["volumes"] = [v for v in service["volumes"] if not v.startswith(f"{template_name}-")] + [
            f"{name}-docker:/var/lib/docker", f"{name}-kubelet:/var/lib/kubelet"]
        extra["services"][name] = service
        extra["volumes"].update({f"{name}-docker": None, f"{name}-kubelet": None})
    _write_nodes_file(extra)
    access = AdminAccess.from_kubeconfig(KUBECONFIG_FILE)
    compose("up", "-d", *added)
    load_images(NODE_IMAGES, added, say)
    wait_nodes_ready(access, added, say)
    return added


def node_remove(name: str, say: Say = print) -> None:
    if name in base_node_names():
        raise ClusterError(f"{name} is part of docker-compose.yml; only nodes added with "
                           "`tinykube node add` can be removed")
    extra = yaml.safe_load(NODES_FILE.read_text()) if NODES_FILE.exists() else {"services": {}}
    if name not in extra["services"]:
        raise ClusterError(f"no node {name} (nodes: {', '.join(node_names())})")
    compose("rm", "--stop", "--force", "-v", name)
    for volume in (f"{name}-docker", f"{name}-kubelet"):
        subprocess.run([_docker(), "volume", "rm", f"{PROJECT}_{volume}"], capture_output=True)
        extra["volumes"].pop(volume, None)
    del extra["services"][name]
    _write_nodes_file(extra)
    # The Node object goes too; the pod GC then deletes its pods and their owners
    # make replacements on the remaining nodes.
    with AdminAccess.from_kubeconfig(KUBECONFIG_FILE).client() as client:
        response = client.delete(f"/api/v1/nodes/{name}")
        if response.status_code not in (200, 404):
            raise ClusterError(f"deleting Node {name}: {response.text}")
    say(f"node {name} removed")


def _write_nodes_file(extra: dict[str, Any]) -> None:
    if not extra["services"]:
        NODES_FILE.unlink(missing_ok=True)
        return
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=STATE_DIR, delete=False) as handle:
        handle.write(f"# Nodes added with `tinykube node add` (a second compose file of project {PROJECT}).\n")
        yaml.safe_dump(extra, handle, sort_keys=False)
    os.replace(handle.name, NODES_FILE)
