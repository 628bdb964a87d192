"""Quantities and pod requests, as the scheduler counts them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from scheduler.types import (
    DEFAULT_MEMORY_REQUEST,
    DEFAULT_MILLI_CPU_REQUEST,
    compute_pod_requests,
)
from tinykube.api.core import PodSpec
from tinykube.api.quantity import milli_value, parse_quantity


@pytest.mark.parametrize(("text", "expected"), [
    ("500m", Decimal("0.5")), ("2", Decimal(2)), (2, Decimal(2)), (0.5, Decimal("0.5")),
    ("1Ki", Decimal(1024)), ("1Gi", Decimal(2**30)), ("1.5Gi", Decimal(3 * 2**29)),
    ("1k", Decimal(1000)), ("1M", Decimal(10**6)), ("1e3", Decimal(1000)), ("100n", Decimal("1E-7")),
])
def test_parse_quantity(text: str | int | float, expected: Decimal) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize(("text", "millis"), [("100m", 100), ("1", 1000), ("0.1", 100), ("1.0001", 1001)])
def test_cpu_in_millicores_rounds_up(text: str, millis: int) -> None:
    assert milli_value(text) == millis


def test_an_invalid_quantity_is_rejected() -> None:
    with pytest.raises(ValueError, match="invalid quantity"):
        parse_quantity("lots")


@pytest.mark.parametrize(("spec", "cpu", "memory", "non_zero_cpu", "non_zero_memory"), [
    ({"containers": [{"name": "a"}]}, 0, 0, DEFAULT_MILLI_CPU_REQUEST, DEFAULT_MEMORY_REQUEST),
    ({"containers": [{"name": "a", "resources": {"requests": {"cpu": "250m", "memory": "1Mi"}}},
                     {"name": "b", "resources": {"requests": {"cpu": "250m"}}}]},
     500, 2**20, 500, 2**20 + DEFAULT_MEMORY_REQUEST),
    # an init container larger than the sum of the app containers sets the request
    ({"containers": [{"name": "a", "resources": {"requests": {"cpu": "100m"}}}],
      "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "1"}}}]},
     1000, 0, 1000, DEFAULT_MEMORY_REQUEST),
    ({"containers": [{"name": "a", "resources": {"requests": {"cpu": "100m"}}}], "overhead": {"cpu": "50m"}},
     150, 0, 150, DEFAULT_MEMORY_REQUEST),
])
def test_compute_pod_requests(spec: dict, cpu: int, memory: int, non_zero_cpu: int, non_zero_memory: int) -> None:
    resource = compute_pod_requests(PodSpec.from_dict(spec))
    requests, non_zero = resource.requests, resource.non_zero_requests
    assert (requests.milli_cpu, requests.memory) == (cpu, memory)
    assert (non_zero.milli_cpu, non_zero.memory) == (non_zero_cpu, non_zero_memory)
