"""The default ClusterRoles and ClusterRoleBindings, as Kubernetes bootstraps them.

Every object carries the label `kubernetes.io/bootstrapping: rbac-defaults` and
the annotation `rbac.authorization.kubernetes.io/autoupdate: "true"` (see
bootstrap.py for what the API server does with it on start).

- user-facing: cluster-admin (bound to system:masters); admin, edit and view,
  which are aggregated: their rules come from the ClusterRoles labelled
  `rbac.authorization.k8s.io/aggregate-to-{admin,edit,view}: "true"` (the
  system:aggregate-to-* roles here, and any a user adds);
- discovery: system:discovery, system:basic-user (bound to system:authenticated),
  system:public-info-viewer (also to system:unauthenticated), system:monitoring;
- components: system:kube-scheduler and system:volume-scheduler (user
  system:kube-scheduler), system:node-proxier (user system:kube-proxy),
  system:kube-controller-manager, system:cloud-controller-manager, system:kube-dns
  (ServiceAccount kube-system/kube-dns), system:node (not bound, as upstream: the
  Node authorizer grants nodes their access);
- delegation and certificates: system:auth-delegator, system:kubelet-api-admin,
  system:node-bootstrapper, the CSR node-client roles and the approver roles of
  each kubernetes.io signer.

Differences from upstream, on purpose: tinykube's controller manager runs every
controller as ONE identity, `system:kube-controller-manager`, so its role is the
union of what tinykube's controllers read and write (upstream gives each
controller its own ServiceAccount and role); the garbage collector and the
namespace controller walk every kind, hence read/patch/delete on `*`.

Kubernetes counterpart: plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go,
controller_policy.go
"""

from __future__ import annotations

from tinykube.api.meta import LabelSelector, ObjectMeta
from tinykube.api.rbac import AUTOUPDATE_ANNOTATION, GROUP, AggregationRule, ClusterRole, \
    ClusterRoleBinding, PolicyRule, RoleRef, Subject

READ = ["get", "list", "watch"]
WRITE = ["create", "delete", "deletecollection", "patch", "update"]
READ_WRITE = READ + WRITE
BOOTSTRAP_LABEL = {"kubernetes.io/bootstrapping": "rbac-defaults"}
AGGREGATE_TO = "rbac.authorization.k8s.io/aggregate-to-"
CORE, APPS, BATCH, AUTOSCALING, POLICY = "", "apps", "batch", "autoscaling", "policy"
NETWORKING, DISCOVERY, COORDINATION = "networking.k8s.io", "discovery.k8s.io", "coordination.k8s.io"
STORAGE, EVENTS, CERTIFICATES = "storage.k8s.io", "events.k8s.io", "certificates.k8s.io"
AUTHENTICATION, AUTHORIZATION = "authentication.k8s.io", "authorization.k8s.io"
SIGNERS = ("kube-apiserver-client", "kube-apiserver-client-kubelet", "kubelet-serving",
           "legacy-unknown")


def rule(verbs: list[str], groups: list[str], resources: list[str],
         names: list[str] | None = None) -> PolicyRule:
    return PolicyRule(verbs=list(verbs), api_groups=list(groups), resources=list(resources),
                      resource_names=names)


def urls(verbs: list[str], paths: list[str]) -> PolicyRule:
    return PolicyRule(verbs=list(verbs), non_resource_urls=list(paths))


def events_rule() -> list[PolicyRule]:
    return [rule(["create", "update", "patch"], [CORE, EVENTS], ["events"])]


def _meta(name: str, labels: dict[str, str] | None = None) -> ObjectMeta:
    return ObjectMeta(name=name, labels={**BOOTSTRAP_LABEL, **(labels or {})},
                      annotations={AUTOUPDATE_ANNOTATION: "true"})


def _role(name: str, rules: list[PolicyRule], labels: dict[str, str] | None = None,
          aggregate_from: str = "") -> ClusterRole:
    aggregation = None
    if aggregate_from:
        aggregation = AggregationRule(cluster_role_selectors=[LabelSelector(
            match_labels={AGGREGATE_TO + aggregate_from: "true"})])
    return ClusterRole(metadata=_meta(name, labels), rules=rules, aggregation_rule=aggregation)


def _view_rules() -> list[PolicyRule]:
    return [
        rule(READ, [CORE], ["pods", "replicationcontrollers", "replicationcontrollers/scale",
                            "serviceaccounts", "services", "services/status", "endpoints",
                            "persistentvolumeclaims", "persistentvolumeclaims/status",
                            "configmaps"]),
        rule(READ, [CORE], ["limitranges", "resourcequotas", "bindings", "events", "pods/status",
                            "resourcequotas/status", "namespaces/status",
                            "replicationcontrollers/status", "pods/log"]),
        rule(READ, [CORE], ["namespaces"]),
        rule(READ, [DISCOVERY], ["endpointslices"]),
        rule(READ, [APPS], ["controllerrevisions", "statefulsets", "statefulsets/scale",
                            "statefulsets/status", "daemonsets", "daemonsets/status",
                            "deployments", "deployments/scale", "deployments/status",
                            "replicasets", "replicasets/scale", "replicasets/status"]),
        rule(READ, [AUTOSCALING], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
        rule(READ, [BATCH], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
        rule(READ, [POLICY], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
        rule(READ, [NETWORKING], ["networkpolicies", "ingresses", "ingresses/status"]),
    ]


def _edit_rules() -> list[PolicyRule]:
    return [
        rule(["impersonate"], [CORE], ["serviceaccounts"]),
        rule(WRITE, [CORE], ["pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"]),
        rule(["create"], [CORE], ["pods/eviction"]),
        rule(WRITE, [CORE], ["replicationcontrollers", "replicationcontrollers/scale",
                             "serviceaccounts", "services", "services/proxy",
                             "persistentvolumeclaims", "configmaps", "secrets", "events"]),
        rule(["create"], [CORE], ["serviceaccounts/token"]),
        rule(WRITE, [APPS], ["statefulsets", "statefulsets/scale", "daemonsets", "deployments",
                             "deployments/scale", "deployments/rollback", "replicasets",
                             "replicasets/scale"]),
        rule(WRITE, [AUTOSCALING], ["horizontalpodautoscalers"]),
        rule(WRITE, [BATCH], ["cronjobs", "jobs"]),
        rule(WRITE, [POLICY], ["poddisruptionbudgets"]),
        rule(WRITE, [NETWORKING], ["networkpolicies", "ingresses"]),
        rule(READ, [CORE], ["pods/attach", "pods/proxy", "pods/exec", "pods/portforward",
                            "secrets", "services/proxy"]),
    ]


def _node_rules() -> list[PolicyRule]:
    return [
        rule(["create"], [AUTHENTICATION], ["tokenreviews"]),
        rule(["create"], [AUTHORIZATION], ["subjectaccessreviews", "localsubjectaccessreviews"]),
        rule(READ, [CORE], ["services"]),
        rule(["create", "get", "list", "watch", "patch", "update"], [CORE], ["nodes"]),
        rule(["patch", "update"], [CORE], ["nodes/status"]),
        *events_rule(),
        rule(READ, [CORE], ["pods"]),
        rule(["create", "delete"], [CORE], ["pods"]),
        rule(["patch", "update"], [CORE], ["pods/status"]),
        rule(["create"], [CORE], ["pods/eviction"]),
        rule(["get", "list", "watch"], [CORE], ["secrets", "configmaps"]),
        rule(["get"], [CORE], ["persistentvolumeclaims", "persistentvolumes"]),
        rule(["patch", "update"], [CORE], ["persistentvolumeclaims/status"]),
        rule(["create"], [CORE], ["serviceaccounts/token"]),
        rule(["create", "delete", "get", "patch", "update"], [COORDINATION], ["leases"]),
        rule(["create", "get", "list", "watch"], [CERTIFICATES], ["certificatesigningrequests"]),
        rule(READ, [STORAGE], ["csidrivers", "volumeattachments"]),
    ]


def _scheduler_rules() -> list[PolicyRule]:
    return [
        *events_rule(),
        rule(["create"], [COORDINATION], ["leases"]),
        rule(["get", "update"], [COORDINATION], ["leases"], ["kube-scheduler"]),
        rule(READ, [CORE], ["nodes", "namespaces"]),
        rule(["delete"], [CORE], ["pods"]),
        rule(["create"], [CORE], ["pods/binding", "bindings"]),
        rule(["patch", "update"], [CORE], ["pods/status"]),
        rule(READ, [CORE], ["pods", "replicationcontrollers", "services",
                            "persistentvolumeclaims", "persistentvolumes"]),
        rule(READ, [APPS], ["replicasets", "statefulsets"]),
        rule(READ, [POLICY], ["poddisruptionbudgets"]),
        rule(["create"], [AUTHENTICATION], ["tokenreviews"]),
        rule(["create"], [AUTHORIZATION], ["subjectaccessreviews"]),
        rule(READ, [STORAGE], ["storageclasses", "csinodes", "csidrivers", "csistoragecapacities"]),
    ]


def _controller_manager_rules() -> list[PolicyRule]:
    """What tinykube's controllers (one identity) read and write."""
    return [
        # informers of every controller; the garbage collector and the namespace
        # controller read, patch and delete objects of every kind, custom ones included
        rule(READ + ["update", "patch", "delete", "deletecollection"], ["*"], ["*"]),
        rule(["create"], [CORE], ["pods", "endpoints", "events", "persistentvolumes",
                                  "persistentvolumeclaims", "serviceaccounts", "secrets",
                                  "configmaps"]),
        rule(["create"], [APPS], ["replicasets", "controllerrevisions"]),
        rule(["create"], [BATCH], ["jobs"]),
        rule(["create"], [DISCOVERY], ["endpointslices"]),
        rule(["create"], [EVENTS], ["events"]),
        rule(["create"], [COORDINATION], ["leases"]),
        rule(["create"], [CORE], ["pods/eviction", "pods/binding"]),
        rule(["create"], [AUTHENTICATION], ["tokenreviews"]),
        rule(["create"], [AUTHORIZATION], ["subjectaccessreviews"]),
        # the clusterrole-aggregation controller writes rules it may not hold itself
        rule(["escalate"], [GROUP], ["clusterroles"]),
    ]


def _cloud_controller_manager_rules() -> list[PolicyRule]:
    return [
        *events_rule(),
        rule(["create", "get", "update"], [COORDINATION], ["leases"]),
        rule(READ + ["patch", "update"], [CORE], ["nodes", "nodes/status"]),
        rule(READ + ["patch", "update"], [CORE], ["services", "services/status"]),
        rule(READ, [CORE], ["endpoints", "pods"]),
        rule(READ, [DISCOVERY], ["endpointslices"]),
    ]


def cluster_roles() -> list[ClusterRole]:
    health = ["/livez", "/readyz", "/healthz"]
    roles = [
        _role("cluster-admin", [rule(["*"], ["*"], ["*"]), urls(["*"], ["*"])]),
        _role("admin", [], aggregate_from="admin"),
        _role("edit", [], {AGGREGATE_TO + "admin": "true"}, aggregate_from="edit"),
        _role("view", [], {AGGREGATE_TO + "edit": "true"}, aggregate_from="view"),
        _role("system:aggregate-to-admin", [
            rule(["create"], [AUTHORIZATION], ["localsubjectaccessreviews"]),
            rule(READ_WRITE, [GROUP], ["rolebindings", "roles"]),
        ], {AGGREGATE_TO + "admin": "true"}),
        _role("system:aggregate-to-edit", _edit_rules(), {AGGREGATE_TO + "edit": "true"}),
        _role("system:aggregate-to-view", _view_rules(), {AGGREGATE_TO + "view": "true"}),
        _role("system:discovery", [urls(["get"], [*health, "/version", "/version/", "/api",
                                                  "/api/*", "/apis", "/apis/*", "/openapi",
                                                  "/openapi/*"])]),
        _role("system:monitoring", [urls(["get"], ["/metrics", "/metrics/slis", *health,
                                                   "/livez/*", "/readyz/*", "/healthz/*"])]),
        _role("system:basic-user", [
            rule(["create"], [AUTHORIZATION], ["selfsubjectaccessreviews",
                                               "selfsubjectrulesreviews"]),
            rule(["create"], [AUTHENTICATION], ["selfsubjectreviews"]),
        ]),
        _role("system:public-info-viewer", [urls(["get"], [*health, "/version", "/version/"])]),
        _role("system:auth-delegator", [
            rule(["create"], [AUTHENTICATION], ["tokenreviews"]),
            rule(["create"], [AUTHORIZATION], ["subjectaccessreviews"]),
        ]),
        _role("system:kubelet-api-admin", [
            rule(READ, [CORE], ["nodes"]),
            rule(["proxy"], [CORE], ["nodes"]),
            rule(["*"], [CORE], ["nodes/proxy", "nodes/metrics", "nodes/stats", "nodes/log"]),
        ]),
        _role("system:node", _node_rules()),
        _role("system:node-proxier", [
            rule(["list", "watch"], [CORE], ["services", "endpoints"]),
            rule(READ, [CORE], ["nodes"]),
            *events_rule(),
            rule(["list", "watch"], [DISCOVERY], ["endpointslices"]),
        ]),
        _role("system:node-bootstrapper", [
            rule(["create", "get", "list", "watch"], [CERTIFICATES], ["certificatesigningrequests"]),
        ]),
        _role("system:kube-dns", [rule(["list", "watch"], [CORE], ["endpoints", "services"]),
                                  rule(["list", "watch"], [DISCOVERY], ["endpointslices"])]),
        _role("system:kube-scheduler", _scheduler_rules()),
        _role("system:volume-scheduler", [
            rule(READ + ["patch", "update"], [CORE], ["persistentvolumes"]),
            rule(READ, [STORAGE], ["storageclasses"]),
            rule(READ + ["patch", "update"], [CORE], ["persistentvolumeclaims"]),
        ]),
        _role("system:kube-controller-manager", _controller_manager_rules()),
        _role("system:cloud-controller-manager", _cloud_controller_manager_rules()),
        _role("system:service-account-issuer-discovery", [urls(["get"], [
            "/.well-known/openid-configuration", "/.well-known/openid-configuration/",
            "/openid/v1/jwks", "/openid/v1/jwks/"])]),
        _role("system:certificates.k8s.io:certificatesigningrequests:nodeclient", [
            rule(["create"], [CERTIFICATES], ["certificatesigningrequests/nodeclient"])]),
        _role("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", [
            rule(["create"], [CERTIFICATES], ["certificatesigningrequests/selfnodeclient"])]),
    ]
    for signer in SIGNERS:
        roles.append(_role(f"system:certificates.k8s.io:{signer}-approver", [
            rule(["approve"], [CERTIFICATES], ["signers"], [f"kubernetes.io/{signer}"])]))
    return roles


def _binding(name: str, *subjects: tuple[str, str], role: str = "") -> ClusterRoleBinding:
    return ClusterRoleBinding(
        metadata=_meta(name), role_ref=RoleRef(api_group=GROUP, kind="ClusterRole",
                                               name=role or name),
        subjects=[_subject(kind, subject) for kind, subject in subjects] or None)


def _subject(kind: str, name: str) -> Subject:
    if kind == "ServiceAccount":
        namespace, _, account = name.partition("/")
        return Subject(kind=kind, name=account, namespace=namespace, api_group="")
    return Subject(kind=kind, name=name, api_group=GROUP)


def cluster_role_bindings() -> list[ClusterRoleBinding]:
    authenticated, unauthenticated = ("Group", "system:authenticated"), \
        ("Group", "system:unauthenticated")
    return [
        _binding("cluster-admin", ("Group", "system:masters")),
        _binding("system:monitoring", ("Group", "system:monitoring")),
        _binding("system:discovery", authenticated),
        _binding("system:basic-user", authenticated),
        _binding("system:public-info-viewer", authenticated, unauthenticated),
        _binding("system:node-proxier", ("User", "system:kube-proxy")),
        _binding("system:kube-controller-manager", ("User", "system:kube-controller-manager")),
        _binding("system:cloud-controller-manager", ("User", "system:cloud-controller-manager")),
        _binding("system:kube-dns", ("ServiceAccount", "kube-system/kube-dns")),
        _binding("system:kube-scheduler", ("User", "system:kube-scheduler")),
        _binding("system:volume-scheduler", ("User", "system:kube-scheduler")),
        _binding("system:node"),
        _binding("system:service-account-issuer-discovery", ("Group", "system:serviceaccounts")),
    ]
