"""events.k8s.io/v1 Events: what a client of the new API must set.

core/v1 Events keep their lax, historical rules (nothing beyond object metadata
here). An Event created through events.k8s.io/v1 must say when it happened and who
reported it, and must leave the deprecated core fields alone: `eventTime`,
`reportingController`, `reportingInstance`, `action` and `reason` are required,
`type` is Normal or Warning, `note` at most 1 kB, `deprecated*` unset.

Kubernetes counterpart: pkg/apis/core/validation/events.go (ValidateEventCreate,
legacyValidateEvent), pkg/registry/core/event/strategy.go
"""

from __future__ import annotations

from typing import Any

from apiserver.strategy import Obj, Strategy
from tinykube.api.validation import FieldError, invalid, is_qualified_name, required

NOTE_LENGTH_LIMIT = 1024
REPORTING_INSTANCE_LENGTH_LIMIT = 128
ACTION_LENGTH_LIMIT = 128
REASON_LENGTH_LIMIT = 128
DEPRECATED = ("deprecatedFirstTimestamp", "deprecatedLastTimestamp", "deprecatedCount", "deprecatedSource")


class EventsV1Strategy(Strategy):
    def validate(self, obj: Obj) -> list[FieldError]:
        return super().validate(obj) + validate_events_v1_create(obj)


def _long(field: str, limit: int, what: str = "characters") -> FieldError:
    return invalid(field, "", f"can have at most {limit} {what}")


def validate_events_v1_create(event: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    regarding = event.get("regarding") or {}
    namespace = (event.get("metadata") or {}).get("namespace")
    if not regarding.get("namespace") and namespace not in ("default", "kube-system"):
        errs.append(invalid("involvedObject.namespace", regarding.get("namespace") or "",
                            "does not match event.namespace"))
    controller: Any = event.get("reportingController") or ""
    if not controller:
        errs.append(required("reportingController"))
    errs += [invalid("reportingController", controller, problem) for problem in is_qualified_name(str(controller))]
    instance = event.get("reportingInstance") or ""
    if not instance:
        errs.append(required("reportingInstance"))
    elif len(instance) > REPORTING_INSTANCE_LENGTH_LIMIT:
        errs.append(_long("reportingInstance", REPORTING_INSTANCE_LENGTH_LIMIT))
    for field, limit in (("action", ACTION_LENGTH_LIMIT), ("reason", REASON_LENGTH_LIMIT)):
        value = event.get(field) or ""
        if not value:
            errs.append(required(field))
        elif len(value) > limit:
            errs.append(_long(field, limit))
    if len(event.get("note") or "") > NOTE_LENGTH_LIMIT:
        errs.append(_long("message", NOTE_LENGTH_LIMIT))
    if not event.get("eventTime"):
        errs.append(required("eventTime"))
    if event.get("type") not in ("Normal", "Warning"):
        errs.append(invalid("type", "", f"has invalid value: {event.get('type') or ''}"))
    for field in DEPRECATED:
        if event.get(field):
            errs.append(invalid(field, "", "needs to be unset"))
    return errs
