"""The Node authorization mode (`--authorization-mode=Node,...`).

- `references.py`: what a pod or persistent volume refers to;
- `graph.py`: edges object -> pod -> node, owned by the object that drew them;
- `populator.py`: keeps the graph in step with the API server's watch caches;
- `authorizer.py`: the decisions, from the graph and the static node rules.

Importing this package registers the mode in `MODES`; NodeRestriction admission
(`apiserver/admission/noderestriction.py`) limits what the allowed writes change.

Kubernetes counterpart: plugin/pkg/auth/authorizer/node
"""

from __future__ import annotations

from typing import Any

from apiserver.authorization.authorizer import MODES
from apiserver.authorization.node.authorizer import NodeAuthorizer, node_identity
from apiserver.authorization.node.graph import Graph
from apiserver.authorization.node.populator import GraphPopulator
from tinykube.api.resources import PERSISTENT_VOLUMES, PODS


def node_authorizer_for(server: Any) -> NodeAuthorizer:
    """The Node authorizer of a started API server: its graph is drawn from the
    server's pod and persistent volume caches now and followed from then on."""
    graph = Graph()
    populator = GraphPopulator(graph, server.registries[PODS].cache,
                               server.registries[PERSISTENT_VOLUMES].cache)
    populator.start()
    return NodeAuthorizer(graph, populator)


MODES["Node"] = node_authorizer_for

__all__ = ["NodeAuthorizer", "node_identity", "node_authorizer_for"]
