"""Ingress routing: host rules, longest path, Exact over Prefix, defaults, TLS hosts;
and the proxy itself, on loopback with two fake backends."""

from __future__ import annotations

import asyncio
import base64
import ssl
from typing import Any

from ingress_controller.proxy import CertificateStore, IngressProxy, self_signed
from ingress_controller.routes import Route, build_table, host_matches, path_matches
from tinykube.api.core import (
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSubset,
    Secret,
    Service,
    ServicePort,
    ServiceSpec,
)
from tinykube.api.meta import ObjectMeta
from tinykube.api.other import (
    HTTPIngressPath,
    HTTPIngressRuleValue,
    Ingress,
    IngressBackend,
    IngressRule,
    IngressServiceBackend,
    IngressSpec,
    IngressTLS,
    ServiceBackendPort,
)


def service(name: str, port: int = 80) -> Service:
    return Service(metadata=ObjectMeta(name=name, namespace="shop"),
                   spec=ServiceSpec(ports=[ServicePort(name="http", port=port, target_port=8080)]))


def endpoints(name: str, *ips: str, port: int = 8080) -> Endpoints:
    subset = EndpointSubset(addresses=[EndpointAddress(ip=ip) for ip in ips],
                            ports=[EndpointPort(name="http", port=port)])
    return Endpoints(metadata=ObjectMeta(name=name, namespace="shop"), subsets=[subset])


def backend(name: str, port: int = 80) -> IngressBackend:
    return IngressBackend(service=IngressServiceBackend(name=name, port=ServiceBackendPort(number=port)))


def ingress(name: str, rules: list[IngressRule], class_name: str | None = "tinykube", **spec: Any) -> Ingress:
    created = f"2026-01-01T00:00:0{len(name)}Z"
    return Ingress(metadata=ObjectMeta(name=name, namespace="shop", creation_timestamp=created),
                   spec=IngressSpec(rules=rules, ingress_class_name=class_name, **spec))


def rule(host: str | None, *paths: tuple[str, str, str]) -> IngressRule:
    return IngressRule(host=host, http=HTTPIngressRuleValue(paths=[
        HTTPIngressPath(path=p, path_type=t, backend=backend(b)) for p, t, b in paths]))


SERVICES = [service("a"), service("b"), service("api"), service("fallback")]
ENDPOINTS = [endpoints("a", "10.244.0.2", "10.244.1.2"), endpoints("b", "10.244.0.3"),
             endpoints("api", "10.244.1.9"), endpoints("fallback", "10.244.0.9")]


def table(*ingresses: Ingress, default: bool = False) -> Any:
    return build_table(ingresses, SERVICES, ENDPOINTS, "tinykube", default)


def test_path_types() -> None:
    prefix = Route("", "/api", "Prefix", "k", "i")
    assert path_matches(prefix, "/api") and path_matches(prefix, "/api/v1") and path_matches(prefix, "/api?x=1")
    assert not path_matches(prefix, "/apix")
    assert path_matches(Route("", "/", "Prefix", "k", "i"), "/anything")
    exact = Route("", "/api", "Exact", "k", "i")
    assert path_matches(exact, "/api") and not path_matches(exact, "/api/")


def test_hosts_match_exactly_or_by_one_wildcard_label() -> None:
    assert host_matches("a.example", "a.example") and not host_matches("a.example", "b.example")
    assert host_matches("*.example", "a.example") and not host_matches("*.example", "x.a.example")
    assert not host_matches("*.example", "example") and host_matches("", "whatever")


def test_host_rules_longest_path_and_exact_over_prefix() -> None:
    routes = table(ingress("one", [rule("a.example", ("/", "Prefix", "a")),
                                   rule("b.example", ("/", "Prefix", "b"), ("/api", "Prefix", "api"),
                                        ("/api/health", "Exact", "a"))]))
    assert routes.match("a.example", "/x").service == "shop/a:80"
    assert routes.match("a.example:80", "/").service == "shop/a:80"  # the port in Host is ignored
    assert routes.match("b.example", "/").service == "shop/b:80"
    assert routes.match("b.example", "/api/users").service == "shop/api:80"
    assert routes.match("b.example", "/api/health").service == "shop/a:80"
    assert routes.match("c.example", "/") is None


def test_default_backend_class_selection_and_endpoints() -> None:
    mine = ingress("mine", [rule("a.example", ("/", "Prefix", "a"))], default_backend=backend("fallback"))
    other = ingress("theirs", [rule("b.example", ("/", "Prefix", "b"))], class_name="nginx")
    classless = ingress("nameless", [rule("c.example", ("/", "Prefix", "b"))], class_name=None)
    routes = table(mine, other, classless)
    assert routes.match("b.example", "/").service == "shop/fallback:80"  # another class's host: not ours
    assert routes.match("c.example", "/").service == "shop/fallback:80"  # no class, and we are not default
    assert table(mine, classless, default=True).match("c.example", "/").service == "shop/b:80"
    a = routes.match("a.example", "/")
    assert {a.next_endpoint(), a.next_endpoint()} == {("10.244.0.2", 8080), ("10.244.1.2", 8080)}


def test_tls_hosts_name_their_secret() -> None:
    routes = table(ingress("secure", [rule("a.example", ("/", "Prefix", "a"))],
                           tls=[IngressTLS(hosts=["a.example"], secret_name="a-tls")]))
    assert routes.tls == {"a.example": ("shop", "a-tls")}


async def test_the_proxy_routes_by_host_and_terminates_tls() -> None:
    async def named(label: str) -> asyncio.Server:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = (await reader.readuntil(b"\r\n\r\n")).decode()
            forwarded = next(line for line in head.split("\r\n") if line.startswith("X-Forwarded-Proto"))
            body = f"{label} {forwarded}".encode()
            writer.write(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()
            writer.close()
        return await asyncio.start_server(answer, "127.0.0.1", 0)

    a_server, b_server = await named("a"), await named("b")
    eps = [endpoints("a", "127.0.0.1", port=a_server.sockets[0].getsockname()[1]),
           endpoints("b", "127.0.0.1", port=b_server.sockets[0].getsockname()[1])]
    routes = build_table([ingress("one", [rule("a.example", ("/", "Prefix", "a")),
                                          rule("b.example", ("/api", "Prefix", "b"))],
                                  tls=[IngressTLS(hosts=["a.example"], secret_name="a-tls")])],
                         SERVICES, eps, "tinykube", False)
    cert, key = self_signed("a.example", ("a.example",))
    secret = Secret(metadata=ObjectMeta(name="a-tls", namespace="shop", resource_version="1"),
                    type="kubernetes.io/tls",
                    data={"tls.crt": base64.b64encode(cert).decode(), "tls.key": base64.b64encode(key).decode()})
    proxy = IngressProxy(lambda: routes)
    store = CertificateStore(lambda ns, name: secret if (ns, name) == ("shop", "a-tls") else None, lambda: routes)
    plain = await asyncio.start_server(lambda r, w: proxy.handle(r, w, "http"), "127.0.0.1", 0)
    secure = await asyncio.start_server(lambda r, w: proxy.handle(r, w, "https"), "127.0.0.1", 0,
                                        ssl=store.server_context())

    async def get(port: int, host: str, path: str, tls: ssl.SSLContext | None = None) -> str:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=tls,
                                                       server_hostname=host if tls else None)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        answer = (await reader.read()).decode()
        writer.close()
        return answer

    try:
        plain_port, secure_port = plain.sockets[0].getsockname()[1], secure.sockets[0].getsockname()[1]
        assert (await get(plain_port, "a.example", "/")).endswith("a X-Forwarded-Proto: http")
        assert (await get(plain_port, "b.example", "/api/x")).endswith("b X-Forwarded-Proto: http")
        assert " 404 " in (await get(plain_port, "b.example", "/other")).split("\r\n")[0]
        trusting = ssl.create_default_context(cadata=cert.decode())
        assert (await get(secure_port, "a.example", "/", trusting)).endswith("a X-Forwarded-Proto: https")
    finally:
        for server in (plain, secure, a_server, b_server):
            server.close()
