"""Role-based access control: the `RBAC` mode of `--authorization-mode`.

- `rules.py`: pure rule matching and the coverage check (table-tested);
- `index.py`: roles and bindings from the API server's watch caches;
- `authorizer.py`: allow when a held rule allows, else no opinion;
- `escalation.py`: refuse role and binding writes that grant more than the writer holds;
- `bootstrap.py`, `policy.py`: the default roles and bindings, reconciled on start.

Choosing the mode builds the authorizer over the server's caches and adds the
escalation check to the server's admission chain (it is part of RBAC, not an
optional plugin).

Kubernetes counterpart: plugin/pkg/auth/authorizer/rbac, pkg/registry/rbac
"""

from __future__ import annotations

from typing import Any

from apiserver.authorization.authorizer import MODES
from apiserver.authorization.rbac.authorizer import RBACAuthorizer
from apiserver.authorization.rbac.escalation import EscalationCheck
from apiserver.authorization.rbac.index import PolicyIndex

MODE = "RBAC"


def new_rbac_authorizer(server: Any) -> RBACAuthorizer:
    authorizer = RBACAuthorizer(PolicyIndex.from_server(server.registries))
    server.admission.plugins.append(EscalationCheck(authorizer))
    return authorizer


MODES[MODE] = new_rbac_authorizer
