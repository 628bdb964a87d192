"""`tinykube version`: the client's version and the server's `/version`.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/version/version.go
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

from tinykube.cli.context import CLIContext
from tinykube.cli.printers import dump_json, dump_yaml


def client_version() -> str:
    try:
        return "v" + importlib.metadata.version("tinykube")
    except importlib.metadata.PackageNotFoundError:
        return "v0.0.0-dev"


async def run(ctx: CLIContext) -> int:
    info: dict[str, Any] = {"clientVersion": {"gitVersion": client_version()}}
    if not ctx.args.client:
        async with ctx.client() as client:
            info["serverVersion"] = await client.request("GET", "/version")
    if ctx.args.output == "json":
        ctx.out.write(dump_json(info))
    elif ctx.args.output == "yaml":
        ctx.out.write(dump_yaml(info))
    else:
        print(f"Client Version: {info['clientVersion']['gitVersion']}", file=ctx.out)
        if "serverVersion" in info:
            print(f"Server Version: {info['serverVersion'].get('gitVersion', '')}", file=ctx.out)
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("version", help="print the client and server versions")
    parser.add_argument("--client", action="store_true", help="only the client version")
    parser.add_argument("-o", "--output", choices=("yaml", "json"))
    parser.set_defaults(func=run)
