"""rbac.authorization.k8s.io/v1: Roles, ClusterRoles and the bindings that grant them.

A rule allows verbs on resources of API groups (optionally only the objects
named in `resourceNames`), or verbs on non-resource URLs (ClusterRoles only). A
Role's rules apply in its namespace; a ClusterRole's everywhere, unless a
RoleBinding in one namespace grants it. A ClusterRole with an `aggregationRule`
has its rules written by the aggregation controller: the union of the rules of
every ClusterRole its label selectors match.

Kubernetes counterpart: staging/src/k8s.io/api/rbac/v1/types.go
"""

from __future__ import annotations

from pydantic import Field

from tinykube.api.meta import KubeModel, KubeObject, LabelSelector

GROUP = "rbac.authorization.k8s.io"
# Marks the bootstrap objects the API server reconciles on start (missing rules back).
AUTOUPDATE_ANNOTATION = "rbac.authorization.kubernetes.io/autoupdate"
VERB_ALL, API_GROUP_ALL, RESOURCE_ALL, NON_RESOURCE_ALL = "*", "*", "*", "*"
USER_KIND, GROUP_KIND, SERVICE_ACCOUNT_KIND = "User", "Group", "ServiceAccount"


class PolicyRule(KubeModel):
    verbs: list[str] = Field(default_factory=list)
    api_groups: list[str] | None = None
    resources: list[str] | None = None
    resource_names: list[str] | None = None
    non_resource_urls: list[str] | None = Field(None, alias="nonResourceURLs")


class AggregationRule(KubeModel):
    cluster_role_selectors: list[LabelSelector] | None = None


class Role(KubeObject):
    api_version: str = f"{GROUP}/v1"
    kind: str = "Role"
    rules: list[PolicyRule] | None = None


class ClusterRole(KubeObject):
    api_version: str = f"{GROUP}/v1"
    kind: str = "ClusterRole"
    rules: list[PolicyRule] | None = None
    aggregation_rule: AggregationRule | None = None


class Subject(KubeModel):
    """User, Group (api_group rbac.authorization.k8s.io) or ServiceAccount ("")."""

    kind: str
    name: str
    api_group: str | None = None
    namespace: str | None = None


class RoleRef(KubeModel):
    api_group: str
    kind: str  # Role or ClusterRole
    name: str


class RoleBinding(KubeObject):
    api_version: str = f"{GROUP}/v1"
    kind: str = "RoleBinding"
    subjects: list[Subject] | None = None
    role_ref: RoleRef


class ClusterRoleBinding(KubeObject):
    api_version: str = f"{GROUP}/v1"
    kind: str = "ClusterRoleBinding"
    subjects: list[Subject] | None = None
    role_ref: RoleRef
