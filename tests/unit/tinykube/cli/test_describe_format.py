"""Describe's layout helpers: Go's tabwriter alignment, kubectl's ages, event intervals."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tinykube.api.resources import INDEX
from tinykube.cli.describe.config import describe_secret
from tinykube.cli.describe.events import interval
from tinykube.cli.describe.format import PrefixWriter, align_tabs, human_duration, write_object_meta


def test_align_tabs_aligns_each_block_of_consecutive_cells() -> None:
    text = "Name:\tweb\nNamespace:\tdefault\nContainers:\n  c:\n    Image:\tnginx\n    Port:\t80"
    assert align_tabs(text).splitlines() == [
        "Name:       web",
        "Namespace:  default",
        "Containers:",
        "  c:",
        "    Image:  nginx",
        "    Port:   80",
    ]


def test_align_tabs_nested_columns_and_min_width() -> None:
    assert align_tabs("A\tBB\tC\nAAA\tB\tC", padding=3, min_width=6).splitlines() == [
        "A     BB    C", "AAA   B     C"]


@pytest.mark.parametrize(("seconds", "text"), [
    (-5, "<invalid>"), (0, "0s"), (59, "59s"), (119, "119s"), (120, "2m"), (185, "3m5s"),
    (600, "10m"), (179 * 60, "179m"), (3 * 3600, "3h"), (5 * 3600 + 120, "5h2m"), (30 * 3600, "30h"),
    (3 * 86400 + 4 * 3600, "3d4h"), (10 * 86400, "10d"), (800 * 86400, "2y70d"), (9 * 365 * 86400, "9y"),
])
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_event_interval_shows_repeat_count() -> None:
    now = datetime(2024, 1, 1, 1, 0, tzinfo=timezone.utc)
    once = {"firstTimestamp": "2024-01-01T00:59:30Z", "lastTimestamp": "2024-01-01T00:59:30Z", "count": 1}
    many = {"firstTimestamp": "2024-01-01T00:50:00Z", "lastTimestamp": "2024-01-01T00:59:50Z", "count": 4}
    assert interval(once, now) == "30s"
    assert interval(many, now) == "10s (x4 over 10m)"


def test_object_meta_skips_last_applied_and_prints_annotations_as_key_colon_value() -> None:
    w = PrefixWriter()
    write_object_meta(w, {"metadata": {"name": "a", "namespace": "ns", "labels": {"b": "2", "a": "1"},
                                       "annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                                                       "{}", "note": "hi"}}})
    assert w.text().splitlines() == ["Name:         a", "Namespace:    ns", "Labels:       a=1",
                                     "              b=2", "Annotations:  note: hi"]


async def test_secret_values_never_shown() -> None:
    info = INDEX.by_name("secrets")
    assert info is not None
    secret = {"metadata": {"name": "s", "namespace": "ns"}, "type": "Opaque",
              "data": {"token": "c2VjcmV0LXZhbHVl"}}
    w = await describe_secret(None, info, secret)  # type: ignore[arg-type]
    text = w.text()
    assert "token:  12 bytes" in text.splitlines()
    assert "c2VjcmV0" not in text and "secret-value" not in text
