"""`tinykube`: the command line, kubectl-style.

Each command lives in `tinykube/cli/commands/<name>.py` and exposes
`register(subparsers)`, which adds its parser and sets `func` to a coroutine
`async def run(ctx: CLIContext) -> int`. Errors from the server are printed the way
kubectl prints them (`Error from server (NotFound): ...`); connection failures name
the server and how to bring a cluster up.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/cmd.go
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import sys

import httpx

from tinykube.cli.context import CLIContext, CLIError
from tinykube.client import APIStatusError

# Command modules, in the order `tinykube --help` lists them. Modules that are not
# written yet are skipped, so commands can land one by one.
COMMAND_MODULES = (
    "create", "get", "run", "expose", "delete", "apply", "edit", "label", "annotate", "patch",
    "scale", "rollout", "wait", "describe", "events", "logs", "exec", "port_forward", "top",
    "explain", "api_resources", "version", "config", "completion", "cluster",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinykube", description="tinykube controls a tinykube (or any Kubernetes) cluster.")
    parser.add_argument("--kubeconfig", help="path to the kubeconfig file ($KUBECONFIG otherwise)")
    parser.add_argument("--context", help="the kubeconfig context to use")
    parser.add_argument("-n", "--namespace", help="the namespace for this request")
    parser.add_argument("-s", "--server", help="the API server's address")
    parser.add_argument("--token", help="bearer token for authentication")
    parser.add_argument("--insecure-skip-tls-verify", action="store_true",
                        help="do not check the server's certificate")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module_name = f"tinykube.cli.commands.{name}"
        if importlib.util.find_spec(module_name) is None:
            continue
        importlib.import_module(module_name).register(subparsers)
    return parser


def format_api_error(err: APIStatusError) -> str:
    return f"Error from server ({err.reason or 'Unknown'}): {err.message}"


async def _run(ctx: CLIContext) -> int:
    return int(await ctx.args.func(ctx) or 0)


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not getattr(args, "func", None):
        parser.print_help()
        sys.exit(0 if args.command is None else 1)
    ctx = CLIContext(args)
    try:
        code = asyncio.run(_run(ctx))
    except CLIError as err:
        print(f"error: {err}", file=sys.stderr)
        code = err.exit_code
    except APIStatusError as err:
        print(format_api_error(err), file=sys.stderr)
        code = 1
    except httpx.ConnectError:
        server = ctx.config.server if ctx._config else "the API server"
        print(f"error: cannot connect to the server at {server}: is the cluster up? "
              "(`make up` starts one)", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)
