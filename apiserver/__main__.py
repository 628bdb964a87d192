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
import ssl
import sys
from collections.abc import Iterator

import uvicorn

from apiserver.allocator import first_service_ip
from apiserver.app import create_app
from apiserver.audit.event import LogBackend
from apiserver.audit.filter import AuditConfig
from apiserver.audit.policy import PolicyError, load_policy
from apiserver.auth import (Authenticator, TokenAuthenticator, UnionAuthenticator, X509Authenticator,
                           ensure_serving_certificate)
from apiserver.auth_bootstrap_token import BootstrapTokenAuthenticator
from apiserver.admission import PLUGINS, parse_plugins
import apiserver.authorization.rbac  # noqa: F401  (registers the RBAC mode)
from apiserver.authorization.authorizer import MODES, build_authorizer, parse_modes
# Modes and admission plugins register themselves in MODES / PLUGINS on import.
import apiserver.admission.noderestriction  # noqa: F401  NodeRestriction
import apiserver.authorization.node  # noqa: F401  --authorization-mode=Node
from apiserver.connections import guarded_protocol, raise_open_files_limit
from apiserver.controlplane.kubernetes_service import (
    DEFAULT_LEASE_TTL_SECONDS, DEFAULT_RECONCILE_INTERVAL_SECONDS, RECONCILER_TYPES, KubernetesServiceConfig,
    default_advertise_address,
)
from apiserver.flow.log import DEFAULT_FLOW_LOG_SIZE
from apiserver.inflight import MaxInFlightLimit
from apiserver.metrics import RequestMetrics
from apiserver.server import APIServer, ServerConfig
from apiserver.serviceaccount.authenticator import ServiceAccountAuthenticator
from apiserver.serviceaccount.issuer import DEFAULT_ISSUER, TokenIssuer
from apiserver.serviceaccount.keys import load_signing_keys
from apiserver.storage.compact import Compactor
from apiserver.storage.etcd import DEFAULT_MAX_RECEIVE_BYTES, EtcdStorage
from tinykube.api.resources import SECRETS
from apiserver.storage.value.encryption_config import EncryptionConfigError, load_encryption_config
from apiserver.storage.value.resource_transformers import ResourceTransformers
from tinykube.component import boolean, component_parser, duration, run_until_signalled
from tinykube.tlspeer import TLSScopeWSProtocol

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
    parser.add_argument("--client-ca-file", default="",
                        help="authenticate HTTPS clients by certificates this CA signed (CN = user, "
                        "O = groups)")
    parser.add_argument("--enable-bootstrap-token-auth", type=boolean, default=False,
                        help="accept bootstrap tokens (Secrets bootstrap-token-<id> in kube-system)")
    parser.add_argument("--anonymous-auth", type=boolean, default=False,
                        help="let requests without a token through on HTTPS")
    parser.add_argument("--authorization-mode", default="AlwaysAllow",
                        help="ordered list of authorizers for the HTTPS port (the plain HTTP "
                        "port is never authorized): " + ", ".join(sorted(MODES)))
    parser.add_argument("--enable-admission-plugins", default="",
                        help="admission plugins, in the order they run: "
                        + (", ".join(sorted(PLUGINS)) or "none yet"))
    # ServiceAccount tokens (apiserver/serviceaccount)
    parser.add_argument("--service-account-issuer", default=DEFAULT_ISSUER,
                        help="the `iss` of ServiceAccount tokens, checked on the way back")
    parser.add_argument("--service-account-signing-key-file", default="",
                        help="RSA private key that signs ServiceAccount tokens (default: "
                        "sa.key in --cert-dir, made on first start)")
    parser.add_argument("--service-account-key-file", action="append", default=[],
                        help="PEM file of public (or private) RSA keys that verify "
                        "ServiceAccount tokens, besides the signing key; may repeat")
    parser.add_argument("--service-account-max-token-expiration", type=duration, default=0.0,
                        help="the longest lifetime a TokenRequest gets; 0 = no cap")
    parser.add_argument("--api-audiences", default="",
                        help="audiences tokens must carry one of (default: the issuer)")
    parser.add_argument("--service-cluster-ip-range", default="10.96.0.0/16")
    parser.add_argument("--service-node-port-range", default="30000-32767")
    parser.add_argument("--kubelet-client-token-file", default="",
                        help="tinykube: bearer token for calls to kubelets (hollow-node tests only; "
                        "clusters use --kubelet-client-certificate)")
    parser.add_argument("--kubelet-client-certificate", default="",
                        help="the client certificate presented to kubelets")
    parser.add_argument("--kubelet-client-key", default="", help="its private key")
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
    parser.add_argument("--encryption-provider-config", default="",
                        help="EncryptionConfiguration file: the providers that encrypt the "
                        "listed resources in etcd (aesgcm, aescbc, identity)")
    parser.add_argument("--audit-log-path", default="",
                        help="write audit events (audit.k8s.io/v1 Event JSON lines) to this file; "
                        "'-' means stdout")
    parser.add_argument("--audit-policy-file", default="",
                        help="audit.k8s.io/v1 Policy: which requests are audited at which level")
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
    args.audit = None
    if args.audit_policy_file and args.audit_log_path:
        try:
            args.audit = AuditConfig(load_policy(args.audit_policy_file), LogBackend(args.audit_log_path))
        except (PolicyError, OSError) as err:
            sys.exit(f"--audit-policy-file: {err}")
    elif args.audit_log_path or args.audit_policy_file:
        # Upstream records nothing then (no policy, or no backend); say so instead.
        sys.exit("auditing needs both --audit-log-path and --audit-policy-file")
    args.transformers = None
    if args.encryption_provider_config:
        try:
            args.transformers = ResourceTransformers(
                load_encryption_config(args.encryption_provider_config))
        except EncryptionConfigError as err:
            sys.exit(f"--encryption-provider-config: {err}")
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
    if 0 < args.service_account_max_token_expiration < 3600:
        sys.exit("--service-account-max-token-expiration must be at least 1h")
    if args.secure_port and not args.anonymous_auth and not (
            args.token_auth_file or args.client_ca_file or args.enable_bootstrap_token_auth):
        sys.exit("--token-auth-file or --client-ca-file is required for HTTPS unless "
                 "--anonymous-auth=true")
    if bool(args.kubelet_client_certificate) != bool(args.kubelet_client_key):
        sys.exit("--kubelet-client-certificate and --kubelet-client-key go together")
    return args


class _Server(uvicorn.Server):
    """uvicorn without signal handlers of its own: run_until_signalled owns
    SIGTERM/SIGINT, and the stop is graceful through `should_exit`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def https_authenticator(args: argparse.Namespace, server: APIServer) -> UnionAuthenticator:
    """The authenticators of the HTTPS port, asked in turn; TokenReview asks the same."""
    authenticators: list[Authenticator] = []
    if args.token_auth_file:
        authenticators.append(TokenAuthenticator.from_file(args.token_auth_file))
    if args.client_ca_file:
        authenticators.append(X509Authenticator())
    if args.enable_bootstrap_token_auth:
        secrets = server.registries[SECRETS]
        authenticators.append(BootstrapTokenAuthenticator(
            lambda namespace, name: secrets.cache.cached(secrets.key(namespace, name))))
    if server.token_issuer is not None:
        authenticators.append(ServiceAccountAuthenticator(server.token_issuer, server))
    return UnionAuthenticator(authenticators)


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
            authenticator = https_authenticator(args, server)
            server.authenticator = authenticator
        cert, key = args.tls_cert_file, args.tls_private_key_file
        if not cert:
            generated = ensure_serving_certificate(
                args.cert_dir, [s for s in args.tls_sans.split(",") if s])
            cert, key = str(generated.cert_file), str(generated.key_file)
        servers.append(_Server(uvicorn.Config(
            create_app(server, metrics, authenticator, in_flight,
                       server.authorizer, args.audit), host=args.bind_address,
            port=args.secure_port, ssl_certfile=cert, ssl_keyfile=key, http=protocol, ws=TLSScopeWSProtocol,
            # A client certificate is asked for, and verified when given (Go's VerifyClientCertIfGiven).
            ssl_ca_certs=args.client_ca_file or None,
            ssl_cert_reqs=ssl.CERT_OPTIONAL if args.client_ca_file else ssl.CERT_NONE,
            log_level=log_level, lifespan="off", timeout_graceful_shutdown=2)))
    if args.port:
        servers.append(_Server(uvicorn.Config(
            create_app(server, metrics, None, in_flight, audit=args.audit),
            host=args.insecure_bind_address,
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
    storage = EtcdStorage(args.etcd_servers, max_receive_bytes=args.etcd_max_recv_bytes,
                          transformers=args.transformers)
    await storage.connect()
    server = APIServer(storage, ServerConfig(
        service_cluster_ip_range=args.service_cluster_ip_range,
        service_node_port_range=args.service_node_port_range,
        kubelet_client_token_file=args.kubelet_client_token_file,
        kubelet_certificate_authority=args.kubelet_certificate_authority,
        kubelet_client_certificate=args.kubelet_client_certificate,
        kubelet_client_key=args.kubelet_client_key,
        etcd_healthcheck_timeout_seconds=args.etcd_healthcheck_timeout,
        etcd_readycheck_timeout_seconds=args.etcd_readycheck_timeout,
        flow_log_size=args.flow_log_size,
        admission_plugins=tuple(args.admission_plugins),
        kubernetes_service=_kubernetes_service(args)))
    server.token_issuer = TokenIssuer(
        load_signing_keys(args.service_account_signing_key_file, args.service_account_key_file,
                          args.cert_dir),
        args.service_account_issuer, [a for a in args.api_audiences.split(",") if a],
        int(args.service_account_max_token_expiration))
    # Built before start: RBAC adds its escalation check to the admission chain.
    server.authorizer = build_authorizer(args.authorization_modes, server)
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
