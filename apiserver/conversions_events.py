"""events.k8s.io/v1 Event ⇄ core/v1 Event (the stored version): one object, two shapes.

The newer API renames core's fields and marks the old bookkeeping as deprecated:

    events.k8s.io/v1          core/v1
    regarding                 involvedObject
    note                      message
    reportingController       reportingComponent
    deprecatedSource          source
    deprecatedFirstTimestamp  firstTimestamp
    deprecatedLastTimestamp   lastTimestamp
    deprecatedCount           count

eventTime, series, action, reason, related, type and reportingInstance are the same
in both. Both read the same keys (/registry/events/...), so an Event written through
one API is listed and watched through the other.

Kubernetes counterpart: pkg/apis/events/v1/conversion.go
"""

from __future__ import annotations

import copy
from typing import Any

Obj = dict[str, Any]

# events.k8s.io/v1 field -> core/v1 field
RENAMED = (
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
)


def events_v1_to_core(obj: Obj) -> Obj:
    converted = copy.deepcopy(obj)
    for new, old in RENAMED:
        if new in converted:
            converted[old] = converted.pop(new)
    converted["apiVersion"] = "v1"
    return converted


def core_to_events_v1(obj: Obj) -> Obj:
    converted = copy.deepcopy(obj)
    for new, old in RENAMED:
        if old in converted:
            converted[new] = converted.pop(old)
    converted["apiVersion"] = "events.k8s.io/v1"
    return converted
