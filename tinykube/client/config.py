"""Where the API server is and how to prove who we are: kubeconfig and in-cluster config.

A `ClientConfig` is the resolved result (server URL, bearer token, CA, client
certificate, default namespace). It comes from one of two places, as in client-go:

- `load_kubeconfig()`: kubectl's file format. `$KUBECONFIG` may list several files
  separated by `:`; they are merged like kubectl does (the first file that defines a
  cluster, user or context name wins, and the first non-empty current-context wins).
  Relative paths inside a file are relative to that file's directory.
- `in_cluster_config()`: a pod's service account, from KUBERNETES_SERVICE_HOST/PORT
  and the files mounted at /var/run/secrets/kubernetes.io/serviceaccount.

Kubernetes counterpart: staging/src/k8s.io/client-go/tools/clientcmd/loader.go,
staging/src/k8s.io/client-go/rest/config.go (InClusterConfig)
"""

from __future__ import annotations

import base64
import binascii
import os
import ssl
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
TOKEN_FILE_REREAD_SECONDS = 60.0  # client-go's cached file token source: re-read every minute
DEFAULT_KUBECONFIG = Path("~/.kube/config")


class ConfigError(Exception):
    """The configuration cannot be used; the message says what to fix."""


@dataclass
class ClientConfig:
    """Everything needed to reach and authenticate to one API server.

    - `ca_file`/`ca_data` (PEM) name the CA that signed the server's certificate;
      without either, the system trust store is used.
    - `namespace` is the default for callers that do not pass one.
    - `token_file` (in-cluster config, a kubeconfig's `tokenFile`) is re-read at most
      once a minute by `bearer_token()`: the kubelet rotates a pod's projected token
      before it expires, and a long-running client picks up the new one.
    """

    server: str
    token: str | None = None
    ca_file: str | None = None
    ca_data: bytes | None = None
    insecure_skip_tls_verify: bool = False
    client_cert_file: str | None = None
    client_key_file: str | None = None
    client_cert_data: bytes | None = None
    client_key_data: bytes | None = None
    namespace: str = "default"
    user_agent: str = "tinykube"
    timeout_seconds: float = 30.0
    token_file: str | None = None
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    _token_read_at: float | None = field(default=None, init=False, repr=False, compare=False)

    def bearer_token(self) -> str | None:
        """The token to send now: `token`, refreshed from `token_file` when a minute old
        (a file that cannot be read keeps the last token, as client-go does)."""
        if self.token_file:
            now = self.clock()
            if self._token_read_at is None or now - self._token_read_at >= TOKEN_FILE_REREAD_SECONDS:
                try:
                    self.token = Path(self.token_file).read_text().strip() or self.token
                except OSError:
                    pass
                self._token_read_at = now
        return self.token

    def ssl_context(self) -> ssl.SSLContext | bool:
        """What to pass as httpx's `verify`: a context for HTTPS, True for plain HTTP."""
        if not self.server.startswith("https://"):
            return True
        if self.insecure_skip_tls_verify:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif self.ca_data:
            context = ssl.create_default_context(cadata=self.ca_data.decode())
        elif self.ca_file:
            try:
                context = ssl.create_default_context(cafile=self.ca_file)
            except (OSError, ssl.SSLError) as err:
                raise ConfigError(f"cannot read certificate authority {self.ca_file}: {err}") from None
        else:
            context = ssl.create_default_context()
        self._load_client_certificate(context)
        return context

    def _load_client_certificate(self, context: ssl.SSLContext) -> None:
        if self.client_cert_file and self.client_key_file:
            context.load_cert_chain(self.client_cert_file, self.client_key_file)
        elif self.client_cert_data and self.client_key_data:
            # The ssl module loads certificates only from files.
            with tempfile.TemporaryDirectory(prefix="tinykube-cert-") as tmp:
                cert, key = Path(tmp) / "client.crt", Path(tmp) / "client.key"
                cert.write_bytes(self.client_cert_data)
                key.write_bytes(self.client_key_data)
                key.chmod(0o600)
                context.load_cert_chain(str(cert), str(key))


def kubeconfig_paths(path: str | os.PathLike[str] | None = None,
                     env: Mapping[str, str] | None = None) -> list[Path]:
    """The files to read: `path`, else every entry of $KUBECONFIG, else ~/.kube/config."""
    if path is not None:
        return [Path(path).expanduser()]
    environ = os.environ if env is None else env
    listed = [p for p in environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    if listed:
        return [Path(p).expanduser() for p in listed]
    return [DEFAULT_KUBECONFIG.expanduser()]


def _named(entries: Any, field: str, source: Path) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for entry in entries or []:
        if not isinstance(entry, dict) or "name" not in entry:
            raise ConfigError(f"{source}: every entry under {field}s needs a name")
        body = entry.get(field) or {}
        # Remember the file it came from: relative paths resolve against it.
        result[str(entry["name"])] = {**body, "__dir__": source.parent}
    return result


def merge_kubeconfigs(paths: list[Path]) -> dict[str, Any]:
    """kubectl's merge: first definition of each name wins, first current-context wins."""
    merged: dict[str, Any] = {"clusters": {}, "users": {}, "contexts": {}, "current-context": ""}
    found = False
    for source in paths:
        if not source.exists():
            continue  # kubectl skips missing files in $KUBECONFIG
        found = True
        try:
            data = yaml.safe_load(source.read_text()) or {}
        except (OSError, yaml.YAMLError) as err:
            raise ConfigError(f"cannot read kubeconfig {source}: {err}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{source} is not a kubeconfig (expected a mapping)")
        for section, field in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
            for name, body in _named(data.get(section), field, source).items():
                merged[section].setdefault(name, body)
        if not merged["current-context"] and data.get("current-context"):
            merged["current-context"] = str(data["current-context"])
    if not found:
        raise ConfigError("no kubeconfig found: looked at " + ", ".join(str(p) for p in paths)
                          + " (set $KUBECONFIG or pass --kubeconfig)")
    return merged


def _resolve(base: Path, value: str) -> str:
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else base / path)


def _decode(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{what} is not valid base64") from None


def load_kubeconfig(path: str | os.PathLike[str] | None = None, context: str | None = None,
                    env: Mapping[str, str] | None = None) -> ClientConfig:
    """The ClientConfig for `context` (default: current-context) from kubeconfig files."""
    merged = merge_kubeconfigs(kubeconfig_paths(path, env))
    context_name = context or merged["current-context"]
    if not context_name:
        raise ConfigError("the kubeconfig has no current-context; pass a context name")
    ctx = merged["contexts"].get(context_name)
    if ctx is None:
        raise ConfigError(f'context "{context_name}" does not exist in the kubeconfig')
    cluster = merged["clusters"].get(str(ctx.get("cluster", "")))
    if cluster is None:
        raise ConfigError(f'context "{context_name}" refers to cluster "{ctx.get("cluster")}", '
                          "which is not defined")
    user: dict[str, Any] = {}
    if ctx.get("user"):
        found = merged["users"].get(str(ctx["user"]))
        if found is None:
            raise ConfigError(f'context "{context_name}" refers to user "{ctx["user"]}", '
                              "which is not defined")
        user = found
    server = str(cluster.get("server") or "").rstrip("/")
    if not server:
        raise ConfigError(f'cluster "{ctx.get("cluster")}" has no server URL')
    config = ClientConfig(server=server, namespace=str(ctx.get("namespace") or "default"),
                          insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify")))
    if cluster.get("certificate-authority-data"):
        config.ca_data = _decode(cluster["certificate-authority-data"], "certificate-authority-data")
    elif cluster.get("certificate-authority"):
        config.ca_file = _resolve(cluster["__dir__"], cluster["certificate-authority"])
    if user.get("token"):
        config.token = str(user["token"])
    elif user.get("tokenFile"):
        token_path = _resolve(user["__dir__"], user["tokenFile"])
        try:
            config.token = Path(token_path).read_text().strip()
            config.token_file = str(token_path)
        except OSError as err:
            raise ConfigError(f"cannot read tokenFile {token_path}: {err.strerror}") from None
    if user.get("client-certificate-data") and user.get("client-key-data"):
        config.client_cert_data = _decode(user["client-certificate-data"], "client-certificate-data")
        config.client_key_data = _decode(user["client-key-data"], "client-key-data")
    elif user.get("client-certificate") and user.get("client-key"):
        config.client_cert_file = _resolve(user["__dir__"], user["client-certificate"])
        config.client_key_file = _resolve(user["__dir__"], user["client-key"])
    return config


def in_cluster_config(env: Mapping[str, str] | None = None,
                      service_account_dir: str | os.PathLike[str] = SERVICE_ACCOUNT_DIR) -> ClientConfig:
    """The config of a process running in a pod, from its service account mount."""
    environ = os.environ if env is None else env
    host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        raise ConfigError("not running in a cluster: KUBERNETES_SERVICE_HOST and "
                          "KUBERNETES_SERVICE_PORT must be set")
    directory = Path(service_account_dir)
    try:
        token = (directory / "token").read_text().strip()
    except OSError as err:
        raise ConfigError(f"cannot read the service account token {directory / 'token'}: "
                          f"{err.strerror}") from None
    ca_file = directory / "ca.crt"
    if not ca_file.exists():
        raise ConfigError(f"the service account CA {ca_file} is missing")
    namespace_file = directory / "namespace"
    namespace = namespace_file.read_text().strip() if namespace_file.exists() else "default"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal in a URL
    return ClientConfig(server=f"https://{host}:{port}", token=token, ca_file=str(ca_file),
                        namespace=namespace or "default", token_file=str(directory / "token"))
