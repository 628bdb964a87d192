"""The base of every API object: KubeModel, ObjectMeta and the meta/v1 kinds.

Every API object in tinykube is a pydantic v2 model derived from `KubeModel`: camelCase
on the wire, snake_case in Python, pure data with no I/O. Fields tinykube does not
declare are kept verbatim (`extra="allow"`), so a parse/dump round trip never drops
what a user wrote. The kinds in core, apps and other build on the types here; the
small helpers at the bottom (owner references, conditions, timestamps) are pure and
shared by controllers, the kubelet and the scheduler.

Kubernetes counterpart: staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/types.go
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

Quantity = str | int | float
"""A resource quantity as written on the wire: "500m", "1Gi", 2 or 0.5."""

IntOrString = int | str
"""Kubernetes' IntOrString: 8080 stays an int, "http" and "25%" stay strings."""


class KubeModel(BaseModel):
    """Base of every API model.

    - Attributes are snake_case; the wire (aliases) is camelCase.
    - Undeclared fields are kept under their original key and dumped back unchanged.
    - `to_dict()` omits unset (None) fields, so `from_dict(x).to_dict() == x`.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Parse the wire form (a decoded JSON/YAML mapping)."""
        return cls.model_validate(data)

    def to_dict(self) -> dict[str, Any]:
        """The wire form: camelCase keys, JSON types, no null fields."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class WireEnum(StrEnum):
    """Base for closed sets, offered for comparisons and construction.

    - Fields stay plain `str`, so a value a newer Kubernetes adds still round-trips.
    - Members are `str`: `pod.status.phase == PodPhase.RUNNING` works, and a member
      assigned to a field is stored and dumped as the plain string.
    """


class ConditionStatus(WireEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class OwnerReference(KubeModel):
    api_version: str
    kind: str
    name: str
    uid: str
    controller: bool | None = None
    block_owner_deletion: bool | None = None


class ObjectMeta(KubeModel):
    """metadata of every object; timestamps are RFC 3339 strings as on the wire."""

    name: str | None = None
    generate_name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    resource_version: str | None = None
    generation: int | None = None
    creation_timestamp: str | None = None
    deletion_timestamp: str | None = None
    deletion_grace_period_seconds: int | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    owner_references: list[OwnerReference] | None = None
    finalizers: list[str] | None = None
    managed_fields: list[dict[str, Any]] | None = None


class ListMeta(KubeModel):
    resource_version: str | None = None
    continue_: str | None = Field(None, alias="continue")
    remaining_item_count: int | None = None


class LabelSelectorRequirement(KubeModel):
    key: str
    operator: str
    values: list[str] | None = None


class LabelSelector(KubeModel):
    match_labels: dict[str, str] | None = None
    match_expressions: list[LabelSelectorRequirement] | None = None


class Condition(KubeModel):
    """The fields every kind's status conditions share (meta/v1 Condition's core)."""

    type: str
    status: str
    reason: str | None = None
    message: str | None = None
    last_transition_time: str | None = None


class KubeObject(KubeModel):
    """A top-level object: apiVersion, kind, metadata, and whatever else it carries.

    - Typed kinds subclass it and default `api_version` and `kind`.
    - Used as is for kinds tinykube has no model for; everything survives in extra.
    """

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)


T = TypeVar("T", bound=KubeModel)


class KubeList(KubeModel, Generic[T]):
    """Any `<Kind>List`: `KubeList[Pod]`. kind is e.g. "PodList" on the wire."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = Field(default_factory=ListMeta)
    items: list[T] = Field(default_factory=list)


class StatusCause(KubeModel):
    reason: str | None = None
    message: str | None = None
    field: str | None = None


class StatusDetails(KubeModel):
    name: str | None = None
    group: str | None = None
    kind: str | None = None
    uid: str | None = None
    causes: list[StatusCause] | None = None
    retry_after_seconds: int | None = None


class Status(KubeModel):
    """The body of every API error (and of some successful deletes)."""

    api_version: str = "v1"
    kind: str = "Status"
    metadata: ListMeta | None = None
    status: str | None = None
    message: str | None = None
    reason: str | None = None
    details: StatusDetails | None = None
    code: int | None = None


class Preconditions(KubeModel):
    uid: str | None = None
    resource_version: str | None = None


class DeleteOptions(KubeModel):
    api_version: str = "v1"
    kind: str = "DeleteOptions"
    grace_period_seconds: int | None = None
    preconditions: Preconditions | None = None
    propagation_policy: str | None = None
    orphan_dependents: bool | None = None
    dry_run: list[str] | None = None


class WatchEvent(KubeModel):
    """One line of a watch stream; `object` stays raw (see registry.parse_object)."""

    type: str
    object: dict[str, Any]


# --- helpers ---------------------------------------------------------------------

C = TypeVar("C", bound=Condition)


def get_condition(conditions: Sequence[C] | None, type: str) -> C | None:
    """The condition of `type`, or None (GetPodCondition, GetDeploymentCondition...)."""
    for condition in conditions or ():
        if condition.type == type:
            return condition
    return None


def get_controller_of(obj: KubeObject) -> OwnerReference | None:
    """The owner reference with controller=true, if any (metav1.GetControllerOf)."""
    for ref in obj.metadata.owner_references or ():
        if ref.controller:
            return ref
    return None


def is_controlled_by(obj: KubeObject, owner: KubeObject) -> bool:
    """Whether `owner` is `obj`'s controller, compared by UID (metav1.IsControlledBy)."""
    ref = get_controller_of(obj)
    return ref is not None and owner.metadata.uid is not None and ref.uid == owner.metadata.uid


def new_controller_ref(owner: KubeObject) -> OwnerReference:
    """An owner reference that marks `owner` as the controller (metav1.NewControllerRef)."""
    if not (owner.api_version and owner.kind and owner.metadata.name and owner.metadata.uid):
        raise ValueError("owner needs apiVersion, kind, metadata.name and metadata.uid")
    return OwnerReference(
        api_version=owner.api_version, kind=owner.kind, name=owner.metadata.name,
        uid=owner.metadata.uid, controller=True, block_owner_deletion=True,
    )


def meta_namespace_key(obj: KubeObject) -> str:
    """"namespace/name", or "name" for cluster-scoped objects (cache.MetaNamespaceKeyFunc)."""
    name = obj.metadata.name or ""
    return f"{obj.metadata.namespace}/{name}" if obj.metadata.namespace else name


def split_meta_namespace_key(key: str) -> tuple[str, str]:
    """The inverse of meta_namespace_key: ("namespace", "name"), namespace "" if none."""
    namespace, sep, name = key.partition("/")
    return (namespace, name) if sep else ("", namespace)


def format_rfc3339(moment: datetime, micro: bool = False) -> str:
    """"2026-11-26T04:15:16Z" (metav1.Time), or with microseconds (metav1.MicroTime)."""
    utc = moment.astimezone(timezone.utc) if moment.tzinfo else moment
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(value: str) -> datetime:
    """An aware UTC datetime from any RFC 3339 timestamp ("Z" or offset, any fraction)."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    date_part, _, rest = text.partition(".")
    if rest:  # fromisoformat on 3.11 takes at most 6 fraction digits
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{date_part}.{rest[:min(digits, 6)].ljust(6, '0')}{rest[digits:]}"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def now_rfc3339(clock: Callable[[], float] = time.time, micro: bool = False) -> str:
    """The current time from `clock` (seconds since the epoch) as an RFC 3339 string."""
    return format_rfc3339(datetime.fromtimestamp(clock(), tz=timezone.utc), micro=micro)
