"""Lab hosts: a control-plane host and two workers joined by the documented procedure
(deploy/lab/README.md), each host simulated by a container of the tinykube image on
a Docker network of its own.

The hosts start bare (`tinykube-node --machine-only`: only the remounts a container
needs to act as a machine); then, exactly as on VMs:

    control plane:  tinykube init --advertise-address IP
    each worker:    tinykube join --server https://IP:6443 --token T --ca-cert-hash sha256:H

The control-plane host's engine is given the tinykube and busybox images first (as a
lab host that built them would have), so `init` fills the cluster registry; the
workers then pull the add-ons' image and `nginx` from it.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tinykube.cluster.compose import protect_cluster_ranges
from tinykube.cluster.engine import DockerDaemon
from tinykube.cluster.images import BUSYBOX_IMAGE, ECHO_IMAGE, TINYKUBE_IMAGE, build_tinykube_image

pytestmark = pytest.mark.e2e

ADMIN = ["tinykube", "--kubeconfig", "/etc/tinykube/admin.kubeconfig"]


def docker(*args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["docker", *args], text=True, capture_output=True, timeout=timeout)
    if check:
        assert result.returncode == 0, f"docker {' '.join(args[:3])}: {result.stdout}\n{result.stderr}"
    return result


def wait_for(condition: Callable[[], bool], timeout_seconds: float, what: str) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout_seconds}s waiting for {what}"
        time.sleep(1)


@dataclass
class Lab:
    suffix: str
    network: str
    hosts: dict[str, str] = field(default_factory=dict)  # host name -> container name

    def start_host(self, name: str) -> None:
        container = f"{name}-{self.suffix}"
        docker("run", "-d", "--name", container, "--hostname", name, "--network", self.network, "--init",
               "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE", "--security-opt", "seccomp=unconfined",
               "--security-opt", "apparmor=unconfined", "--device-cgroup-rule", "a *:* rwm",
               "-v", "/var/lib/docker", TINYKUBE_IMAGE, "tinykube-node", "--machine-only")
        self.hosts[name] = container

    def ip(self, name: str) -> str:
        return docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                      self.hosts[name]).stdout.strip()

    def run(self, name: str, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return docker("exec", self.hosts[name], *argv, timeout=timeout, check=False)

    def admin_get(self, *args: str) -> Any:
        result = self.run("lab-cp", *ADMIN, "get", *args, "-o", "json", timeout=60)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def lab(docker_engine: DockerDaemon) -> Iterator[Lab]:
    build_tinykube_image(docker_engine.endpoint)
    protect_cluster_ranges(print)
    suffix = uuid.uuid4().hex[:6]
    network = f"tinykube-lab-{suffix}"
    # Not --internal: Docker's isolation rules for internal networks drop packets whose
    # source is outside the network's subnet, i.e. every pod-to-pod packet between
    # hosts. Nothing here sends off the machine, and the host's `unreachable` routes
    # for the cluster ranges stop stray packets.
    docker("network", "create", network)
    made = Lab(suffix, network)
    try:
        yield made
    finally:
        for container in made.hosts.values():
            docker("rm", "-f", "-v", container, check=False)
        docker("network", "rm", network, check=False)


def give_images(lab: Lab, host: str, *tags: str) -> None:
    """Start the host's engine and load host images into it (docker save | docker load)."""
    subprocess.run(["docker", "exec", "-d", lab.hosts[host], "dockerd"], check=True)
    wait_for(lambda: lab.run(host, "docker", "info").returncode == 0, 60, f"dockerd on {host}")
    save = subprocess.Popen(["docker", "save", *tags], stdout=subprocess.PIPE)
    loaded = subprocess.run(["docker", "exec", "-i", lab.hosts[host], "docker", "load", "-q"], stdin=save.stdout,
                            capture_output=True, text=True, timeout=600)
    save.wait()
    save.stdout.close()  # type: ignore[union-attr]
    assert save.returncode == 0 and loaded.returncode == 0, loaded.stderr


def ready_nodes(lab: Lab) -> set[str]:
    return {n["metadata"]["name"] for n in lab.admin_get("nodes")["items"]
            if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])}


def test_two_worker_hosts_join_a_control_plane_host_and_run_pods(lab: Lab) -> None:
    for host in ("lab-cp", "lab-w1", "lab-w2"):
        lab.start_host(host)
    cp_ip = lab.ip("lab-cp")
    give_images(lab, "lab-cp", TINYKUBE_IMAGE, BUSYBOX_IMAGE, ECHO_IMAGE)

    init = lab.run("lab-cp", "tinykube", "init", "--advertise-address", cp_ip, timeout=600)
    assert init.returncode == 0, f"tinykube init failed:\n{init.stdout}\n{init.stderr}"
    assert "registry:" in init.stdout and "add-ons:" in init.stdout, init.stdout
    join_line = next(line.strip() for line in init.stdout.splitlines() if line.strip().startswith("tinykube join"))
    assert f"--server https://{cp_ip}:6443" in join_line and "--ca-cert-hash sha256:" in join_line

    # A worker that was given another CA's hash refuses to join.
    argv = shlex.split(join_line)
    wrong = argv[:argv.index("--ca-cert-hash") + 1] + ["sha256:" + "0" * 64]
    refused = lab.run("lab-w2", *wrong)
    assert refused.returncode != 0 and "refusing to join" in refused.stderr, refused.stderr

    for worker in ("lab-w1", "lab-w2"):
        joined = lab.run(worker, *argv)
        assert joined.returncode == 0, f"join on {worker} failed:\n{joined.stdout}\n{joined.stderr}"
    wait_for(lambda: ready_nodes(lab) == {"lab-w1", "lab-w2"}, 120, "both workers Ready")
    # A worker holds the CA certificate and a bootstrap kubeconfig, nothing of the control plane.
    held = set(lab.run("lab-w1", "ls", "/etc/tinykube").stdout.split())
    assert held == {"ca.crt", "bootstrap-kubelet.kubeconfig"}, held
    nodes = {n["metadata"]["name"]: n for n in lab.admin_get("nodes")["items"]}
    assert nodes["lab-w1"]["status"]["addresses"][0]["address"] == lab.ip("lab-w1")
    # Node,RBAC: the worker's own credential (its kubelet's, kube-proxy's) reads no Secrets.
    as_node = lab.run("lab-w1", "tinykube", "--kubeconfig", "/var/lib/tinykube/kubelet/kubeconfig",
                      "get", "secrets", "-A")
    assert as_node.returncode != 0 and 'User "system:node:lab-w1" cannot list resource "secrets"' in \
        as_node.stderr, as_node.stderr

    # `nginx` (pull policy Always) comes from the cluster registry: the echo sample on port 80.
    created = lab.run("lab-cp", *ADMIN, "create", "deployment", "echo", "--image=nginx", "--replicas=2")
    assert created.returncode == 0, created.stderr

    def running_on() -> set[str]:
        pods = lab.admin_get("pods", "-l", "app=echo")["items"]
        return {p["spec"]["nodeName"] for p in pods if p["status"].get("phase") == "Running"}

    # Each worker pulls the add-ons' tinykube image from the registry at the same time.
    try:
        wait_for(lambda: running_on() == {"lab-w1", "lab-w2"}, 360, "an echo pod Running on each worker")
    except AssertionError as failure:
        events = [(e["involvedObject"]["name"], e["reason"], e["message"]) for e in lab.admin_get("events")["items"]]
        raise AssertionError(f"{failure}\nevents: {events[-30:]}") from None
    # The API server reaches each worker's kubelet across hosts (exec goes through it),
    # and each pod reaches the other host's pod by pod IP, through the host-gw routes
    # the kubelets set up, keeping its own address as the source.
    pods = lab.admin_get("pods", "-l", "app=echo")["items"]
    for pod, other in ((pods[0], pods[1]), (pods[1], pods[0])):
        name, target = pod["metadata"]["name"], other["status"]["podIP"]
        answers: list[str] = []

        def reached() -> bool:
            answer = lab.run("lab-cp", *ADMIN, "exec", name, "--", "wget", "-qO-", f"http://{target}:80/")
            answers.append(answer.stdout + answer.stderr)
            return answer.returncode == 0

        wait_for(reached, 30, f"{name} to reach {target}")
        assert f"pod={other['metadata']['name']}" in answers[-1], answers[-1]
        assert pod["status"]["podIP"] in answers[-1], answers[-1]
    routes = lab.run("lab-w1", "ip", "-4", "route", "show", "proto", "77").stdout
    assert f"via {lab.ip('lab-w2')}" in routes and "unreachable 10.244.0.0/16" in routes, routes
    for pod in pods:
        events = lab.admin_get("events", "--field-selector", f"involvedObject.name={pod['metadata']['name']}")
        assert any(e["reason"] == "Pulled" and e["message"].startswith('Successfully pulled image "nginx"')
                   for e in events["items"]), f"{pod['spec']['nodeName']} did not pull nginx"
    assert_addons_serve(lab, pods[0]["metadata"]["name"])


def assert_addons_serve(lab: Lab, client_pod: str) -> None:
    """Cluster DNS and the Ingress controller, applied by `init`, run on the workers
    (their image pulled from the registry): a Service answers by name, an Ingress by host."""
    def addons_ready() -> bool:
        found = lab.admin_get("deployments", "-n", "kube-system")["items"]
        ready = {d["metadata"]["name"] for d in found if (d.get("status") or {}).get("readyReplicas")}
        return {"cluster-dns", "ingress-controller"} <= ready
    wait_for(addons_ready, 240, "cluster DNS and the Ingress controller to be ready")
    for deployment in lab.admin_get("deployments", "-n", "kube-system")["items"]:  # ServiceAccounts, no hostPath
        spec = deployment["spec"]["template"]["spec"]
        assert spec.get("serviceAccountName") not in (None, "default"), deployment["metadata"]["name"]
        assert not [v for v in spec.get("volumes") or [] if "hostPath" in v], deployment["metadata"]["name"]
    exposed = lab.run("lab-cp", *ADMIN, "expose", "deployment", "echo", "--port=80")
    assert exposed.returncode == 0, exposed.stderr
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "echo"},
               "spec": {"rules": [{"host": "echo.lab", "http": {"paths": [{
                   "path": "/", "pathType": "Prefix",
                   "backend": {"service": {"name": "echo", "port": {"number": 80}}}}]}}]}}
    applied = subprocess.run(["docker", "exec", "-i", lab.hosts["lab-cp"], *ADMIN, "apply", "-f", "-"],
                             input=json.dumps(ingress), text=True, capture_output=True, timeout=60)
    assert applied.returncode == 0, applied.stderr

    def answers(*wget: str) -> bool:
        return "pod=echo-" in lab.run("lab-cp", *ADMIN, "exec", client_pod, "--", "wget", "-qO-", *wget).stdout
    wait_for(lambda: answers("http://echo.default.svc.cluster.local/"), 60, "the Service to answer by DNS name")
    wait_for(lambda: answers("--header", "Host: echo.lab", "http://ingress.kube-system.svc.cluster.local/"), 60,
             "the Ingress to answer by host")
