"""events.k8s.io/v1 Events: the renames to and from core/v1, and the create rules."""

from __future__ import annotations

from typing import Any

from apiserver.conversions_events import core_to_events_v1, events_v1_to_core
from apiserver.strategies.event import validate_events_v1_create

Obj = dict[str, Any]

NEW: Obj = {
    "apiVersion": "events.k8s.io/v1", "kind": "Event",
    "metadata": {"name": "web.1", "namespace": "shop"},
    "eventTime": "2026-12-03T10:00:00.000000Z", "reportingController": "example.com/operator",
    "reportingInstance": "operator-1", "action": "Scaling", "reason": "ScaledUp", "type": "Normal",
    "regarding": {"kind": "Deployment", "namespace": "shop", "name": "web"}, "note": "scaled to 3",
    "series": {"count": 2, "lastObservedTime": "2026-12-03T10:01:00.000000Z"},
}


def test_the_new_fields_are_the_core_fields_renamed_and_back() -> None:
    core = events_v1_to_core(NEW)
    assert core["apiVersion"] == "v1"
    assert core["involvedObject"] == NEW["regarding"] and core["message"] == "scaled to 3"
    assert core["reportingComponent"] == "example.com/operator" and core["series"] == NEW["series"]
    assert "regarding" not in core and "note" not in core
    assert core_to_events_v1(core) == NEW


def test_a_legacy_event_shows_its_bookkeeping_as_deprecated_fields() -> None:
    legacy = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "x", "namespace": "shop"},
              "involvedObject": {"kind": "Pod", "name": "p"}, "count": 4, "source": {"component": "kubelet"},
              "firstTimestamp": "2026-12-03T09:00:00Z", "lastTimestamp": "2026-12-03T10:00:00Z"}
    new = core_to_events_v1(legacy)
    assert (new["deprecatedCount"], new["deprecatedSource"], new["deprecatedFirstTimestamp"]) == (
        4, {"component": "kubelet"}, "2026-12-03T09:00:00Z")


def test_a_complete_event_is_valid() -> None:
    assert validate_events_v1_create(NEW) == []


def test_required_fields_and_deprecated_ones_unset_with_upstreams_messages() -> None:
    bare: Obj = {"metadata": {"name": "x", "namespace": "shop"}, "regarding": {"namespace": "shop"},
                 "type": "Loud", "deprecatedCount": 3}
    messages = [str(e) for e in validate_events_v1_create(bare)]
    # As upstream, an empty reportingController is also not a qualified name (two more lines).
    assert [m for m in messages if not m.startswith("reportingController: Invalid value")] == [
        "reportingController: Required value",
        "reportingInstance: Required value",
        "action: Required value",
        "reason: Required value",
        "eventTime: Required value",
        'type: Invalid value: "": has invalid value: Loud',
        'deprecatedCount: Invalid value: "": needs to be unset',
    ]
    assert 'reportingController: Invalid value: "": name part must be non-empty' in messages
