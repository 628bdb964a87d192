"""Kind lookup: from (apiVersion, kind) to the model class, and parsing of any object.

The client, the informers and the CLI receive plain JSON; `parse_object` turns it
into the typed model for its kind, a `KubeList[Model]` for `<Kind>List`, or a generic
`KubeObject` that keeps every field when tinykube has no model. The table is built
from the models' own `apiVersion`/`kind` defaults, so a model and its registration
cannot disagree.

Kubernetes counterpart: staging/src/k8s.io/apimachinery/pkg/runtime/scheme.go
"""

from __future__ import annotations

from typing import Any, TypeVar

from tinykube.api import apiextensions, apps, batch, certificates, core, discovery, other, policy, rbac
from tinykube.api.meta import DeleteOptions, KubeList, KubeModel, KubeObject, Status, WatchEvent

KINDS: tuple[type[KubeModel], ...] = (
    core.Namespace, core.Node, core.Pod, core.Service, core.Endpoints, core.ConfigMap,
    core.Secret, core.Event, core.ServiceAccount, core.Binding, core.ReplicationController,
    other.PersistentVolume, other.PersistentVolumeClaim,
    apps.Deployment, apps.ReplicaSet, apps.StatefulSet, apps.DaemonSet, apps.ControllerRevision,
    other.Ingress, other.IngressClass, other.HorizontalPodAutoscaler, other.Scale, other.Lease, other.StorageClass,
    other.APIService,
    policy.PodDisruptionBudget, policy.Eviction, discovery.EndpointSlice,
    policy.PodDisruptionBudget, policy.Eviction,
    batch.Job, batch.CronJob,
    apiextensions.CustomResourceDefinition,
    rbac.Role, rbac.ClusterRole, rbac.RoleBinding, rbac.ClusterRoleBinding,
    certificates.CertificateSigningRequest,
    Status, DeleteOptions,
)


def group_version_kind(model: type[KubeModel]) -> tuple[str, str]:
    """(apiVersion, kind) a typed model defaults to."""
    api_version = model.model_fields["api_version"].default
    kind = model.model_fields["kind"].default
    if not isinstance(api_version, str) or not isinstance(kind, str):
        raise TypeError(f"{model.__name__} has no default apiVersion/kind")
    return api_version, kind


_BY_GVK: dict[tuple[str, str], type[KubeModel]] = {group_version_kind(m): m for m in KINDS}
# Status and DeleteOptions are also served under meta.k8s.io/v1.
_BY_GVK[("meta.k8s.io/v1", "Status")] = Status
_BY_GVK[("meta.k8s.io/v1", "DeleteOptions")] = DeleteOptions


def model_for(api_version: str, kind: str) -> type[KubeModel] | None:
    """The model registered for (apiVersion, kind), or None."""
    return _BY_GVK.get((api_version, kind))


def list_model_for(api_version: str, kind: str) -> type[KubeList[Any]]:
    """`KubeList[Model]` for the item kind (`Pod`, not `PodList`); generic if unknown."""
    item = model_for(api_version, kind) or KubeObject
    return KubeList[item]  # type: ignore[valid-type]


def parse_object(data: dict[str, Any]) -> KubeModel:
    """The typed model for `data`'s kind; `KubeList[...]` for lists; else KubeObject."""
    api_version = str(data.get("apiVersion") or "")
    kind = str(data.get("kind") or "")
    model = model_for(api_version, kind)
    if model is not None:
        return model.model_validate(data)
    if kind.endswith("List") and isinstance(data.get("items"), list):
        return list_model_for(api_version, kind.removesuffix("List")).model_validate(data)
    return KubeObject.model_validate(data)


def parse_watch_event(data: dict[str, Any]) -> tuple[str, KubeModel]:
    """(type, parsed object) of one watch-stream line; ERROR events carry a Status."""
    event = WatchEvent.model_validate(data)
    return event.type, parse_object(event.object)


M = TypeVar("M", bound=KubeModel)


def deep_copy(obj: M) -> M:
    """An independent copy, for objects that came from a cache and must not be mutated."""
    return obj.model_copy(deep=True)
