"""Resource quantities ("500m", "1Gi", "2", 0.5) as exact Decimals.

One parser for every component that reads requests, limits, capacity or usage: the
scheduler (fit), the kubelet (cgroup limits, allocatable, downward API) and the CLI
(`top`).

Kubernetes counterpart: staging/src/k8s.io/apimachinery/pkg/api/resource/quantity.go
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal, InvalidOperation

_BINARY_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL_SUFFIXES = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
                     "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"),
                     "T": Decimal("1e12"), "P": Decimal("1e15"), "E": Decimal("1e18")}


def parse_quantity(value: str | int | float) -> Decimal:
    """"100m" → 0.1, "64Mi" → 67108864, "1e3" → 1000; ValueError when malformed."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    text = str(value).strip()
    try:
        for suffix, factor in _BINARY_SUFFIXES.items():
            if text.endswith(suffix) and text[:-2]:
                return Decimal(text[:-2]) * factor
        if len(text) > 1 and text[-1] in _DECIMAL_SUFFIXES:
            return Decimal(text[:-1]) * _DECIMAL_SUFFIXES[text[-1]]
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"invalid quantity {value!r}") from None


def milli_value(value: str | int | float) -> int:
    """CPU quantities in millicores, rounded up as Kubernetes' MilliValue does."""
    return int((parse_quantity(value) * 1000).to_integral_value(rounding=ROUND_CEILING))


def int_value(value: str | int | float) -> int:
    """Memory (and pod count) quantities as whole units, rounded up."""
    return int(parse_quantity(value).to_integral_value(rounding=ROUND_CEILING))
