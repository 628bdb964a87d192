"""Cluster lifecycle commands: `up`, `down`, `status`, `load-image`, `images`, `node add|remove`
(the compose cluster on this machine), and `init`, `join`, `reset` (lab hosts).

They drive Docker and compose on this machine rather than the API, so they print
progress as they go and turn every failure into one clear `error:` line.

Kubernetes counterpart: kind's CLI (create/delete cluster, load docker-image), kubeadm init/join/reset
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tinykube.cli.context import CLIContext, CLIError


def _say(ctx: CLIContext) -> Any:
    def say(line: str) -> None:
        print(line, file=ctx.out, flush=True)
    return say


@contextlib.contextmanager
def _reported(command: str) -> Iterator[None]:
    """A cluster failure becomes the CLI's one-line error, naming the command."""
    from tinykube.cluster.compose import ClusterError
    from tinykube.cluster.images import ImageBuildError
    from tinykube.cluster.lab import LabError
    try:
        yield
    except (ClusterError, ImageBuildError, LabError) as err:
        raise CLIError(f"tinykube {command}: {err}") from None


async def run_up(ctx: CLIContext) -> int:
    from tinykube.cluster import compose
    extra_ca = Path(ctx.args.extra_ca_certs) if ctx.args.extra_ca_certs else None
    with _reported("up"):
        compose.up(_say(ctx), extra_ca_dir=extra_ca, control_planes=ctx.args.control_planes)
    return 0


async def run_down(ctx: CLIContext) -> int:
    from tinykube.cluster import compose
    with _reported("down"):
        compose.down(ctx.args.volumes, _say(ctx))
    return 0


async def run_status(ctx: CLIContext) -> int:
    from tinykube.cluster import compose
    with _reported("status"):
        return compose.status(_say(ctx))


async def run_load_image(ctx: CLIContext) -> int:
    from tinykube.cluster import compose
    with _reported("load-image"):
        compose.load_image(ctx.args.images, _say(ctx))
    return 0


async def run_images(ctx: CLIContext) -> int:
    from tinykube.cluster import compose
    with _reported("images"):
        compose.list_images(_say(ctx))
    return 0


async def run_node(ctx: CLIContext) -> int:
    from tinykube.cluster import compose
    with _reported(f"node {ctx.args.node_command}"):
        if ctx.args.node_command == "add":
            added = compose.node_add(ctx.args.count, _say(ctx))
            print(f"added {', '.join(added)}", file=ctx.out)
        else:
            compose.node_remove(ctx.args.name, _say(ctx))
    return 0


async def run_init(ctx: CLIContext) -> int:
    from tinykube.cluster import lab
    say = _say(ctx)
    with _reported("init"):
        command = lab.init(ctx.args.advertise_address, Path(ctx.args.config_dir), say, ctx.args.secure_port)
    say(f"""
The control plane is up at {command.server}.
Use it from this host:   export KUBECONFIG={Path(ctx.args.config_dir) / 'admin.kubeconfig'}
On each worker host, as root:

  {command}
""")
    return 0


async def run_join(ctx: CLIContext) -> int:
    from tinykube.cluster import lab
    if not ctx.args.ca_cert_hash and not ctx.args.discovery_token_unsafe_skip_ca_verification:
        raise CLIError("tinykube join: give --ca-cert-hash (printed by `tinykube init`), or "
                       "--discovery-token-unsafe-skip-ca-verification to trust any server")
    with _reported("join"):
        lab.join(ctx.args.server, ctx.args.join_token, ctx.args.ca_cert_hash or None,
                 ctx.args.node_name or socket.gethostname(), ctx.args.node_ip,
                 Path(ctx.args.config_dir), _say(ctx))
    print(f"This host is joining as node {ctx.args.node_name or socket.gethostname()}; "
          "see it with `tinykube get nodes` on the control plane.", file=ctx.out)
    return 0


async def run_reset(ctx: CLIContext) -> int:
    from tinykube.cluster import lab
    lab.reset(_say(ctx))
    return 0


def register(subparsers: Any) -> None:
    up = subparsers.add_parser("up", help="build what is missing and start the compose cluster")
    up.add_argument("--extra-ca-certs", metavar="DIR",
                    help="add these CA certificates (*.crt) to the tinykube image")
    up.add_argument("--control-planes", type=int, default=None, metavar="N",
                    help="N control-plane nodes (etcd members, API servers behind a load balancer, "
                    "controller managers, schedulers); default: 1, or what the cluster has")
    up.set_defaults(func=run_up)

    down = subparsers.add_parser("down", help="stop the compose cluster (objects survive)")
    down.add_argument("--volumes", action="store_true", help="also remove etcd's data and the nodes' engines")
    down.set_defaults(func=run_down)

    status = subparsers.add_parser("status", help="the compose cluster's containers and nodes")
    status.set_defaults(func=run_status)

    load = subparsers.add_parser("load-image", help="push images from this host to the cluster registry "
                                                    "and copy them into every node")
    load.add_argument("images", nargs="+", metavar="IMAGE")
    load.set_defaults(func=run_load_image)

    listed = subparsers.add_parser("images", help="the images the cluster registry holds")
    listed.set_defaults(func=run_images)

    node = subparsers.add_parser("node", help="add or remove worker nodes of the compose cluster")
    node_commands = node.add_subparsers(dest="node_command", required=True)
    add = node_commands.add_parser("add", help="add worker nodes (node-3, node-4, ...)")
    add.add_argument("--count", type=int, default=1)
    remove = node_commands.add_parser("remove", help="remove a node added with `node add`")
    remove.add_argument("name")
    node.set_defaults(func=run_node)

    init = subparsers.add_parser("init", help="make this host a control plane (lab hosts)")
    init.add_argument("--advertise-address", required=True, help="this host's address the workers reach")
    init.add_argument("--secure-port", type=int, default=6443)
    init.add_argument("--config-dir", default="/etc/tinykube")
    init.set_defaults(func=run_init)

    join = subparsers.add_parser("join", help="make this host a worker of a control plane (lab hosts)")
    join.add_argument("--server", required=True, help="the API server, https://HOST:6443")
    join.add_argument("--token", dest="join_token", required=True, help="the token `tinykube init` printed")
    join.add_argument("--ca-cert-hash", default="", help="sha256:... of the cluster CA, as printed")
    join.add_argument("--discovery-token-unsafe-skip-ca-verification", action="store_true")
    join.add_argument("--node-name", default="", help="the Node's name (default: the hostname)")
    join.add_argument("--node-ip", default=None, help="default: this host's address on the route to the server")
    join.add_argument("--config-dir", default="/etc/tinykube")
    join.set_defaults(func=run_join)

    reset = subparsers.add_parser("reset", help="stop what `init` or `join` started on this host")
    reset.set_defaults(func=run_reset)
