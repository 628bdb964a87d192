"""The flow log and `tinykube trace` on a whole control plane of hollow nodes.

A Deployment of 1 is scaled to 2 by `tinykube trace deployment/web -- tinykube
scale ...`. The flow log must hold, in causal order and with each component's
identity, the user's scale, the controller-manager's ReplicaSet update and pod
create, the scheduler's binding and the node's kubelet reporting the pod Running,
and the watch deliveries that carried each step to the next component. The text
rendering of that chain is compared with a golden file after normalising times,
generated names, uids and resourceVersions (TINYKUBE_UPDATE_GOLDEN=1 rewrites it).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from control_plane_fixtures import ControlPlane, Obj, is_ready, wait_for
from test_control_plane import ns, plane  # noqa: F401  (the fixtures: a cluster for this module)

from tinykube.cli.trace_render import Renderer
from tinykube.testing.processes import REPO_ROOT

GOLDEN = Path(__file__).parent / "golden" / "trace_scale_up.txt"


def deployment(name: str, replicas: int) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "app", "image": "nginx:1.26"}]}}}}


def ready_pods(plane: ControlPlane, ns: str, count: int) -> bool:
    items = plane.get(f"/api/v1/namespaces/{ns}/pods")["items"]
    return len(items) == count and all(p["status"].get("phase") == "Running" and is_ready(p)
                                       for p in items)


def cli(plane: ControlPlane, ns: str) -> list[str]:
    return [sys.executable, "-m", "tinykube.cli", "--kubeconfig", str(plane.api.kubeconfig), "-n", ns]


def first(records: list[dict[str, Any]], after: int, **want: Any) -> int:
    """The index of the first record past `after` whose fields (dotted keys: '__')
    equal or, for callables, satisfy `want`."""
    for index in range(after + 1, len(records)):
        record = records[index]
        if all(_field_ok(record, key, value) for key, value in want.items()):
            return index
    raise AssertionError(f"no record after #{after} with {want}:\n" +
                         "\n".join(json.dumps(r) for r in records))


def _field_ok(record: dict[str, Any], key: str, value: Any) -> bool:
    got: Any = record
    for part in key.split("__"):
        got = got.get(part) if isinstance(got, dict) else None
    return bool(value(got)) if callable(value) else got == value


def normalise(line: str, names: dict[str, str]) -> str:
    for real, fake in names.items():
        line = line.replace(real, fake)
    line = re.sub(r"^ *\+\d+\.\d{3}s", "+T", line)
    line = re.sub(r"after \d+\.\dms", "after Nms", line)
    return re.sub(r"rv=\d+", "rv=N", line).rstrip()


def test_a_scale_up_is_recorded_in_causal_order_with_component_identities(
        plane: ControlPlane, ns: str) -> None:
    response = plane.http.post(f"/apis/apps/v1/namespaces/{ns}/deployments", json=deployment("web", 1))
    assert response.status_code == 201, response.text
    wait_for(lambda: ready_pods(plane, ns, 1), "1 Running, Ready pod")
    before = {p["metadata"]["name"] for p in plane.get(f"/api/v1/namespaces/{ns}/pods")["items"]}

    run = subprocess.run([*cli(plane, ns), "trace", "deployment/web", "-o", "json", "--settle", "2s",
                          "--", *cli(plane, ns), "scale", "deployment", "web", "--replicas=2"],
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "NO_COLOR": "1"})
    assert run.returncode == 0, run.stderr
    assert "deployment.apps/web scaled" in run.stderr  # -o json: stdout is records only
    records = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert ready_pods(plane, ns, 2)

    new_pod = (lambda n: n not in before)
    scaled = first(records, -1, type="Write", userAgent="tinykube", verb="patch", subresource="scale",
                   object__kind="Deployment", change="replicas 1→2")
    rs_scaled = first(records, scaled, type="Write", userAgent="tinykube-controller-manager",
                      object__kind="ReplicaSet", change="replicas 1→2")
    created = first(records, rs_scaled, type="Write", userAgent="tinykube-controller-manager",
                    event="ADDED", object__kind="Pod", object__name=new_pod)
    pod = records[created]["object"]
    assert records[created]["ownerReferences"][0]["uid"] == records[rs_scaled]["object"]["uid"]
    bound = first(records, created, type="Write", userAgent="tinykube-scheduler", verb="create",
                  subresource="binding", object__uid=pod["uid"],
                  change=lambda c: c.startswith("nodeName: node-"))
    node = records[bound]["change"].removeprefix("nodeName: ")
    running = first(records, bound, type="Write", userAgent=f"tinykube-kubelet/{node}",
                    subresource="status", object__uid=pod["uid"],
                    change=lambda c: "phase Pending→Running" in c)

    # Each step reached the component that takes the next one, after the write.
    deliveries = [
        first(records, scaled, type="Delivery", userAgent="tinykube-controller-manager",
              object__kind="Deployment", object__resourceVersion=records[scaled]["object"]["resourceVersion"]),
        first(records, rs_scaled, type="Delivery", userAgent="tinykube-controller-manager",
              object__resourceVersion=records[rs_scaled]["object"]["resourceVersion"]),
        first(records, created, type="Delivery", userAgent="tinykube-scheduler", event="ADDED",
              object__resourceVersion=records[created]["object"]["resourceVersion"]),
        first(records, bound, type="Delivery", userAgent=f"tinykube-kubelet/{node}",
              object__resourceVersion=records[bound]["object"]["resourceVersion"]),
    ]
    for index in deliveries:
        assert records[index]["latencySeconds"] >= 0
    # A delivery is printed after the write it carries (the ring may hold it first).
    writes = {r["object"]["resourceVersion"]: i for i, r in enumerate(records) if r["type"] == "Write"}
    assert all(writes.get(r["object"]["resourceVersion"], -1) < i
               for i, r in enumerate(records) if r["type"] == "Delivery")

    # The golden rendering of the chain: each step and its delivery to the next component.
    renderer = Renderer(colour=False)
    chosen = [scaled, deliveries[0], rs_scaled, deliveries[1], created, deliveries[2], bound,
              deliveries[3], running]
    renderer.relative(records[scaled])
    rs_name = records[rs_scaled]["object"]["name"]
    names = {pod["name"]: "web-<hash>-<new>", rs_name: "web-<hash>", node: "node-X"}
    rendered = [normalise(renderer.line(records[i]), names) for i in chosen]
    # The kubelet may report readiness in the same write or the next: keep the phase.
    rendered[-1] = re.sub(r"phase Pending→Running.*  rv=", "phase Pending→Running  rv=", rendered[-1])
    text = "\n".join(rendered) + "\n"
    if os.environ.get("TINYKUBE_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_a_scale_down_prints_the_pod_deletion_as_text(plane: ControlPlane, ns: str) -> None:
    response = plane.http.post(f"/apis/apps/v1/namespaces/{ns}/deployments", json=deployment("web", 2))
    assert response.status_code == 201, response.text
    wait_for(lambda: ready_pods(plane, ns, 2), "2 Running, Ready pods")

    run = subprocess.run([*cli(plane, ns), "trace", "deploy/web", "--settle", "2s",
                          "--", *cli(plane, ns), "scale", "deployment/web", "--replicas=1"],
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "NO_COLOR": "1"})
    assert run.returncode == 0, run.stderr
    assert "\033[" not in run.stdout
    lines = [line for line in run.stdout.splitlines() if line.lstrip().startswith("+")]
    assert re.match(r" *\+0\.000s  admin \(tinykube\) +patch +deployment/web \(scale\)  replicas 2→1  rv=\d+$",
                    lines[0]), run.stdout
    # The controller-manager marks a pod for deletion, its kubelet stops it and removes it.
    marked = next(i for i, line in enumerate(lines)
                  if "controller-manager" in line and "delete pod/web-" in line
                  and "deletionTimestamp set" in line)
    pod = re.search(r"pod/(\S+)", lines[marked]).group(1)  # type: ignore[union-attr]
    assert any(re.search(rf"kubelet/node-. +\S+ +pod/{pod}\b.*  deleted  rv=", line)
               for line in lines[marked:]), run.stdout
    assert wait_for(lambda: ready_pods(plane, ns, 1), "1 pod left")
