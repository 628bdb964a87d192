"""`tinykube create cronjob NAME --image=IMG --schedule=SPEC [--restart=R] [-- CMD...]`.

Builds the CronJob kubectl builds: one container named after the CronJob running the
image (with CMD as its command), restartPolicy OnFailure unless `--restart` says
Never, the schedule as given (the API server validates it).

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/create/create_cronjob.go
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from tinykube.cli.context import CLIError

Obj = dict[str, Any]
RESTART_POLICIES = ("OnFailure", "Never")


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


def register_cron_job(kinds: Any, add_output_flags: Callable[[argparse.ArgumentParser], None],
                      run: Callable[..., Any]) -> None:
    p = kinds.add_parser("cronjob", aliases=["cj"], help="a CronJob running an image on a schedule")
    p.add_argument("name")
    p.add_argument("--image", help="the container image")
    p.add_argument("--schedule", help='a cron schedule, e.g. "*/1 * * * *"')
    p.add_argument("--restart", default="OnFailure", help="the pods' restartPolicy: OnFailure or Never")
    add_output_flags(p)
    p.set_defaults(func=run, takes_extra_args=True)
