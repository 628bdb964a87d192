"""What every CLI command needs: the cluster config, a client, and name resolution.

Global flags (`--kubeconfig`, `--context`, `-n`, `--server`, `--token`) are applied
on top of the kubeconfig exactly as kubectl applies them. Commands run as asyncio
coroutines on the shared `tinykube.client.RESTClient`.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/util/factory.go
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass, field
from typing import TextIO

from tinykube.api.resources import INDEX, ResourceInfo
from tinykube.client import ClientConfig, RESTClient, load_kubeconfig


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

    @property
    def config(self) -> ClientConfig:
        if self._config is None:
            self._config = resolve_config(self.args)
        return self._config

    @property
    def namespace(self) -> str:
        return self.args.namespace or self.config.namespace or "default"

    def client(self) -> RESTClient:
        """A new client; use as `async with ctx.client() as client:`."""
        return RESTClient(self.config)

    def resource(self, name: str) -> ResourceInfo:
        info = INDEX.by_name(name)
        if info is None:
            raise CLIError(f'the server doesn\'t have a resource type "{name}"')
        return info


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
        config = dataclasses.replace(config, token=token)
    if getattr(args, "insecure_skip_tls_verify", False):
        config = dataclasses.replace(config, insecure_skip_tls_verify=True)
    return config
