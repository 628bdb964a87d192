"""A cloud for tests: every load balancer gets one fixed address, and nothing runs.

`FakeProvider` implements `LoadBalancerProvider` in memory: `balancers` maps
"<namespace>/<name>" to the backends the service controller last asked for, so a
test checks what a real cloud would have been told.

Kubernetes counterpart: staging/src/k8s.io/cloud-provider/fake/fake.go
"""

from __future__ import annotations

from cloud_controller_manager.provider import Backend
from tinykube.api.core import Service


class FakeProvider:
    def __init__(self, address: str = "172.18.0.200") -> None:
        self.address = address
        self.balancers: dict[str, list[Backend]] = {}

    async def ensure(self, service: Service, backends: list[Backend]) -> list[str]:
        self.balancers[f"{service.metadata.namespace}/{service.metadata.name}"] = backends
        return [self.address]

    async def delete(self, namespace: str, name: str) -> None:
        self.balancers.pop(f"{namespace}/{name}", None)

    async def list(self) -> set[str]:
        return set(self.balancers)
