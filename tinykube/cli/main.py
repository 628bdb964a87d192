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

from tinykube.cli.context import CLIContext, CLIError
from tinykube.client import APIStatusError, TransportError

# Command modules, in the order `tinykube --help` lists them. Modules that are not
# written yet are skipped, so commands can land one by one.
COMMAND_MODULES = (
    "create", "get", "run", "expose", "delete", "apply", "edit", "label", "annotate", "patch",
    "scale", "autoscale", "rollout", "drain", "wait", "describe", "events", "logs", "exec", "port_forward", "top",
    "trace", "dashboard", "auth",
    "explain", "api_resources", "version", "config", "completion", "cluster",
)
# Commands registered by a module of another name.
MODULE_OF_COMMAND = {command: "cluster" for command in
                     ("up", "down", "status", "load-image", "images", "node", "init", "join", "reset")}
MODULE_OF_COMMAND.update(cordon="drain", uncordon="drain")


_GLOBAL_FLAGS_WITH_VALUES = ("--kubeconfig", "--context", "-n", "--namespace", "-s", "--server",
                             "--token")


def command_in(argv: list[str]) -> str | None:
    """The command word of argv (`get` in `tinykube -n x get pods`), if any."""
    skip_next = False
    for word in argv:
        if skip_next:
            skip_next = False
        elif word == "--":
            return None
        elif word in _GLOBAL_FLAGS_WITH_VALUES:
            skip_next = True
        elif not word.startswith("-"):
            return word
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The full parser; given argv naming a command, only that command's module is
    imported (start-up time matters for a CLI), otherwise all of them (for --help)."""
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
    wanted = command_in(argv) if argv is not None else None
    modules = COMMAND_MODULES
    wanted = MODULE_OF_COMMAND.get(wanted or "", wanted)
    if wanted is not None and wanted.replace("-", "_") in COMMAND_MODULES:
        modules = (wanted.replace("-", "_"),)
    for name in modules:
        module_name = f"tinykube.cli.commands.{name}"
        if importlib.util.find_spec(module_name) is None:
            continue
        importlib.import_module(module_name).register(subparsers)
    for subparser in subparsers.choices.values():
        add_global_flags(subparser)
    return parser


def nested_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """A command's own subcommands (`rollout status`, `node add`), recursively."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found += [child, *nested_parsers(child)]
    return found


def add_global_flags(parser: argparse.ArgumentParser) -> None:
    """Accept the global flags after the command too (`tinykube get pods -n x`,
    `tinykube rollout status deploy/x -n y`), as kubectl does. SUPPRESS keeps a flag
    given before the command from being reset."""
    for child in nested_parsers(parser):
        add_global_flags(child)
    flags = (("--kubeconfig",), ("--context",), ("-n", "--namespace"), ("-s", "--server"),
             ("--token",))
    for names in flags:
        try:
            parser.add_argument(*names, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        except argparse.ArgumentError:
            continue  # the command defines this flag itself
    try:
        parser.add_argument("--insecure-skip-tls-verify", action="store_true",
                            default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    except argparse.ArgumentError:
        pass


def format_api_error(err: APIStatusError) -> str:
    if err.code == 401:
        # kubectl's wording for a missing or wrong token.
        return "error: You must be logged in to the server (Unauthorized)"
    return f"Error from server ({err.reason or 'Unknown'}): {err.message}"


async def _run(ctx: CLIContext) -> int:
    return int(await ctx.args.func(ctx) or 0)


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    words = sys.argv[1:] if argv is None else argv
    args, extras = parser.parse_known_args(words)
    # kubectl takes flags between positional words (`label pods -l app=x env=prod`);
    # a command opts in by naming its positional list in `intermixed_positionals`.
    field = getattr(args, "intermixed_positionals", None)
    # Commands that take `-- ARG...` (run) set `takes_extra_args`: they get the words
    # after `--` as `args.extra_args`.
    if extras and extras[0] == "--" and getattr(args, "takes_extra_args", False):
        args.extra_args, extras = extras[1:], []
    elif extras and "--" in words and getattr(args, "takes_extra_args", False):
        # argparse drops the `--` itself when it ends a positional (`trace deploy/web -- ...`).
        after = words[words.index("--") + 1:]
        if extras == after:
            args.extra_args, extras = after, []
    if extras and (field is None or any(word.startswith("-") for word in extras)):
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    if extras:
        getattr(args, field).extend(extras)
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
    except TransportError:
        server = ctx.config.server if ctx._config else "the API server"
        print(f"error: cannot connect to the server at {server}: is the cluster up? "
              "(`make up` starts one)", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)
