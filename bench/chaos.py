"""Chaos against the HA compose cluster: faults in turn under a checked workload.

    .venv/bin/python bench/chaos.py [--faults apiserver,etcd-member,etcd-leader,...]
        [--settle 20] [--keep]

Brings up `tinykube up --control-planes 3` as compose project `tinykube-chaos` (a free
API port; removed with its volumes at the end unless --keep), then runs a CAS write
workload and three resuming watchers (bench/_chaos_workload.py) through the load
balancer while it injects, one after another, with `--settle` seconds between:

- apiserver:          SIGKILL of cp-1's API server (its supervisor restarts it);
- etcd-member:        SIGKILL of a follower etcd member;
- etcd-leader:        SIGKILL of the leading etcd member;
- controller-manager: SIGKILL of the controller manager holding the Lease;
- scheduler:          SIGKILL of the scheduler holding the Lease;
- node:               `docker kill` of node-2, `docker start` after the settle time.

Per fault it prints: acknowledged writes lost (target 0), watch events missed and
duplicated over all watchers (target 0), the write unavailability (the longest time
in the settle window with no acknowledged write; targets < 5 s for an API server,
< 10 s for the etcd leader), the time for the Deployment `chaos` to converge after
a scale (ready replicas = replicas), and whether anything was created twice (more
pods or ReplicaSets than wanted). A measurement: it exits 0 either way.

Kubernetes counterpart: etcd's tests/functional (the tester), test/e2e/chaosmonkey
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._chaos_workload import Ack, Watcher, Writer, check, longest_gap  # noqa: E402
from tinykube.cluster.compose import AdminAccess  # noqa: E402
from tinykube.testing.processes import REPO_ROOT, free_port  # noqa: E402

PROJECT = "tinykube-chaos"
NAMESPACE = "chaos"
FAULTS = ("apiserver", "etcd-member", "etcd-leader", "controller-manager", "scheduler", "node")
TINYKUBE = [sys.executable, "-m", "tinykube.cli"]
ETCD_STATUS = ("import json, urllib.request as u; print(json.load(u.urlopen(u.Request("
               "'http://127.0.0.1:2379/v3/maintenance/status', data=b'{}', method='POST'), timeout=3))"
               "['header']['member_id'], json.load(u.urlopen(u.Request('http://127.0.0.1:2379/v3/"
               "maintenance/status', data=b'{}', method='POST'), timeout=3))['leader'])")


class Cluster:
    def __init__(self, port: int) -> None:
        self.env = {**os.environ, "TINYKUBE_PROJECT": PROJECT, "TINYKUBE_API_PORT": str(port),
                    "PYTHONPATH": str(REPO_ROOT)}
        self.env.pop("KUBECONFIG", None)
        self.kubeconfig = REPO_ROOT / "var" / PROJECT / "kubeconfig"

    def run(self, *argv: str, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(argv), cwd=REPO_ROOT, env=self.env, text=True, capture_output=True,
                              timeout=timeout)

    def container(self, service: str) -> str:
        found = self.run("docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={PROJECT}",
                         "--filter", f"label=com.docker.compose.service={service}").stdout.split()
        return found[0]

    def kill_program(self, member: str, module: str) -> None:
        """SIGKILL one program of a control-plane node (inside its container's PID namespace)."""
        self.run("docker", "exec", self.container(member), "sh", "-c",
                 f"kill -9 $(pgrep -f '^(python -m {module}|{module}) ' | head -1)")

    def etcd_leader(self) -> tuple[str, str]:
        """(the leading member's container name, a follower's)."""
        leader, follower = "", ""
        for member in ("cp-1", "cp-2", "cp-3"):
            out = self.run("docker", "exec", self.container(member), "python3", "-c", ETCD_STATUS).stdout.split()
            if len(out) == 2 and out[0] == out[1]:
                leader = member
            elif len(out) == 2:
                follower = member
        return leader, follower


def lease_holder_member(client: httpx.Client, name: str) -> str:
    lease = client.get(f"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/{name}").json()
    return str(lease["spec"]["holderIdentity"]).split("_", 1)[0]


def inject(cluster: Cluster, client: httpx.Client, fault: str, settle: float) -> str:
    if fault == "apiserver":
        cluster.kill_program("cp-1", "apiserver")
        return "cp-1 apiserver"
    if fault in ("etcd-member", "etcd-leader"):
        leader, follower = cluster.etcd_leader()
        member = leader if fault == "etcd-leader" else follower
        cluster.kill_program(member, "etcd")
        return f"{member} etcd"
    if fault in ("controller-manager", "scheduler"):
        lease = "kube-controller-manager" if fault == "controller-manager" else "kube-scheduler"
        member = lease_holder_member(client, lease)
        cluster.kill_program(member, fault.replace("-", "_"))
        return f"{member} {fault}"
    node = cluster.container("node-2")
    cluster.run("docker", "kill", node)
    threading.Timer(settle, lambda: cluster.run("docker", "start", node)).start()
    return "node-2 container"


def deployment_convergence(client: httpx.Client, replicas: int, before: int,
                           timeout: float = 120) -> tuple[float, bool]:
    """Scale `chaos` from `before` to `replicas`; (seconds until ready, whether more
    active pods than the larger of the two, or a second ReplicaSet, were ever seen)."""
    path = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/chaos"
    started = time.monotonic()
    twice = False
    client.patch(f"{path}/scale", json={"spec": {"replicas": replicas}},
                 headers={"Content-Type": "application/merge-patch+json"})
    while time.monotonic() - started < timeout:
        try:
            status = client.get(path).json().get("status") or {}
            pods = client.get(f"/api/v1/namespaces/{NAMESPACE}/pods", params={"labelSelector": "app=chaos"}).json()
            sets = client.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/replicasets").json()
        except (httpx.HTTPError, json.JSONDecodeError):
            time.sleep(0.5)
            continue
        active = [p for p in pods["items"] if not p["metadata"].get("deletionTimestamp")]
        twice |= len(active) > max(replicas, before) or len(sets["items"]) > 1
        if status.get("readyReplicas") == replicas and len(active) == replicas:
            return time.monotonic() - started, twice
        time.sleep(0.5)
    return float("inf"), twice


def setup(client: httpx.Client) -> None:
    client.post("/api/v1/namespaces", json={"metadata": {"name": NAMESPACE}})
    client.post(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments", json={
        "metadata": {"name": "chaos"}, "spec": {
            "replicas": 2, "selector": {"matchLabels": {"app": "chaos"}},
            "template": {"metadata": {"labels": {"app": "chaos"}}, "spec": {"containers": [
                {"name": "pause", "image": "tinykube/pause:1"}]}}}})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faults", default=",".join(FAULTS))
    parser.add_argument("--settle", type=float, default=20.0, help="seconds watched after each fault")
    parser.add_argument("--keep", action="store_true", help="leave the cluster up")
    args = parser.parse_args()
    faults = [f for f in args.faults.split(",") if f]
    cluster = Cluster(free_port())
    up = cluster.run(*TINYKUBE, "up", "--control-planes", "3")
    if up.returncode != 0:
        print(up.stdout[-2000:], up.stderr[-2000:])
        return 1
    try:
        return run_faults(cluster, faults, args.settle)
    finally:
        if not args.keep:
            cluster.run(*TINYKUBE, "down", "--volumes")


def run_faults(cluster: Cluster, faults: list[str], settle: float) -> int:
    access = AdminAccess.from_kubeconfig(cluster.kubeconfig)
    client = access.client()
    setup(client)
    deployment_convergence(client, 2, 2, timeout=180)
    writer = Writer(access, NAMESPACE)
    watchers = [Watcher(access, NAMESPACE) for _ in range(3)]
    for watcher in watchers:
        threading.Thread(target=watcher.run, daemon=True).start()
        watcher.listed.wait(60)
    threading.Thread(target=writer.run, daemon=True).start()
    time.sleep(5)
    windows: list[tuple[str, str, float, float, float, bool]] = []
    for index, fault in enumerate(faults):
        started = time.monotonic()
        target = inject(cluster, client, fault, settle)
        time.sleep(settle)
        converge, twice = deployment_convergence(client, 3 if index % 2 == 0 else 2, 2 if index % 2 == 0 else 3)
        windows.append((fault, target, started, time.monotonic(), converge, twice))
        print(f"{fault}: injected into {target}", flush=True)
    writer.stop.set()
    caught_up = time.monotonic() + 30
    while time.monotonic() < caught_up and not all(_has_all(w, writer.acks) for w in watchers):
        time.sleep(0.5)
    for watcher in watchers:
        watcher.stop.set()
    final = {c["metadata"]["name"]: int(c["metadata"]["resourceVersion"]) for c in
             client.get(f"/api/v1/namespaces/{NAMESPACE}/configmaps").json()["items"]}
    verdict = check(writer.acks, watchers, final)
    report(writer.acks, watchers, verdict, windows)
    return 0


def _has_all(watcher: Watcher, acks: list[Ack]) -> bool:
    return all(a.resource_version in watcher.seen.get(a.name, ()) for a in acks)


def report(acks: list[Ack], watchers: list[Watcher], verdict, windows) -> None:  # type: ignore[no-untyped-def]
    def during(items: list[Ack], start: float, end: float) -> int:
        return sum(1 for a in items if start <= a.at <= end)

    missed = [a for items in verdict.missed.values() for a in items]
    duplicated = [a for items in verdict.duplicated.values() for a in items]
    print(f"\n{len(acks)} acknowledged writes; watchers: "
          + ", ".join(f"{w.reconnects} reconnects/{w.relists} relists" for w in watchers)
          + f"; out-of-order events: {sum(verdict.out_of_order.values())}")
    print(f"{'fault':<20}{'target':<24}{'lost':>5}{'missed':>7}{'dup':>5}{'unavail s':>10}"
          f"{'converge s':>11}{'twice':>6}")
    for fault, target, start, end, converge, twice in windows:
        print(f"{fault:<20}{target:<24}{during(verdict.lost, start, end):>5}{during(missed, start, end):>7}"
              f"{during(duplicated, start, end):>5}{longest_gap(acks, start, end):>10.2f}"
              f"{converge:>11.1f}{'yes' if twice else 'no':>6}")
    print(f"whole run: lost {len(verdict.lost)}, missed {len(missed)}, duplicated {len(duplicated)} "
          "(targets 0, 0, 0)")


if __name__ == "__main__":
    sys.exit(main())
