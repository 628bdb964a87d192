"""Describe a Namespace: its labels, annotations and phase.

tinykube serves no ResourceQuota or LimitRange, so the sections kubectl prints
for them are left out, as kubectl leaves them out when it cannot list them.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/describe/describe.go (NamespaceDescriber)
"""

from __future__ import annotations

from typing import Any

from tinykube.api.resources import ResourceInfo
from tinykube.cli.describe.format import PrefixWriter, write_object_meta
from tinykube.client import RESTClient


async def describe_namespace(client: RESTClient, info: ResourceInfo,
                             namespace: dict[str, Any]) -> PrefixWriter:
    w = PrefixWriter()
    write_object_meta(w, namespace, namespaced=False)
    w.write(0, f"Status:\t{(namespace.get('status') or {}).get('phase', 'Active')}")
    return w
