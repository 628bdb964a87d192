"""EndpointSlice validation, with kube-apiserver's messages."""

from __future__ import annotations

from typing import Any

from apiserver.strategies.endpointslice import EndpointSliceStrategy
from tinykube.api.resources import ENDPOINT_SLICES

Obj = dict[str, Any]


def endpoint_slice(**fields: Any) -> Obj:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "web-abc", "namespace": "default"}, **fields}


def errors_of(obj: Obj, old: Obj | None = None) -> list[str]:
    strategy = EndpointSliceStrategy(ENDPOINT_SLICES)
    errors = strategy.validate(obj) if old is None else strategy.validate_update(obj, old)
    return [str(e) for e in errors]


def test_a_valid_slice_passes() -> None:
    assert errors_of(endpoint_slice(addressType="IPv4", ports=[{"name": "http", "port": 80}],
                                    endpoints=[{"addresses": ["10.0.0.1"]}])) == []


def test_address_type_is_required_supported_and_immutable() -> None:
    assert errors_of(endpoint_slice()) == ["addressType: Required value"]
    assert errors_of(endpoint_slice(addressType="IPv5")) == [
        'addressType: Unsupported value: "IPv5": supported values: "IPv4", "IPv6", "FQDN"']
    assert errors_of(endpoint_slice(addressType="IPv6"), endpoint_slice(addressType="IPv4")) == [
        'addressType: Invalid value: "IPv6": field is immutable']


def test_addresses_must_match_the_type_and_ports_be_unique() -> None:
    assert errors_of(endpoint_slice(addressType="IPv4", endpoints=[{"addresses": ["fd00::1"]}, {}],
                                    ports=[{"name": "a", "port": 1}, {"name": "a", "port": 2}])) == [
        'endpoints[0].addresses[0]: Invalid value: "fd00::1": must be a valid IPv4 address',
        "endpoints[1].addresses: Required value: must contain at least 1 address",
        'ports[1].name: Duplicate value: "a"']
