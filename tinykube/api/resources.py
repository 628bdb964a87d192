"""The table of every resource tinykube serves.

One entry per REST resource: where it lives on the wire (group, version, plural),
what it is called (kind, singular, short names), whether it is namespaced, which
subresources it has, and the name of the matching model class in the official
`kubernetes` Python package, whose field schema drives validation and OpenAPI.
The API server, the CLI and the client all read this table; nothing else
hard-codes a path.

Kubernetes counterpart: pkg/controlplane/instance.go (the REST storage providers)
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ResourceInfo:
    """One served resource.

    - `plural` is the URL segment; `group` is "" for the core group.
    - `model` names the class in `kubernetes.client.models` that carries the schema.
    """

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    model: str
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    # For another API group's view of a resource stored elsewhere (events.k8s.io Events
    # are core Events): that resource's group_resource. Walkers skip views.
    view_of: str = ""
    verbs: tuple[str, ...] = (
        "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch",
    )

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_version(self) -> str:
        """The apiVersion field value objects of this resource carry."""
        return self.group_version

    @property
    def group_resource(self) -> str:
        """`deployments.apps` — the name Kubernetes uses in error messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def base_path(self, namespace: str | None = None) -> str:
        """The collection URL, e.g. /apis/apps/v1/namespaces/default/deployments."""
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{root}/namespaces/{namespace}/{self.plural}"
        return f"{root}/{self.plural}"


_ALL = ("all",)

RESOURCES: tuple[ResourceInfo, ...] = (
    # core/v1
    ResourceInfo("", "v1", "Namespace", "namespaces", "namespace", False, "V1Namespace",
                 ("ns",), ("status", "finalize")),
    ResourceInfo("", "v1", "Node", "nodes", "node", False, "V1Node", ("no",), ("status",)),
    ResourceInfo("", "v1", "Pod", "pods", "pod", True, "V1Pod", ("po",),
                 ("status", "binding", "eviction", "log", "exec", "portforward"), _ALL),
    ResourceInfo("", "v1", "Service", "services", "service", True, "V1Service", ("svc",),
                 ("status",), _ALL),
    ResourceInfo("", "v1", "Endpoints", "endpoints", "endpoints", True, "V1Endpoints", ("ep",)),
    ResourceInfo("", "v1", "ConfigMap", "configmaps", "configmap", True, "V1ConfigMap", ("cm",)),
    ResourceInfo("", "v1", "Secret", "secrets", "secret", True, "V1Secret"),
    ResourceInfo("", "v1", "Event", "events", "event", True, "CoreV1Event", ("ev",)),
    ResourceInfo("", "v1", "PersistentVolume", "persistentvolumes", "persistentvolume", False,
                 "V1PersistentVolume", ("pv",), ("status",)),
    ResourceInfo("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims",
                 "persistentvolumeclaim", True, "V1PersistentVolumeClaim", ("pvc",), ("status",)),
    ResourceInfo("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", True,
                 "V1ServiceAccount", ("sa",), ("token",)),
    ResourceInfo("", "v1", "ReplicationController", "replicationcontrollers",
                 "replicationcontroller", True, "V1ReplicationController", ("rc",),
                 ("status", "scale"), _ALL),
    # apps/v1
    ResourceInfo("apps", "v1", "Deployment", "deployments", "deployment", True, "V1Deployment",
                 ("deploy",), ("status", "scale"), _ALL),
    ResourceInfo("apps", "v1", "ReplicaSet", "replicasets", "replicaset", True, "V1ReplicaSet",
                 ("rs",), ("status", "scale"), _ALL),
    ResourceInfo("apps", "v1", "StatefulSet", "statefulsets", "statefulset", True,
                 "V1StatefulSet", ("sts",), ("status", "scale"), _ALL),
    ResourceInfo("apps", "v1", "DaemonSet", "daemonsets", "daemonset", True, "V1DaemonSet",
                 ("ds",), ("status",), _ALL),
    ResourceInfo("apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision",
                 True, "V1ControllerRevision"),
    # networking.k8s.io/v1
    ResourceInfo("networking.k8s.io", "v1", "Ingress", "ingresses", "ingress", True,
                 "V1Ingress", ("ing",), ("status",)),
    ResourceInfo("networking.k8s.io", "v1", "IngressClass", "ingressclasses", "ingressclass", False,
                 "V1IngressClass"),
    # autoscaling/v2
    ResourceInfo("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
                 "horizontalpodautoscaler", True, "V2HorizontalPodAutoscaler", ("hpa",),
                 ("status",), _ALL),
    # autoscaling/v1: the same stored objects, converted (apiserver/conversions.py); after
    # v2, so names and discovery prefer v2
    ResourceInfo("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
                 "horizontalpodautoscaler", True, "V1HorizontalPodAutoscaler", ("hpa",), ("status",)),
    # events.k8s.io/v1: the core Events, renamed (apiserver/conversions_events.py)
    ResourceInfo("events.k8s.io", "v1", "Event", "events", "event", True, "EventsV1Event", ("ev",),
                 view_of="events"),
    # apiregistration.k8s.io/v1: the group versions served (apiserver/apiservices.py)
    ResourceInfo("apiregistration.k8s.io", "v1", "APIService", "apiservices", "apiservice", False,
                 "V1APIService", (), ("status",)),
    # coordination.k8s.io/v1
    ResourceInfo("coordination.k8s.io", "v1", "Lease", "leases", "lease", True, "V1Lease"),
    # policy/v1
    ResourceInfo("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets",
                 "poddisruptionbudget", True, "V1PodDisruptionBudget", ("pdb",), ("status",)),
    # discovery.k8s.io/v1
    ResourceInfo("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", True,
                 "V1EndpointSlice"),
    # batch/v1
    ResourceInfo("batch", "v1", "Job", "jobs", "job", True, "V1Job", (), ("status",), _ALL),
    ResourceInfo("batch", "v1", "CronJob", "cronjobs", "cronjob", True, "V1CronJob", ("cj",),
                 ("status",), _ALL),
    # storage.k8s.io/v1
    ResourceInfo("storage.k8s.io", "v1", "StorageClass", "storageclasses", "storageclass", False,
                 "V1StorageClass", ("sc",)),
    # apiextensions.k8s.io/v1
    ResourceInfo("apiextensions.k8s.io", "v1", "CustomResourceDefinition",
                 "customresourcedefinitions", "customresourcedefinition", False,
                 "V1CustomResourceDefinition", ("crd", "crds"), ("status",)),
    # rbac.authorization.k8s.io/v1 (apiserver/authorization/rbac)
    ResourceInfo("rbac.authorization.k8s.io", "v1", "Role", "roles", "role", True, "V1Role"),
    ResourceInfo("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole",
                 False, "V1ClusterRole"),
    ResourceInfo("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding",
                 True, "V1RoleBinding"),
    ResourceInfo("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings",
                 "clusterrolebinding", False, "V1ClusterRoleBinding"),
    # certificates.k8s.io/v1
    ResourceInfo("certificates.k8s.io", "v1", "CertificateSigningRequest",
                 "certificatesigningrequests", "certificatesigningrequest", False,
                 "V1CertificateSigningRequest", ("csr",), ("status", "approval")),
)

# Groups in the order discovery lists them (the core group is served on /api).
GROUP_ORDER: tuple[str, ...] = (
    "", "apps", "events.k8s.io", "autoscaling", "batch", "networking.k8s.io", "policy",
    "coordination.k8s.io", "storage.k8s.io", "discovery.k8s.io", "apiregistration.k8s.io",
    "apiextensions.k8s.io", "rbac.authorization.k8s.io", "certificates.k8s.io",
)


@dataclass
class ResourceIndex:
    """Look-ups over RESOURCES by URL and by any name a user may type.

    - the built-in table is fixed; `add`/`remove` hold the dynamic entries (custom
      resources served from CustomResourceDefinitions), listed after the built-ins;
    - `resources` is replaced, never mutated, so a loop over it sees one version.
    """

    resources: tuple[ResourceInfo, ...] = RESOURCES
    _by_path: dict[tuple[str, str, str], ResourceInfo] = field(default_factory=dict)
    _by_kind: dict[tuple[str, str], ResourceInfo] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._builtin = frozenset(self.resources)
        for info in self.resources:
            self._by_path[(info.group, info.version, info.plural)] = info
            self._by_kind[(info.api_version, info.kind)] = info

    def add(self, info: ResourceInfo) -> None:
        """Serve a dynamic resource (replacing one at the same group/version/plural)."""
        old = self._by_path.get((info.group, info.version, info.plural))
        if old is not None:
            self.remove(old)
        self.resources = (*self.resources, info)
        self._by_path[(info.group, info.version, info.plural)] = info
        self._by_kind[(info.api_version, info.kind)] = info

    def remove(self, info: ResourceInfo) -> None:
        """Stop serving a dynamic resource; built-in entries cannot be removed."""
        if info in self._builtin or info not in self.resources:
            return
        self.resources = tuple(i for i in self.resources if i is not info)
        self._by_path.pop((info.group, info.version, info.plural), None)
        if self._by_kind.get((info.api_version, info.kind)) is info:
            del self._by_kind[(info.api_version, info.kind)]

    def is_builtin(self, info: ResourceInfo) -> bool:
        return info in self._builtin

    def by_path(self, group: str, version: str, plural: str) -> ResourceInfo | None:
        return self._by_path.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceInfo | None:
        return self._by_kind.get((api_version, kind))

    def require(self, name: str) -> ResourceInfo:
        """`by_name` for names the code itself spells: a typo is a KeyError at import."""
        info = self.by_name(name)
        if info is None:
            raise KeyError(f"unknown resource {name!r}")
        return info

    def by_name(self, name: str) -> ResourceInfo | None:
        """Resolve what a user typed: `po`, `pods`, `pod`, `Pod`, `deployments.apps`."""
        lowered = name.lower()
        plural, _, group = lowered.partition(".")
        version, _, versioned_group = group.partition(".")  # `hpa.v1.autoscaling`
        pinned = any(i.version == version and i.group == versioned_group for i in self.resources)
        for info in self.resources:
            if pinned and (info.version, info.group) != (version, versioned_group):
                continue
            if not pinned and group and info.group != group and not info.group.startswith(group + "."):
                continue
            if plural in (info.plural, info.singular, info.kind.lower()) or plural in info.short_names:
                return info
        return None

    def group_versions(self) -> list[tuple[str, str]]:
        seen: list[tuple[str, str]] = []
        groups = [*GROUP_ORDER, *sorted({i.group for i in self.resources} - set(GROUP_ORDER))]
        for group in groups:
            for info in self.resources:
                if info.group == group and (group, info.version) not in seen:
                    seen.append((group, info.version))
        return seen


INDEX = ResourceIndex()
# One entry per resource, its preferred (first listed) version: what components that
# walk every kind (garbage collector, namespace deletion) use, as upstream uses
# discovery's preferred versions; other versions are views of the same objects.
PREFERRED_RESOURCES: tuple[ResourceInfo, ...] = tuple(
    info for index, info in enumerate(RESOURCES)
    if not info.view_of and not any((i.group, i.plural) == (info.group, info.plural) for i in RESOURCES[:index]))

# Typed constants for the resources components name in code (no Optional to unwrap).
NAMESPACES = INDEX.require("namespaces")
NODES = INDEX.require("nodes")
PODS = INDEX.require("pods")
SERVICES = INDEX.require("services")
ENDPOINTS = INDEX.require("endpoints")
CONFIGMAPS = INDEX.require("configmaps")
SECRETS = INDEX.require("secrets")
EVENTS = INDEX.require("events")
PERSISTENT_VOLUMES = INDEX.require("persistentvolumes")
PERSISTENT_VOLUME_CLAIMS = INDEX.require("persistentvolumeclaims")
SERVICE_ACCOUNTS = INDEX.require("serviceaccounts")
REPLICATION_CONTROLLERS = INDEX.require("replicationcontrollers")
DEPLOYMENTS = INDEX.require("deployments.apps")
REPLICA_SETS = INDEX.require("replicasets.apps")
STATEFUL_SETS = INDEX.require("statefulsets.apps")
DAEMON_SETS = INDEX.require("daemonsets.apps")
CONTROLLER_REVISIONS = INDEX.require("controllerrevisions.apps")
INGRESSES = INDEX.require("ingresses.networking.k8s.io")
INGRESS_CLASSES = INDEX.require("ingressclasses.networking.k8s.io")
HORIZONTAL_POD_AUTOSCALERS = INDEX.require("horizontalpodautoscalers.autoscaling")
LEASES = INDEX.require("leases.coordination.k8s.io")
STORAGE_CLASSES = INDEX.require("storageclasses.storage.k8s.io")
POD_DISRUPTION_BUDGETS = INDEX.require("poddisruptionbudgets.policy")
ENDPOINT_SLICES = INDEX.require("endpointslices.discovery.k8s.io")
API_SERVICES = INDEX.require("apiservices.apiregistration.k8s.io")
JOBS = INDEX.require("jobs.batch")
CRON_JOBS = INDEX.require("cronjobs.batch")
CUSTOM_RESOURCE_DEFINITIONS = INDEX.require("customresourcedefinitions.apiextensions.k8s.io")
ROLES = INDEX.require("roles.rbac.authorization.k8s.io")
CLUSTER_ROLES = INDEX.require("clusterroles.rbac.authorization.k8s.io")
ROLE_BINDINGS = INDEX.require("rolebindings.rbac.authorization.k8s.io")
CLUSTER_ROLE_BINDINGS = INDEX.require("clusterrolebindings.rbac.authorization.k8s.io")
CERTIFICATE_SIGNING_REQUESTS = INDEX.require("certificatesigningrequests.certificates.k8s.io")
