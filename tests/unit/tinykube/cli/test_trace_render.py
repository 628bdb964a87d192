"""`tinykube trace`: the owner-reference chain filter and the line renderer."""

from __future__ import annotations

from typing import Any

from tinykube.cli.trace_render import Renderer, component_of
from tinykube.flow.chain import ChainFilter


def write(uid: str, kind: str, name: str, *, owner: str = "", agent: str = "tinykube-controller-manager",
          verb: str = "update", sub: str = "", change: str = "", ns: int = 0, rv: str = "10") -> dict[str, Any]:
    return {"type": "Write", "user": "admin", "userAgent": agent, "verb": verb, "subresource": sub,
            "event": "MODIFIED", "change": change, "monotonicNanos": ns,
            "object": {"resource": kind.lower() + "s", "kind": kind, "namespace": "demo",
                       "name": name, "uid": uid, "resourceVersion": rv},
            "ownerReferences": [{"uid": owner, "kind": "X", "name": "x"}] if owner else []}


def delivery(uid: str, kind: str, name: str, agent: str, ns: int, latency: float) -> dict[str, Any]:
    return {"type": "Delivery", "user": "admin", "userAgent": agent, "event": "MODIFIED",
            "monotonicNanos": ns, "latencySeconds": latency,
            "object": {"kind": kind, "name": name, "uid": uid}}


def test_the_chain_grows_down_owner_references_and_ignores_the_rest() -> None:
    chain = ChainFilter(root=("deployments", "demo", "web"))
    records = [write("d1", "Deployment", "web"), write("r1", "ReplicaSet", "web-1", owner="d1"),
               write("p1", "Pod", "web-1-a", owner="r1"), write("p9", "Pod", "other", owner="r9"),
               delivery("p1", "Pod", "web-1-a", "tinykube-scheduler", 0, 0.001),
               delivery("p9", "Pod", "other", "tinykube-scheduler", 0, 0.001)]
    assert [chain.matches(r) for r in records] == [True, True, True, False, True, False]
    assert chain.uids == {"d1", "r1", "p1"}


def test_components_are_named_from_their_user_agent() -> None:
    assert component_of({"userAgent": "tinykube-kubelet/node-a", "user": "admin"}) == "kubelet/node-a"
    assert component_of({"userAgent": "tinykube-scheduler", "user": "admin"}) == "scheduler"
    assert component_of({"userAgent": "kubectl/v1.32.0 (linux/amd64)", "user": "jane"}) == "jane (kubectl)"
    assert component_of({"userAgent": "", "user": "system:apiserver"}) == "system:apiserver"


GOLDEN = """\
  +0.000s  admin (tinykube)             patch  deployment/web (scale)  replicas 1→2  rv=10
  +0.002s     ↳ controller-manager         MODIFIED deployment/web  after 2.0ms
  +0.010s  scheduler                    create pod/web-1-a (binding)  nodeName: node-a  rv=11
  +0.031s  kubelet/node-a               update pod/web-1-a (status)  phase Pending→Running  rv=12
"""


def test_lines_read_as_who_did_what_with_times_relative_to_the_first() -> None:
    renderer = Renderer(colour=False)
    records = [write("d1", "Deployment", "web", agent="tinykube", verb="patch", sub="scale",
                     change="replicas 1→2", ns=5_000_000),
               delivery("d1", "Deployment", "web", "tinykube-controller-manager", 7_000_000, 0.002),
               write("p1", "Pod", "web-1-a", agent="tinykube-scheduler", verb="create", sub="binding",
                     change="nodeName: node-a", ns=15_000_000, rv="11"),
               write("p1", "Pod", "web-1-a", agent="tinykube-kubelet/node-a", sub="status",
                     change="phase Pending→Running", ns=36_000_000, rv="12")]
    assert "".join(renderer.line(r) + "\n" for r in records) == GOLDEN


def test_colours_follow_the_component_and_reset_after_it() -> None:
    line = Renderer(colour=True).line(write("p1", "Pod", "a", agent="tinykube-scheduler"))
    assert "\033[35mscheduler" in line and "\033[0m" in line
    assert "\033[" not in Renderer(colour=False).line(write("p1", "Pod", "a"))
