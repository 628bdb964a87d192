"""What every CLI command needs: the cluster config, a client, and name resolution.

Global flags (`--kubeconfig`, `--context`, `-n`, `--server`, `--token`) are applied
on top of the kubeconfig exactly as kubectl applies them. Commands run as asyncio
coroutines on the shared `tinykube.client.RESTClient`.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/util/factory.go
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TextIO

from tinykube.api.resources import INDEX, ResourceInfo
from tinykube.client import ClientConfig, RESTClient, load_kubeconfig
from tinykube.client.discovery import discover_resources


class CLIError(Exception):
    """A failure to report as one line (`error: ...`) with a non-zero exit code."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class CLIContext:
    args: argparse.Namespace
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    _config: ClientConfig | None = None
    _discovered: bool = False

    @property
    def config(self) -> ClientConfig:
        if self._config is None:
            self._config = resolve_config(self.args)
        return self._config

    @property
    def namespace(self) -> str:
        return self.args.namespace or self.config.namespace or "default"

    def client(self) -> RESTClient:
        """A new client; use as `async with ctx.client() as client:`. The server's
        warnings are printed as kubectl prints them (`Warning: ...` on stderr)."""
        return RESTClient(self.config, warning_handler=self.print_warning)

    def print_warning(self, text: str) -> None:
        print(f"Warning: {text}", file=self.err)

    def resource(self, name: str) -> ResourceInfo:
        info = INDEX.by_name(name)
        if info is None and self.discover():
            info = INDEX.by_name(name)
        if info is None:
            raise CLIError(f'the server doesn\'t have a resource type "{name}"')
        return info

    def resource_for_kind(self, api_version: str, kind: str) -> ResourceInfo | None:
        """The resource of a manifest's apiVersion/kind, custom resources included."""
        info = INDEX.by_kind(api_version, kind)
        if info is None and self.discover():
            info = INDEX.by_kind(api_version, kind)
        return info

    def discover(self) -> bool:
        """Add the server's custom resources to the index (once per run, only when a
        name is not built in); False if it was done already. Callable from the
        commands' event loop: the request runs on a loop of its own, in a thread."""
        if self._discovered:
            return False
        self._discovered = True

        async def fetch() -> None:
            async with self.client() as client:
                await discover_resources(client)

        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, fetch()).result()
        return True


def resolve_config(args: argparse.Namespace) -> ClientConfig:
    """kubeconfig + flag overrides; `--server` alone needs no kubeconfig."""
    server = getattr(args, "server", None)
    token = getattr(args, "token", None)
    try:
        config = load_kubeconfig(getattr(args, "kubeconfig", None), getattr(args, "context", None))
    except Exception as err:  # ConfigError, missing file, malformed YAML
        if not server:
            raise CLIError(f"{err}\nhint: bring a cluster up with `make up` and "
                           "`export KUBECONFIG=$PWD/kubeconfig`, or pass --server") from None
        config = ClientConfig(server=server)
    if server:
        config = dataclasses.replace(config, server=server.rstrip("/"))
    if token:
        config = dataclasses.replace(config, token=token, token_file=None)
    if getattr(args, "insecure_skip_tls_verify", False):
        config = dataclasses.replace(config, insecure_skip_tls_verify=True)
    return config


# --- naming objects on the command line (`deploy web`, `deploy/web`, `po,svc -l app=x`) ---


def object_ref(info: ResourceInfo, name: str) -> str:
    """How kubectl names an object in its output: `pod/web`, `deployment.apps/web`."""
    kind = f"{info.kind.lower()}.{info.group}" if info.group else info.kind.lower()
    return f"{kind}/{name}"


def parse_targets(ctx: CLIContext, words: list[str]) -> list[tuple[ResourceInfo, str | None]]:
    """`TYPE NAME...`, `TYPE/NAME...` or `TYPE[,TYPE]` (name None: select by -l/--all)."""
    if not words:
        raise CLIError("You must provide one or more resources by argument or filename.")
    if all("/" in word for word in words):
        targets: list[tuple[ResourceInfo, str | None]] = []
        for word in words:
            kind, _, name = word.partition("/")
            if not name:
                raise CLIError(f"arguments in resource/name form must have a single resource "
                               f"and name: {word!r}")
            targets.append((ctx.resource(kind), name))
        return targets
    if any("/" in word for word in words[1:]) or "/" in words[0]:
        raise CLIError("there is no need to specify a resource type as a separate argument "
                       "when passing arguments in resource/name form")
    infos = [ctx.resource(kind) for kind in words[0].split(",") if kind]
    if len(words) == 1:
        return [(info, None) for info in infos]
    return [(info, name) for info in infos for name in words[1:]]


async def select_objects(ctx: CLIContext, client: RESTClient, words: list[str], *,
                         selector: str | None = None, select_all: bool = False,
                         all_namespaces: bool = False) -> list[tuple[ResourceInfo, dict[str, Any]]]:
    """Fetch the objects `words` name, or list them by `-l`/`--all` when no name is given."""
    found: list[tuple[ResourceInfo, dict[str, Any]]] = []
    for info, name in parse_targets(ctx, words):
        namespace = ctx.namespace if info.namespaced else None
        if name is not None:
            if selector:
                raise CLIError("name cannot be provided when a selector is specified")
            found.append((info, await client.get(info, name, namespace)))
            continue
        if not (selector or select_all):
            raise CLIError("resource(s) were provided, but no name was specified")
        items, _ = await client.list(info, None if all_namespaces else namespace,
                                     label_selector=selector)
        found.extend((info, item) for item in items)
    return found
