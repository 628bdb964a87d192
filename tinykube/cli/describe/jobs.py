"""Describe a Job: its knobs (parallelism, completions, mode, backoff limit, TTL),
when it started and finished, how many pods are in each state, and its pod template.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/describe/describe.go (JobDescriber)
"""

from __future__ import annotations

from typing import Any

from tinykube.api.meta import parse_rfc3339
from tinykube.api.resources import ResourceInfo
from tinykube.cli.describe.format import (
    PrefixWriter,
    controller_of,
    format_time,
    human_duration,
    label_selector_text,
)
from tinykube.cli.describe.pods import write_pod_template
from tinykube.cli.describe.workloads import write_object_meta_tail
from tinykube.client import RESTClient

Obj = dict[str, Any]
COMPLETED_INDEXES_SOFT_LIMIT = 50


def cap_indexes_list_or_none(indexes: str | None, soft_limit: int = COMPLETED_INDEXES_SOFT_LIMIT) -> str:
    """Completed indexes, cut at the first comma after `soft_limit` characters."""
    if not indexes:
        return "<none>"
    cut = indexes.find(",", soft_limit)
    return indexes if cut < 0 else indexes[:cut + 1] + "..."


async def describe_job(client: RESTClient, info: ResourceInfo, obj: Obj) -> PrefixWriter:
    w = PrefixWriter()
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}")
    w.write(0, f"Selector:\t{label_selector_text(spec.get('selector'))}")
    write_object_meta_tail(w, obj)
    owner = controller_of(obj)
    if owner:
        w.write(0, f"Controlled By:\t{owner}")
    if spec.get("parallelism") is not None:
        w.write(0, f"Parallelism:\t{spec['parallelism']}")
    w.write(0, f"Completions:\t{spec['completions'] if spec.get('completions') is not None else '<unset>'}")
    for field, label in (("completionMode", "Completion Mode"), ("suspend", "Suspend"),
                         ("backoffLimit", "Backoff Limit"),
                         ("ttlSecondsAfterFinished", "TTL Seconds After Finished")):
        value = spec.get(field)
        if value is not None:
            w.write(0, f"{label}:\t{str(value).lower() if isinstance(value, bool) else value}")
    start, completion = status.get("startTime"), status.get("completionTime")
    if start:
        w.write(0, f"Start Time:\t{format_time(start)}")
    if completion:
        w.write(0, f"Completed At:\t{format_time(completion)}")
    if start and completion:
        seconds = (parse_rfc3339(completion) - parse_rfc3339(start)).total_seconds()
        w.write(0, f"Duration:\t{human_duration(seconds)}")
    if spec.get("activeDeadlineSeconds") is not None:
        w.write(0, f"Active Deadline Seconds:\t{spec['activeDeadlineSeconds']}s")
    counts = f"{status.get('succeeded', 0)} Succeeded / {status.get('failed', 0)} Failed"
    if status.get("ready") is None:
        w.write(0, f"Pods Statuses:\t{status.get('active', 0)} Active / {counts}")
    else:
        w.write(0, f"Pods Statuses:\t{status.get('active', 0)} Active ({status['ready']} Ready) / {counts}")
    if spec.get("completionMode") == "Indexed":
        w.write(0, f"Completed Indexes:\t{cap_indexes_list_or_none(status.get('completedIndexes'))}")
    write_pod_template(w, spec.get("template") or {})
    return w
