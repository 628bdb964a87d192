"""`python -m apiserver`: run the API server.

Flags use kube-apiserver's names. HTTPS (`--secure-port`, default 6443) always
runs; plain HTTP (`--port`, default off) is for local tests and is anonymous.

    python -m apiserver --etcd-servers http://127.0.0.1:2379 \
        --token-auth-file tokens.csv --cert-dir var/pki --port 8080

Kubernetes counterpart: cmd/kube-apiserver/app/server.go
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import sys
from collections.abc import Iterator

import uvicorn

from apiserver.allocator import first_service_ip
from apiserver.app import create_app
from apiserver.auth import TokenAuthenticator, UnionAuthenticator, ensure_serving_certificate
from apiserver.admission import PLUGINS, parse_plugins
from apiserver.authorization.authorizer import MODES, build_authorizer, parse_modes
from apiserver.connections import guarded_protocol, raise_open_files_limit
from apiserver.controlplane.kubernetes_service import (
    DEFAULT_LEASE_TTL_SECONDS, DEFAULT_RECONCILE_INTERVAL_SECONDS, RECONCILER_TYPES, KubernetesServiceConfig,
    default_advertise_address,
)
from apiserver.flow.log import DEFAULT_FLOW_LOG_SIZE
from apiserver.inflight import MaxInFlightLimit
from apiserver.metrics import RequestMetrics
from apiserver.server import APIServer, ServerConfig
from apiserver.storage.compact import Compactor
from apiserver.storage.etcd import DEFAULT_MAX_RECEIVE_BYTES, EtcdStorage
from tinykube.component import boolean, component_parser, duration, run_until_signalled

log = logging.getLogger("apiserver")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = component_parser("python -m apiserver", __doc__)
    parser.set_defaults(v=0)  # -v 2 turns on uvicorn's access log
    parser.add_argument("--etcd-servers", default="http://127.0.0.1:2379")
    parser.add_argument("--etcd-compaction-interval", type=duration, default=300.0,
                        help="how often to compact etcd's history older than one interval; "
                             "0 turns compaction off")
    parser.add_argument("--etcd-healthcheck-timeout", type=duration, default=2.0,
                        help="how long the etcd check of /livez and /readyz waits for etcd")
    parser.add_argument("--etcd-readycheck-timeout", type=duration, default=2.0,
                        help="how long the etcd-readiness check of /readyz waits for etcd")
    parser.add_argument("--etcd-max-recv-bytes", type=int, default=DEFAULT_MAX_RECEIVE_BYTES,
                        help="tinykube: the largest gRPC message accepted from etcd (lists "
                             "are read in pages below it; one object must fit)")
    parser.add_argument("--bind-address", default="0.0.0.0")
    parser.add_argument("--secure-port", type=int, default=6443,
                        help="HTTPS port; 0 turns HTTPS off")
    parser.add_argument("--port", type=int, default=0, help="plain HTTP port (anonymous); 0 = off")
    parser.add_argument("--insecure-bind-address", default="127.0.0.1")
    parser.add_argument("--tls-cert-file", default="")
    parser.add_argument("--tls-private-key-file", default="")
    parser.add_argument("--cert-dir", default="var/pki",
                        help="where the generated CA and serving certificate live")
    parser.add_argument("--tls-sans", default="", help="extra names/IPs for the serving cert")
    parser.add_argument("--token-auth-file", default="")
    parser.add_argument("--anonymous-auth", type=boolean, default=False,
                        help="let requests without a token through on HTTPS")
    parser.add_argument("--authorization-mode", default="AlwaysAllow",
                        help="ordered list of authorizers for the HTTPS port (the plain HTTP "
                        "port is never authorized): " + ", ".join(sorted(MODES)))
    parser.add_argument("--enable-admission-plugins", default="",
                        help="admission plugins, in the order they run: "
                        + (", ".join(sorted(PLUGINS)) or "none yet"))
    parser.add_argument("--service-cluster-ip-range", default="10.96.0.0/16")
    parser.add_argument("--service-node-port-range", default="30000-32767")
    parser.add_argument("--kubelet-client-token-file", default="",
                        help="tinykube: bearer token for calls to kubelets (logs, exec, ...)")
    parser.add_argument("--kubelet-certificate-authority", default="",
                        help="CA to verify kubelets' serving certificates (default: not verified)")
    parser.add_argument("--max-requests-inflight", type=int, default=400,
                        help="read-only requests served at once (beyond: 429); 0 = no limit")
    parser.add_argument("--max-mutating-requests-inflight", type=int, default=200,
                        help="mutating requests served at once (beyond: 429); 0 = no limit")
    parser.add_argument("--read-header-timeout", type=duration, default=32.0,
                        help="tinykube: close a connection whose request headers take longer "
                        "(Go's http.Server ReadHeaderTimeout, 32s in kube-apiserver); 0 = none")
    parser.add_argument("--read-body-timeout", type=duration, default=60.0,
                        help="tinykube: close a connection whose request body takes longer "
                        "after its headers; 0 = none")
    parser.add_argument("--max-connections", type=int, default=10_000,
                        help="tinykube: open connections per listener; beyond, a new one gets "
                        "503 and is closed; 0 = no cap")
    parser.add_argument("--flow-log-size", type=int, default=DEFAULT_FLOW_LOG_SIZE,
                        help="tinykube: records the flow log keeps (writes and watch deliveries, "
                        "served at /apis/flow.tinykube.io/v1alpha1/flowrecords); 0 = off")
    # The `kubernetes` Service and its endpoints (apiserver/controlplane/).
    parser.add_argument("--advertise-address", default="",
                        help="this server's IPv4 address in the kubernetes Service's endpoints "
                        "(default: --bind-address if specific, else the host's default-route address)")
    parser.add_argument("--endpoint-reconciler-type", default="lease", choices=RECONCILER_TYPES,
                        help="lease: the kubernetes Service lists the API servers holding live "
                        "leases; none: its endpoints are not written")
    parser.add_argument("--endpoint-lease-ttl", type=duration, default=float(DEFAULT_LEASE_TTL_SECONDS),
                        help="tinykube: how long an API server's endpoint lease lives unrenewed "
                        "(whole seconds)")
    parser.add_argument("--endpoint-reconcile-interval", type=duration,
                        default=DEFAULT_RECONCILE_INTERVAL_SECONDS,
                        help="tinykube: how often the lease is renewed and the endpoints checked")
    args = parser.parse_args(argv)
    args.advertise_address = args.advertise_address or default_advertise_address(args.bind_address)
    try:
        if ipaddress.ip_address(args.advertise_address).version != 4:
            sys.exit("--advertise-address: only IPv4 addresses are supported")
    except ValueError as err:
        sys.exit(f"--advertise-address: {err}")
    if args.endpoint_lease_ttl < 1 or args.endpoint_reconcile_interval <= 0:
        sys.exit("--endpoint-lease-ttl must be at least 1s and --endpoint-reconcile-interval positive")
    if not args.secure_port and not args.port:
        sys.exit("nothing to serve: both --secure-port and --port are 0")
    try:
        args.authorization_modes = parse_modes(args.authorization_mode)
    except ValueError as err:
        sys.exit(f"--authorization-mode: {err}")
    try:
        args.admission_plugins = parse_plugins(args.enable_admission_plugins)
    except ValueError as err:
        sys.exit(f"--enable-admission-plugins: {err}")
    if args.secure_port and not args.anonymous_auth and not args.token_auth_file:
        sys.exit("--token-auth-file is required for HTTPS unless --anonymous-auth=true")
    return args


class _Server(uvicorn.Server):
    """uvicorn without signal handlers of its own: run_until_signalled owns
    SIGTERM/SIGINT, and the stop is graceful through `should_exit`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _servers(args: argparse.Namespace, server: APIServer) -> list[_Server]:
    metrics = RequestMetrics()
    in_flight = MaxInFlightLimit(args.max_requests_inflight, args.max_mutating_requests_inflight)
    protocol = guarded_protocol(args.read_header_timeout, args.read_body_timeout,
                                args.max_connections)
    log_level = "info" if args.v >= 2 else "warning"
    servers = []
    if args.secure_port:
        authenticator = None
        if not args.anonymous_auth:
            # The authenticators of the HTTPS port, asked in turn; TokenReview asks the same.
            authenticator = UnionAuthenticator([TokenAuthenticator.from_file(args.token_auth_file)])
            server.authenticator = authenticator
        cert, key = args.tls_cert_file, args.tls_private_key_file
        if not cert:
            generated = ensure_serving_certificate(
                args.cert_dir, [s for s in args.tls_sans.split(",") if s])
            cert, key = str(generated.cert_file), str(generated.key_file)
        servers.append(_Server(uvicorn.Config(
            create_app(server, metrics, authenticator, in_flight,
                       build_authorizer(args.authorization_modes, server)), host=args.bind_address,
            port=args.secure_port, ssl_certfile=cert, ssl_keyfile=key, http=protocol, ws="wsproto",
            log_level=log_level, lifespan="off", timeout_graceful_shutdown=2)))
    if args.port:
        servers.append(_Server(uvicorn.Config(
            create_app(server, metrics, None, in_flight), host=args.insecure_bind_address,
            port=args.port, http=protocol, ws="wsproto", log_level=log_level, lifespan="off",
            timeout_graceful_shutdown=2)))
    return servers


def _kubernetes_service(args: argparse.Namespace) -> KubernetesServiceConfig | None:
    """The `kubernetes` Service points at the secure port; without one there is none."""
    if not args.secure_port:
        return None
    return KubernetesServiceConfig(
        service_ip=first_service_ip(args.service_cluster_ip_range), secure_port=args.secure_port,
        advertise_address=args.advertise_address, reconciler_type=args.endpoint_reconciler_type,
        lease_ttl_seconds=max(1, round(args.endpoint_lease_ttl)),
        reconcile_interval_seconds=args.endpoint_reconcile_interval)


async def run(args: argparse.Namespace, stopping: asyncio.Event) -> int:
    raise_open_files_limit()
    storage = EtcdStorage(args.etcd_servers, max_receive_bytes=args.etcd_max_recv_bytes)
    await storage.connect()
    server = APIServer(storage, ServerConfig(
        service_cluster_ip_range=args.service_cluster_ip_range,
        service_node_port_range=args.service_node_port_range,
        kubelet_client_token_file=args.kubelet_client_token_file,
        kubelet_certificate_authority=args.kubelet_certificate_authority,
        etcd_healthcheck_timeout_seconds=args.etcd_healthcheck_timeout,
        etcd_readycheck_timeout_seconds=args.etcd_readycheck_timeout,
        flow_log_size=args.flow_log_size,
        admission_plugins=tuple(args.admission_plugins),
        kubernetes_service=_kubernetes_service(args)))
    await server.start()
    compactor = Compactor(storage, args.etcd_compaction_interval)
    compactor.start()
    servers = _servers(args, server)
    log.info("serving secure_port=%s port=%s etcd=%s", args.secure_port, args.port,
             args.etcd_servers)
    serving = [asyncio.create_task(s.serve()) for s in servers]
    try:
        # A listener that ends on its own (its port is taken) ends the API server.
        done, _ = await asyncio.wait(serving, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
        return 1
    finally:
        for s in servers:
            s.should_exit = True  # graceful: open requests get timeout_graceful_shutdown
        await asyncio.wait(serving)
        await compactor.stop()
        await server.stop()
        await storage.close()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sys.exit(run_until_signalled(lambda stopping: run(args, stopping), verbosity=args.v))


if __name__ == "__main__":
    main()
