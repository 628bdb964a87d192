"""Prometheus metrics: request counts and latency by verb, resource and code.

Exposed on /metrics in the Prometheus text format, with the names the real API
server uses so the same dashboards read them.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/endpoints/metrics/metrics.go
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

LATENCY_BUCKETS_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS_SECONDS))
    total: int = 0
    sum_seconds: float = 0.0

    def observe(self, seconds: float) -> None:
        self.total += 1
        self.sum_seconds += seconds
        for i, bound in enumerate(LATENCY_BUCKETS_SECONDS):
            if seconds <= bound:
                self.counts[i] += 1


class RequestMetrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self.latency: dict[tuple[str, str], _Histogram] = defaultdict(_Histogram)

    def observe(self, verb: str, resource: str, code: int, seconds: float) -> None:
        self.requests[(verb, resource, str(code))] += 1
        if verb != "WATCH":  # a watch lasts as long as the client wants
            self.latency[(verb, resource)].observe(seconds)

    def render(self) -> str:
        lines = ["# HELP apiserver_request_total Counter of apiserver requests broken out by "
                 "verb, resource and HTTP response code.",
                 "# TYPE apiserver_request_total counter"]
        for (verb, resource, code), count in sorted(self.requests.items()):
            lines.append(f'apiserver_request_total{{verb="{verb}",resource="{resource}",'
                         f'code="{code}"}} {count}')
        lines += ["# HELP apiserver_request_duration_seconds Response latency distribution in "
                  "seconds for each verb and resource.",
                  "# TYPE apiserver_request_duration_seconds histogram"]
        for (verb, resource), hist in sorted(self.latency.items()):
            labels = f'verb="{verb}",resource="{resource}"'
            for bound, count in zip(LATENCY_BUCKETS_SECONDS, hist.counts):
                lines.append(f'apiserver_request_duration_seconds_bucket{{{labels},le="{bound}"}} {count}')
            lines.append(f'apiserver_request_duration_seconds_bucket{{{labels},le="+Inf"}} {hist.total}')
            lines.append(f"apiserver_request_duration_seconds_sum{{{labels}}} {hist.sum_seconds:.6f}")
            lines.append(f"apiserver_request_duration_seconds_count{{{labels}}} {hist.total}")
        return "\n".join(lines) + "\n"


def request_verb(method: str, path: str, watch: bool) -> str:
    if watch:
        return "WATCH"
    parts = [p for p in path.split("/") if p]
    # What follows /api/v1 or /apis/{group}/{version}, without namespaces/{ns}:
    # one segment is a collection (pods), more is an object or its subresource.
    rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
    if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
        rest = rest[2:]
    is_collection = len(rest) == 1
    if method == "GET":
        return "LIST" if is_collection else "GET"
    return {"POST": "POST", "PUT": "PUT", "PATCH": "PATCH",
            "DELETE": "DELETECOLLECTION" if is_collection else "DELETE"}.get(method, method)


def path_after_version(path: str) -> list[str] | None:
    """The segments after /api/v1 or /apis/{group}/{version}; None for other paths."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"]:
        return parts[2:]
    if parts[:1] == ["apis"]:
        return parts[3:]
    return None


def request_resource(path: str) -> str:
    rest = path_after_version(path)
    if rest is None:
        return ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        rest = rest[2:]
    return rest[0] if rest else ""
