"""`tinykube create cronjob NAME --image=IMG --schedule=SPEC [--restart=R] [-- CMD...]` and
`tinykube create job NAME --from=cronjob/X` (the `--image` form is create.py's `job`).

Build what kubectl builds. A CronJob: one container named after it running the image
(with CMD as its command), restartPolicy OnFailure unless `--restart` says Never, the
schedule as given (the API server validates it). A Job `--from` a CronJob: its jobTemplate's spec,
labels and annotations, plus `cronjob.kubernetes.io/instantiate: manual` and an
ownerReference to the CronJob (controller, without blockOwnerDeletion), so the CronJob
counts it among its Jobs and deleting the CronJob deletes it.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/create/create_cronjob.go, create_job.go
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

from tinykube.api.resources import CRON_JOBS
from tinykube.cli.context import CLIContext, CLIError

Obj = dict[str, Any]
RESTART_POLICIES = ("OnFailure", "Never")
INSTANTIATE_ANNOTATION = "cronjob.kubernetes.io/instantiate"
CRON_JOB_NAMES = ("cronjob", "cronjobs", "cj", "cronjob.batch", "cronjobs.batch")
CreateObjects = Callable[[CLIContext, list[tuple[Obj, str | None]]], Awaitable[int]]


def cron_job(args: argparse.Namespace) -> Obj:
    if not args.image:
        raise CLIError('required flag(s) "image" not set')
    if not args.schedule:
        raise CLIError('required flag(s) "schedule" not set')
    if args.restart not in RESTART_POLICIES:
        raise CLIError(f"restart policy must be one of {', '.join(RESTART_POLICIES)}")
    container: Obj = {"name": args.name, "image": args.image}
    command = list(getattr(args, "extra_args", []) or [])
    if command:
        container["command"] = command
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": args.name},
            "spec": {"schedule": args.schedule,
                     "jobTemplate": {"metadata": {"name": args.name},
                                     "spec": {"template": {"spec": {"containers": [container],
                                                                    "restartPolicy": args.restart}}}}}}


def job_from_cron_job(cron_job: Obj, name: str) -> Obj:
    """kubectl's createJobFromCronJob: the template's Job, marked manual, owned by the CronJob."""
    template = (cron_job.get("spec") or {}).get("jobTemplate") or {}
    template_meta = template.get("metadata") or {}
    meta: Obj = {"name": name,
                 "annotations": {INSTANTIATE_ANNOTATION: "manual", **(template_meta.get("annotations") or {})},
                 "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob",
                                      "name": cron_job["metadata"]["name"], "uid": cron_job["metadata"]["uid"],
                                      "controller": True}]}
    if template_meta.get("labels"):
        meta["labels"] = dict(template_meta["labels"])
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": template.get("spec") or {}}


def create_job(create_objects: CreateObjects,
               from_image: Callable[[argparse.Namespace], Obj]) -> Callable[[CLIContext], Awaitable[int]]:
    """The `create job` command: `--from=cronjob/X` here, `--image` through `from_image`."""
    async def run(ctx: CLIContext) -> int:
        args = ctx.args
        if args.image and args.from_:
            raise CLIError("either --image or --from must be specified, not both")
        if args.from_:
            kind, _, source = args.from_.partition("/")
            if not source:
                raise CLIError(f"from must be of the form <resource>/<name>: {args.from_}")
            if kind.lower() not in CRON_JOB_NAMES:
                raise CLIError(f"unknown object type {kind}: --from takes a cronjob")
            async with ctx.client() as client:
                cron_job = await client.get(CRON_JOBS, source, ctx.namespace)
            return await create_objects(ctx, [(job_from_cron_job(cron_job, args.name), None)])
        return await create_objects(ctx, [(from_image(args), None)])
    return run


def register_cron_job(kinds: Any, add_output_flags: Callable[[argparse.ArgumentParser], None],
                      run: Callable[..., Any]) -> None:
    p = kinds.add_parser("cronjob", aliases=["cj"], help="a CronJob running an image on a schedule")
    p.add_argument("name")
    p.add_argument("--image", help="the container image")
    p.add_argument("--schedule", help='a cron schedule, e.g. "*/1 * * * *"')
    p.add_argument("--restart", default="OnFailure", help="the pods' restartPolicy: OnFailure or Never")
    add_output_flags(p)
    p.set_defaults(func=run, takes_extra_args=True)
