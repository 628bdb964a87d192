"""A whole control plane as child processes, for tests/integration/test_control_plane.py.

`ControlPlane.start` launches, each as its own process: etcd, the API server, two
leader-elected controller-managers (one active, one standby), the scheduler and
three hollow kubelets `node-a`, `node-b`, `node-c` (one process per node, so a test
can stop one alone). Durations are the lab's: short leases so a failover takes
seconds, and node-lifecycle settings under which a silent node's pods are evicted
about 15 s after its last heartbeat.

`PodWatch` follows one namespace's pods through a watch in a background thread and
checks a test's invariant at *every* event, so a transient state between two polls
cannot go unseen. Every process is stopped by its PID in `ControlPlane.stop`.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tinykube.testing.processes import (
    REPO_ROOT,
    APIServerProcess,
    Etcd,
    start_apiserver,
    start_etcd,
)

Obj = dict[str, Any]
DEADLINE_SECONDS = 30.0
NODE_NAMES = ("node-a", "node-b", "node-c")
NODE_CPU = 4
# Controller-manager leader election (Go duration syntax, like kube-controller-manager).
LEASE_DURATION_SECONDS = 4.0
LEADER_FLAGS = ("--leader-elect=true", f"--leader-elect-lease-duration={LEASE_DURATION_SECONDS:g}s",
                "--leader-elect-renew-deadline=3s", "--leader-elect-retry-period=1s")
# Node lifecycle, lab settings: Unknown 10 s after the last heartbeat, evicted 5 s later.
NODE_LIFECYCLE_FLAGS = ("--node-monitor-period=1s", "--node-monitor-grace-period=10s",
                        "--pod-eviction-timeout=5s")
# Claims of a tinykube.io/local-path class are provisioned (as `up` and lab clusters do).
STORAGE_FLAGS = ("--enable-hostpath-provisioner=true", "--pvclaimbinder-sync-period=5s")
# Hollow kubelets: Lease renewed every 1 s, Ready heartbeat every 2 s.
KUBELET_FLAGS = (f"--node-capacity=cpu={NODE_CPU},memory=8Gi", "--node-lease-duration-seconds=4",
                 "--node-status-update-frequency=2s")
CM_LEASE_PATH = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager"


def wait_for(condition: Callable[[], Any], what: str, timeout_seconds: float = DEADLINE_SECONDS) -> Any:
    """Poll `condition` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_seconds}s waiting for {what}")


@dataclass
class Component:
    """One child process and its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def leader_identity(self) -> str:
        """The identity a leader-elected component announced in its log ("" before it did)."""
        for line in self.log().splitlines():
            if "attempting to acquire leader lease" in line:
                return line.rsplit("identity=", 1)[1].strip()
        return ""

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGCONT)  # a SIGSTOPped process cannot handle SIGTERM
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class ControlPlane:
    etcd: Etcd
    api: APIServerProcess
    workdir: Path
    http: httpx.Client
    managers: list[Component] = field(default_factory=list)
    kubelets: dict[str, Component] = field(default_factory=dict)
    others: list[Component] = field(default_factory=list)

    @classmethod
    def start(cls, workdir: Path) -> ControlPlane:
        etcd = start_etcd(workdir / "etcd")
        try:
            api = start_apiserver(etcd.url, workdir / "apiserver")
        except BaseException:
            etcd.stop()
            raise
        plane = cls(etcd, api, workdir, httpx.Client(base_url=api.http_url, timeout=30))
        try:
            for _ in range(2):
                plane.start_manager()
            plane.others.append(plane.spawn(
                "scheduler", "-m", "scheduler", f"--kubeconfig={api.kubeconfig}",
                "--leader-elect-lease-duration=4s", "--leader-elect-renew-deadline=3s",
                "--leader-elect-retry-period=1s"))
            for name in NODE_NAMES:
                plane.kubelets[name] = plane.spawn(
                    f"kubelet-{name}", "-m", "kubelet", f"--kubeconfig={api.kubeconfig}",
                    f"--hostname-override={name}", "--container-runtime-endpoint=fake", *KUBELET_FLAGS)
            wait_for(lambda: all(plane.node_ready(name) for name in NODE_NAMES), "3 Ready hollow nodes")
            wait_for(plane.lease_holder, "a controller-manager to lead")
        except BaseException:
            plane.stop()
            raise
        return plane

    def spawn(self, name: str, *args: str) -> Component:
        log_path = self.workdir / f"{name}.log"
        with open(log_path, "ab") as log:
            process = subprocess.Popen([sys.executable, *args], cwd=REPO_ROOT, stdout=log,
                                       stderr=subprocess.STDOUT)
        return Component(name, process, log_path)

    def start_manager(self) -> Component:
        manager = self.spawn(f"controller-manager-{len(self.managers)}", "-m", "controller_manager",
                             f"--kubeconfig={self.api.kubeconfig}", *LEADER_FLAGS, *NODE_LIFECYCLE_FLAGS,
                             *STORAGE_FLAGS)
        self.managers.append(manager)
        wait_for(manager.leader_identity, f"{manager.name} to become a candidate")
        return manager

    def stop(self) -> None:
        for component in [*self.kubelets.values(), *self.others, *self.managers]:
            component.stop()
        self.http.close()
        self.api.stop()
        self.etcd.stop()

    # --- reading the cluster as a user would ---------------------------------------------

    def get(self, path: str, **params: str) -> Obj:
        response = self.http.get(path, params=params)
        response.raise_for_status()
        result: Obj = response.json()
        return result

    def lease_holder(self) -> str:
        response = self.http.get(CM_LEASE_PATH)
        return str(response.json()["spec"].get("holderIdentity") or "") if response.status_code == 200 else ""

    def manager_by_identity(self, identity: str) -> Component:
        return next(m for m in self.managers if m.leader_identity() == identity)

    def node(self, name: str) -> Obj:
        return self.get(f"/api/v1/nodes/{name}")

    def node_ready(self, name: str) -> str:
        """The node's Ready condition status ("True", "False", "Unknown"; "" if absent)."""
        response = self.http.get(f"/api/v1/nodes/{name}")
        if response.status_code != 200:
            return ""
        for condition in (response.json().get("status") or {}).get("conditions") or []:
            if condition["type"] == "Ready":
                return str(condition["status"])
        return ""

    def node_ready_is(self, name: str, status: str) -> bool:
        return self.node_ready(name) == status


def is_ready(pod: Obj) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def is_active(pod: Obj) -> bool:
    """Counted by a ReplicaSet: not terminating and not finished."""
    return not pod["metadata"].get("deletionTimestamp") and (pod.get("status") or {}).get("phase") not in (
        "Succeeded", "Failed")


class PodWatch:
    """Every pod event of one namespace, from a resourceVersion on, checked as it arrives.

    - `check(pods)` runs after each event on the namespace's full pod set as of that
      event (a snapshot in etcd revision order); its first failure is kept and
      re-raised by `stop()`.
    - `created` holds the uid of every pod that appeared after the start revision.
    """

    def __init__(self, base_url: str, namespace: str, resource_version: str,
                 check: Callable[[dict[str, Obj]], None], initial: list[Obj]) -> None:
        self.pods: dict[str, Obj] = {p["metadata"]["uid"]: p for p in initial}
        self.created: set[str] = set()
        self.events = 0
        self.history: list[str] = []  # one line per event, for failure messages
        self.failure: BaseException | None = None
        self._check = check
        self._client = httpx.Client(base_url=base_url, timeout=httpx.Timeout(30, read=None))
        self._params = {"watch": "true", "resourceVersion": resource_version}
        self._path = f"/api/v1/namespaces/{namespace}/pods"
        self._stopping = threading.Event()
        self._socket: socket.socket | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"watch pods {namespace}", daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise AssertionError("the pod watch did not start")

    @classmethod
    def start(cls, plane: ControlPlane, namespace: str, check: Callable[[dict[str, Obj]], None]) -> PodWatch:
        listed = plane.get(f"/api/v1/namespaces/{namespace}/pods")
        return cls(plane.api.http_url, namespace, listed["metadata"]["resourceVersion"], check, listed["items"])

    def _run(self) -> None:
        try:
            with self._client.stream("GET", self._path, params=self._params) as response:
                response.raise_for_status()
                # Why: closing the client does not wake a thread blocked reading the stream;
                # shutting the socket down does (see stop()).
                self._socket = response.extensions["network_stream"].get_extra_info("socket")
                self._started.set()
                for line in response.iter_lines():
                    if self._stopping.is_set():
                        return
                    if line.strip():
                        self._handle(json.loads(line))
        except BaseException as err:  # noqa: BLE001 - reported by stop()
            if not self._stopping.is_set() and self.failure is None:
                self.failure = err
        finally:
            self._started.set()

    def _handle(self, event: Obj) -> None:
        kind, pod = event["type"], event["object"]
        if kind == "ERROR":
            raise AssertionError(f"watch error: {pod}")
        if kind == "BOOKMARK":
            return
        uid, meta = pod["metadata"]["uid"], pod["metadata"]
        self.history.append(f"{kind} {meta['name']} rv={meta.get('resourceVersion')} node={pod['spec'].get('nodeName')} "
                            f"ready={is_ready(pod)} terminating={bool(meta.get('deletionTimestamp'))}")
        if kind == "DELETED":
            self.pods.pop(uid, None)
        else:
            if uid not in self.pods and kind == "ADDED":
                self.created.add(uid)
            self.pods[uid] = pod
        self.events += 1
        if self.failure is None:
            try:
                self._check(dict(self.pods))
            except AssertionError as err:
                recent = "\n  ".join(self.history[-40:])
                self.failure = AssertionError(f"{err}\nlast pod events:\n  {recent}")

    def stop(self) -> None:
        """End the watch; raise the first invariant violation (or watch failure) seen."""
        self._stopping.set()
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
        self._thread.join(10)
        assert not self._thread.is_alive(), "the pod watch thread did not stop"
        self._client.close()
        if self.failure is not None:
            raise self.failure
