"""The flow view's layout: records become lanes and arrows, noise is left out."""

from __future__ import annotations

from typing import Any

from dashboard.flow_diagram import FlowLayout, lane_rank


def write(agent: str, verb: str, kind: str, name: str, rv: int, change: str = "",
          sub: str = "", namespace: str = "demo", at_ns: int = 0, user: str = "admin") -> dict[str, Any]:
    return {"type": "Write", "user": user, "userAgent": agent, "verb": verb, "subresource": sub,
            "event": "MODIFIED", "change": change, "monotonicNanos": at_ns,
            "object": {"kind": kind, "name": name, "namespace": namespace, "uid": f"uid-{name}",
                       "resourceVersion": str(rv)}}


def delivery(agent: str, kind: str, name: str, rv: int, namespace: str = "demo",
             at_ns: int = 0, event: str = "MODIFIED") -> dict[str, Any]:
    return {"type": "Delivery", "user": "system", "userAgent": agent, "event": event,
            "latencySeconds": 0.0021, "monotonicNanos": at_ns,
            "object": {"kind": kind, "name": name, "namespace": namespace, "uid": f"uid-{name}",
                       "resourceVersion": str(rv)}}


def test_a_scale_up_draws_the_seed_chain_left_to_right() -> None:
    layout = FlowLayout()
    drawn = []
    for record in [
        write("tinykube", "patch", "Deployment", "web", 10, "replicas 1→2", "scale", at_ns=1_000_000_000),
        delivery("tinykube-controller-manager", "Deployment", "web", 10, at_ns=1_002_000_000),
        write("tinykube-controller-manager", "create", "Pod", "web-x", 11, at_ns=1_010_000_000),
        delivery("tinykube-scheduler", "Pod", "web-x", 11),
        write("tinykube-scheduler", "create", "Pod", "web-x", 12, "nodeName: node-1", "binding"),
        delivery("tinykube-kubelet/node-1", "Pod", "web-x", 12),
    ]:
        drawn.extend(layout.add(record))
    arrows = [d for d in drawn if d["type"] == "arrow"]
    assert [(a["row"], a["from"], a["to"], a["kind"]) for a in arrows] == [
        (0, "admin (tinykube)", "apiserver", "write"),
        (1, "apiserver", "controller-manager", "delivery"),
        (2, "controller-manager", "apiserver", "write"),
        (3, "apiserver", "scheduler", "delivery"),
        (4, "scheduler", "apiserver", "write"),
        (5, "apiserver", "kubelet/node-1", "delivery"),
    ]
    assert arrows[0]["label"] == "patch deployment/web (scale) replicas 1→2"
    assert arrows[1]["label"] == "MODIFIED deployment/web +2.1ms"
    assert arrows[4]["label"] == "create pod/web-x (binding) nodeName: node-1"
    assert [a["at"] for a in arrows[:3]] == ["+0.000s", "+0.002s", "+0.010s"]
    assert layout.lanes == ["admin (tinykube)", "apiserver", "controller-manager", "scheduler",
                            "kubelet/node-1"]
    # A lane list is sent before the first arrow that needs a new lane (the API
    # server's is there from the start), and only then.
    assert [d["type"] for d in drawn].count("lanes") == 4


def test_lanes_keep_the_story_order_whatever_order_components_show_up_in() -> None:
    layout = FlowLayout(hold_seconds=0)  # deliveries of writes from before the view
    for agent in ("tinykube-kubelet/node-2", "tinykube-scheduler", "my-tool/1.0",
                  "tinykube-controller-manager", "tinykube-kubelet/node-1"):
        layout.add(delivery(agent, "Pod", "p", 1))
    assert layout.lanes == ["system (my-tool)", "apiserver", "controller-manager", "scheduler",
                            "kubelet/node-2", "kubelet/node-1"]
    assert lane_rank("kube-proxy/node-1") > lane_rank("kubelet/node-1") > lane_rank("apiserver")


def test_noise_is_left_out_unless_everything_is_asked_for() -> None:
    records = [
        write("tinykube-kubelet/node-1", "update", "Lease", "node-1", 20, namespace="kube-node-lease"),
        write("tinykube-controller-manager", "create", "Event", "web.1", 21),
        write("tinykube-kubelet/node-1", "patch", "Node", "node-1", 22, sub="status", namespace=""),
        delivery("tinykube-scheduler", "Node", "node-1", 22, namespace=""),
        write("tinykube-kubelet/node-1", "patch", "Node", "node-1", 23, "Ready False→True", "status",
              namespace=""),
        delivery("tinykube-scheduler", "Node", "node-1", 23, namespace=""),
        delivery("tinykube-dashboard", "Pod", "web-x", 24),
        write("tinykube-dashboard", "patch", "Deployment", "web", 25, "replicas 2→3", "scale"),
        delivery("kube-apiserver", "Pod", "web-x", 24),
    ]
    quiet = FlowLayout(hold_seconds=0)
    shown = [a["label"] for r in records for a in quiet.add(r) if a["type"] == "arrow"]
    assert shown == ["patch node/node-1 (status) Ready False→True", "MODIFIED node/node-1 +2.1ms",
                     "patch deployment/web (scale) replicas 2→3"]
    loud = FlowLayout(everything=True, hold_seconds=0)
    assert sum(1 for r in records for a in loud.add(r) if a["type"] == "arrow") == 8  # not the apiserver's own


def test_a_namespace_keeps_only_its_objects() -> None:
    layout = FlowLayout(namespace="demo")
    assert layout.add(write("tinykube", "patch", "Deployment", "web", 1, namespace="other")) == []
    assert [a["label"] for a in layout.add(write("tinykube", "patch", "Deployment", "web", 2))
            if a["type"] == "arrow"] == ["patch deployment/web"]


def test_the_apiserver_writing_itself_is_a_loop_on_its_lane() -> None:
    layout = FlowLayout()
    drawn = layout.add(write("kube-apiserver", "delete", "Pod", "web-x", 5, user="system:apiserver"))
    assert [(d["from"], d["to"]) for d in drawn] == [("apiserver", "apiserver")]


def test_a_delivery_recorded_before_its_write_is_drawn_after_it() -> None:
    """The store's watch may beat the writing request: the ring then holds the
    kubelet's delivery before the scheduler's binding. The diagram puts it after."""
    layout = FlowLayout()
    drawn = [*layout.add(delivery("tinykube-kubelet/node-1", "Pod", "web-x", 12)),
             *layout.add(write("tinykube-scheduler", "create", "Pod", "web-x", 12, "nodeName: node-1", "binding"))]
    assert [(a["from"], a["to"]) for a in drawn if a["type"] == "arrow"] == [
        ("scheduler", "apiserver"), ("apiserver", "kubelet/node-1")]
