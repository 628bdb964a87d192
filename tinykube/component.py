"""The component kit: what every tinykube process does the same way at start-up.

Each `python -m <component>` builds its flags with `component_parser`, parses Go-style
durations with `duration` (the one parser in the codebase), reaches the API server
through `add_client_flags`/`client_config_from_flags`, and runs its async main with
`run_until_signalled`, which sets up logging and turns SIGTERM/SIGINT into a graceful
stop. Leader-elected components share `add_leader_election_flags`.

- A bad flag is one line on stderr (`prog: error: argument --x: ...`) and exit 2.
- Durations follow Go's `time.ParseDuration`: "300ms", "5m0s", "1h30m", "1.5h",
  "0"; a number without a unit is refused, as kube components refuse it.
- `run_until_signalled(main)` returns `main`'s exit code; a stop by signal is 0.

Kubernetes counterpart: staging/src/k8s.io/component-base (cli, logs),
staging/src/k8s.io/apiserver/pkg/server/signal.go, Go's time.ParseDuration
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import NoReturn

from tinykube.client.config import ClientConfig, ConfigError, in_cluster_config, load_kubeconfig

log = logging.getLogger(__name__)

_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)([^\d.]*)")


def parse_duration(text: str) -> float:
    """Seconds in a Go duration string; ValueError with Go's message when it is not one."""
    value = text.strip()
    sign, body = (-1.0, value[1:]) if value.startswith("-") else (1.0, value.removeprefix("+"))
    if body == "0":
        return 0.0
    if not body:
        raise ValueError(f'time: invalid duration "{text}"')
    total, position = 0.0, 0
    for match in _DURATION_PART.finditer(body):
        if match.start() != position:
            raise ValueError(f'time: invalid duration "{text}"')
        number, unit = match.groups()
        if not unit:
            raise ValueError(f'time: missing unit in duration "{text}"')
        if unit not in _UNIT_SECONDS:
            raise ValueError(f'time: unknown unit "{unit}" in duration "{text}"')
        total += float(number) * _UNIT_SECONDS[unit]
        position = match.end()
    if position != len(body):
        raise ValueError(f'time: invalid duration "{text}"')
    return sign * total


def duration(text: str) -> float:
    """argparse type for duration flags: seconds as a float."""
    try:
        return parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: {err}") from None


def boolean(text: str) -> bool:
    """argparse type for `--flag=true|false` (Go's strconv.ParseBool spellings)."""
    lowered = text.strip().lower()
    if lowered in ("true", "t", "1", "yes"):
        return True
    if lowered in ("false", "f", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {text!r}")


class ComponentArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: `prog: error: argument --x: invalid duration ...`."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def component_parser(prog: str, doc: str | None) -> ComponentArgumentParser:
    """The parser every component starts from: its docstring as help, plus `-v`."""
    parser = ComponentArgumentParser(prog=prog, description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--v", type=int, default=2, help="log verbosity (>= 4: debug)")
    return parser


def add_client_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kubeconfig", default="",
                        help="kubeconfig with the API server and credentials (default: in a pod its service "
                             "account, else $KUBECONFIG, ~/.kube/config)")
    parser.add_argument("--master", default="",
                        help="API server URL; overrides the kubeconfig's server (alone: plain HTTP, anonymous)")


def client_config_from_flags(args: argparse.Namespace, user_agent: str) -> ClientConfig:
    """`--kubeconfig` and/or `--master`, else in-cluster config, as client-go's BuildConfigFromFlags."""
    master = (args.master or "").rstrip("/")
    if args.kubeconfig:
        config = load_kubeconfig(args.kubeconfig)
        if master:
            config.server = master
    elif master:
        config = ClientConfig(server=master)
    else:
        # Neither flag: a pod's service account when running in one, else $KUBECONFIG
        # or ~/.kube/config (client-go's BuildConfigFromFlags tries in-cluster first too).
        try:
            config = in_cluster_config()
        except ConfigError:
            config = load_kubeconfig()
    config.user_agent = user_agent
    return config


def add_leader_election_flags(parser: argparse.ArgumentParser, *, resource_name: str,
                              resource_namespace: str = "kube-system") -> None:
    parser.add_argument("--leader-elect", type=boolean, nargs="?", const=True, default=True)
    parser.add_argument("--leader-elect-lease-duration", type=duration, default=15.0)
    parser.add_argument("--leader-elect-renew-deadline", type=duration, default=10.0)
    parser.add_argument("--leader-elect-retry-period", type=duration, default=2.0)
    parser.add_argument("--leader-elect-resource-name", default=resource_name)
    parser.add_argument("--leader-elect-resource-namespace", default=resource_namespace)


def setup_logging(verbosity: int) -> None:
    """klog-like: INFO by default, DEBUG from -v=4; the HTTP library's chatter off."""
    logging.basicConfig(level=logging.DEBUG if verbosity >= 4 else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


Main = Callable[[asyncio.Event], Awaitable[int]]


def run_until_signalled(main: Main, *, verbosity: int | None = None) -> int:
    """Run `main(stopping)` until it returns or SIGTERM/SIGINT arrives.

    - On a signal, `stopping` is set and `main` is cancelled: its `finally` blocks do
      the graceful part (release leases, close clients). A cancel caused by a signal
      exits 0; `main` may read `stopping` to tell a signal from, e.g., a lost lease.
    - `verbosity` (the `-v` flag) sets up logging first when given.
    """
    if verbosity is not None:
        setup_logging(verbosity)

    async def runner() -> int:
        stopping = asyncio.Event()
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()

        def on_signal(signum: signal.Signals) -> None:
            if stopping.is_set():
                return
            log.info("stopping signal=%s", signum.name)
            stopping.set()
            task.cancel()

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, on_signal, signum)
        try:
            return await main(stopping)
        except asyncio.CancelledError:
            if stopping.is_set():
                return 0
            raise

    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(runner())
    return 0
