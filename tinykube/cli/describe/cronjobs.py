"""Describe a CronJob: its schedule and policies, the Job template, and its runs.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/describe/describe.go (CronJobDescriber,
describeJobTemplate, printActiveJobs)
"""

from __future__ import annotations

from typing import Any

from tinykube.api.resources import ResourceInfo
from tinykube.cli.describe.format import PrefixWriter, format_time, label_selector_text, write_object_meta
from tinykube.cli.describe.pods import write_pod_template
from tinykube.client import RESTClient

Obj = dict[str, Any]


def _unset(value: Any) -> str:
    return "<unset>" if value is None else str(value)


async def describe_cron_job(client: RESTClient, info: ResourceInfo, obj: Obj) -> PrefixWriter:
    w = PrefixWriter()
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    write_object_meta(w, obj)
    w.write(0, f"Schedule:\t{spec.get('schedule', '')}")
    if spec.get("timeZone") is not None:
        w.write(0, f"Time Zone:\t{spec['timeZone']}")
    w.write(0, f"Concurrency Policy:\t{spec.get('concurrencyPolicy', '')}")
    w.write(0, f"Suspend:\t{'True' if spec.get('suspend') else 'False'}")
    w.write(0, f"Successful Job History Limit:\t{_unset(spec.get('successfulJobsHistoryLimit'))}")
    w.write(0, f"Failed Job History Limit:\t{_unset(spec.get('failedJobsHistoryLimit'))}")
    w.write(0, f"Starting Deadline Seconds:\t{_unset(spec.get('startingDeadlineSeconds'))}")
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    selector = job_spec.get("selector")
    w.write(0, f"Selector:\t{label_selector_text(selector) if selector else '<unset>'}")
    w.write(0, f"Parallelism:\t{_unset(job_spec.get('parallelism'))}")
    w.write(0, f"Completions:\t{_unset(job_spec.get('completions'))}")
    if job_spec.get("activeDeadlineSeconds") is not None:
        w.write(0, f"Active Deadline Seconds:\t{job_spec['activeDeadlineSeconds']}s")
    write_pod_template(w, job_spec.get("template") or {})
    w.write(0, f"Last Schedule Time:\t{format_time(status.get('lastScheduleTime'))}")
    active = [ref.get("name", "") for ref in status.get("active") or []]
    w.write(0, f"Active Jobs:\t{', '.join(active) or '<none>'}")
    return w
