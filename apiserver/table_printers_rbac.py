"""Server-side Table columns for rbac.authorization.k8s.io/v1.

`kubectl get roles` (and clusterroles) prints NAME and CREATED AT, an RFC 3339
time rather than an age; `kubectl get rolebindings` (and clusterrolebindings)
prints NAME, ROLE (`ClusterRole/view`) and AGE, and with `-o wide` the USERS,
GROUPS and SERVICEACCOUNTS (`namespace/name`) of its subjects.

Kubernetes counterpart: pkg/printers/internalversion/printers.go (printRole,
printClusterRole, printRoleBinding, printClusterRoleBinding)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from apiserver.table_printers import AGE, NAME, AGE_DESCRIPTION, Column, Obj, TablePrinter, age, \
    get_path, name_of, parse_timestamp

ROLE_COLUMNS = (NAME, Column("Created At", "date", AGE_DESCRIPTION))
BINDING_COLUMNS = (
    NAME,
    Column("Role", description="Role"),
    AGE,
    Column("Users", priority=1, description="Users in the roleBinding"),
    Column("Groups", priority=1, description="Groups in the roleBinding"),
    Column("ServiceAccounts", priority=1, description="ServiceAccounts in the roleBinding"),
)


def print_role(obj: Obj, now: datetime) -> list[Any]:
    created = parse_timestamp(get_path(obj, "metadata", "creationTimestamp"))
    return [name_of(obj), created.strftime("%Y-%m-%dT%H:%M:%SZ") if created else ""]


def subjects_strings(obj: Obj) -> tuple[str, str, str]:
    """Users, groups and service accounts (`ns/name`) of a binding, comma separated."""
    users, groups, accounts = [], [], []
    for subject in get_path(obj, "subjects", default=None) or []:
        kind, name = subject.get("kind"), subject.get("name", "")
        if kind == "User":
            users.append(name)
        elif kind == "Group":
            groups.append(name)
        elif kind == "ServiceAccount":
            accounts.append(f"{subject.get('namespace', '')}/{name}")
    return ", ".join(users), ", ".join(groups), ", ".join(accounts)


def print_role_binding(obj: Obj, now: datetime) -> list[Any]:
    ref = get_path(obj, "roleRef", default={})
    return [name_of(obj), f"{ref.get('kind', '')}/{ref.get('name', '')}", age(obj, now),
            *subjects_strings(obj)]


RBAC_PRINTERS: dict[tuple[str, str], TablePrinter] = {
    ("rbac.authorization.k8s.io", "roles"): TablePrinter(ROLE_COLUMNS, print_role),
    ("rbac.authorization.k8s.io", "clusterroles"): TablePrinter(ROLE_COLUMNS, print_role),
    ("rbac.authorization.k8s.io", "rolebindings"): TablePrinter(BINDING_COLUMNS, print_role_binding),
    ("rbac.authorization.k8s.io", "clusterrolebindings"):
        TablePrinter(BINDING_COLUMNS, print_role_binding),
}
