"""EndpointSlices (discovery.k8s.io/v1): the checks every consumer relies on.

- `addressType` is one of IPv4, IPv6, FQDN and never changes after create;
- every endpoint has 1 to 100 addresses, each valid for the address type;
- a slice holds at most 1000 endpoints and its ports have unique names.

Kubernetes counterpart: pkg/apis/discovery/validation/validation.go,
pkg/registry/discovery/endpointslice/strategy.go
"""

from __future__ import annotations

import ipaddress
from typing import Any

from apiserver.strategy import Obj, Strategy
from tinykube.api.discovery import ADDRESS_TYPES
from tinykube.api.validation import (
    FieldError, duplicate, invalid, is_dns1123_subdomain, not_supported, required, too_many,
)

MAX_ENDPOINTS = 1000
MAX_ADDRESSES = 100


class EndpointSliceStrategy(Strategy):
    def validate(self, obj: Obj) -> list[FieldError]:
        return super().validate(obj) + validate_endpoint_slice(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = super().validate_update(new, old) + validate_endpoint_slice(new)
        if new.get("addressType") != old.get("addressType"):
            errs.append(invalid("addressType", new.get("addressType"), "field is immutable"))
        return errs


def validate_endpoint_slice(obj: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    address_type = obj.get("addressType")
    if not address_type:
        errs.append(required("addressType"))
    elif address_type not in ADDRESS_TYPES:
        errs.append(not_supported("addressType", address_type, list(ADDRESS_TYPES)))
    endpoints = obj.get("endpoints") or []
    if len(endpoints) > MAX_ENDPOINTS:
        errs.append(too_many("endpoints", len(endpoints), MAX_ENDPOINTS))
    for i, endpoint in enumerate(endpoints):
        errs.extend(_validate_endpoint(endpoint, f"endpoints[{i}]", address_type))
    names: set[str] = set()
    for i, port in enumerate(obj.get("ports") or []):
        name = (port or {}).get("name") or ""
        if name in names:
            errs.append(duplicate(f"ports[{i}].name", name))
        names.add(name)
    return errs


def _validate_endpoint(endpoint: Any, path: str, address_type: Any) -> list[FieldError]:
    addresses = (endpoint or {}).get("addresses") or []
    if not addresses:
        return [required(f"{path}.addresses", "must contain at least 1 address")]
    errs: list[FieldError] = []
    if len(addresses) > MAX_ADDRESSES:
        errs.append(too_many(f"{path}.addresses", len(addresses), MAX_ADDRESSES))
    for j, address in enumerate(addresses):
        problem = _address_problem(address, address_type)
        if problem:
            errs.append(invalid(f"{path}.addresses[{j}]", address, problem))
    return errs


def _address_problem(address: Any, address_type: Any) -> str | None:
    if address_type == "FQDN":
        problems = is_dns1123_subdomain(str(address))
        return "; ".join(problems) if problems else None
    version = 4 if address_type == "IPv4" else 6 if address_type == "IPv6" else None
    if version is None:
        return None  # the addressType error says it all
    try:
        parsed = ipaddress.ip_address(str(address))
    except ValueError:
        return f"must be a valid IPv{version} address"
    return None if parsed.version == version else f"must be a valid IPv{version} address"
