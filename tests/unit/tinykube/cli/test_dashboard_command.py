"""`tinykube dashboard`: the address it prints from the add-on's LoadBalancer Service."""

from __future__ import annotations

from typing import Any

import pytest

from tinykube.cli.commands.dashboard import url_of


@pytest.mark.parametrize(("service", "url"), [
    ({"spec": {"ports": [{"port": 80}]}, "status": {"loadBalancer": {"ingress": [{"ip": "172.30.0.131"}]}}},
     "http://172.30.0.131/"),
    ({"spec": {"ports": [{"port": 8080}]}, "status": {"loadBalancer": {"ingress": [{"hostname": "lb.example"}]}}},
     "http://lb.example:8080/"),
    ({"spec": {}, "status": {"loadBalancer": {"ingress": [{}, {"ip": "10.0.0.9"}]}}}, "http://10.0.0.9/"),
    ({"spec": {"ports": [{"port": 80}]}, "status": {"loadBalancer": {}}}, None),
    ({"spec": {"ports": [{"port": 80}]}}, None),
])
def test_the_address_is_the_first_ingress_with_the_service_port(service: dict[str, Any], url: str | None) -> None:
    assert url_of(service) == url
