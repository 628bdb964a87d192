"""`tinykube rollout status|history|undo|restart|pause|resume TYPE NAME | TYPE/NAME`.

The logic (revisions, rollback patch, status messages) is in `tinykube.cli.rollout`;
this module fetches, patches and prints. Deployments keep their history in
ReplicaSets; DaemonSets and StatefulSets in ControllerRevisions (status, history,
undo and restart; pause and resume are Deployments' only, as in kubectl).

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/rollout/
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tinykube.api.resources import CONTROLLER_REVISIONS, REPLICA_SETS, ResourceInfo
from tinykube.cli import rollout as logic
from tinykube.cli.commands.wait import watch_until
from tinykube.cli.context import CLIContext, CLIError, object_ref, parse_targets
from tinykube.cli.describe.format import PrefixWriter, label_selector_text
from tinykube.cli.describe.pods import write_pod_template
from tinykube.client import PatchType, RESTClient
from tinykube.component import duration

Obj = dict[str, Any]
ACTIONS = ("status", "history", "undo", "restart", "pause", "resume")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("rollout", help="manage the rollout of a deployment, daemonset or statefulset")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action in ACTIONS:
        sub = actions.add_parser(action, help=f"rollout {action}")
        sub.add_argument("targets", nargs="+", metavar="TYPE NAME | TYPE/NAME")
        if action == "status":
            sub.add_argument("--timeout", type=duration, default=0.0,
                             help="give up after this long (0: wait forever)")
            sub.add_argument("-w", "--watch", default="true", choices=["true", "false"],
                             help="watch until the rollout finishes (default true)")
        if action in ("history", "undo"):
            option = "--revision" if action == "history" else "--to-revision"
            sub.add_argument(option, dest="revision", type=int, default=0,
                             help="the revision (0: all for history, previous for undo)")
        sub.set_defaults(func=run)


async def run(ctx: CLIContext) -> int:
    async with ctx.client() as client:
        for info, name in parse_targets(ctx, ctx.args.targets):
            if name is None:
                raise CLIError("resource(s) were provided, but no name was specified")
            handlers = HANDLERS_BY_KIND.get(info.kind, {})
            handler = handlers.get(ctx.args.action)
            if handler is None:
                raise CLIError(f"no {ctx.args.action} for {info.group_resource}: tinykube rolls "
                               "out deployments, daemonsets and statefulsets only")
            obj = await client.get(info, name, ctx.namespace)
            try:
                await handler(ctx, client, info, obj)
            except logic.RolloutError as err:
                raise CLIError(str(err)) from None
    return 0


async def _status(ctx: CLIContext, client: RESTClient, info: ResourceInfo, obj: Obj) -> None:
    last: list[str] = []
    status_of = STATUS_VIEWERS[info.kind]

    def report(current: Obj | None) -> None:
        if current is None:
            raise CLIError(f'{info.singular} "{obj["metadata"]["name"]}" was deleted')
        message, _ = status_of(current)
        if not last or last[-1] != message:
            last.append(message)
            print(message, file=ctx.out, flush=True)

    def done(current: Obj | None) -> bool:
        return current is not None and status_of(current)[1]

    if ctx.args.watch == "false":
        report(obj)
        return
    timeout_seconds: float = ctx.args.timeout
    waiting = watch_until(client, info, ctx.namespace, obj["metadata"]["name"], done,
                          on_change=report)
    try:
        await asyncio.wait_for(waiting, timeout_seconds if timeout_seconds > 0 else None)
    except TimeoutError:
        raise CLIError("timed out waiting for the condition") from None


async def _selected(client: RESTClient, resource: ResourceInfo, owner: Obj) -> list[Obj]:
    """The `resource` objects in owner's namespace that its selector matches."""
    selector = label_selector_text((owner.get("spec") or {}).get("selector"))
    items, _ = await client.list(resource, owner["metadata"]["namespace"],
                                 label_selector=selector.replace("<none>", ""))
    return items


async def _history(ctx: CLIContext, client: RESTClient, info: ResourceInfo, deployment: Obj) -> None:
    revisions = logic.history(deployment, await _selected(client, REPLICA_SETS, deployment))
    _print_history(ctx, object_ref(info, deployment["metadata"]["name"]), revisions,
                   lambda rs: logic.template_without_hash(rs["spec"].get("template") or {}))


def _print_history(ctx: CLIContext, ref: str, revisions: dict[int, Obj],
                   template_of: Callable[[Obj], Obj]) -> None:
    """The revisions table, or with --revision the pod template of one revision."""
    if ctx.args.revision:
        revision = revisions.get(ctx.args.revision)
        if revision is None:
            raise CLIError("unable to find the specified revision")
        w = PrefixWriter()
        write_pod_template(w, template_of(revision))
        print(f"{ref} with revision #{ctx.args.revision}", file=ctx.out)
        ctx.out.write(w.text())
        return
    if not revisions:
        print(f"{ref} ", file=ctx.out)
        print("No rollout history found.", file=ctx.out)
        return
    w = PrefixWriter()
    w.write(0, "REVISION\tCHANGE-CAUSE")
    for revision in sorted(revisions):
        w.write(0, f"{revision}\t{logic.change_cause(revisions[revision])}")
    print(f"{ref} ", file=ctx.out)
    ctx.out.write(w.text() + "\n")


async def _undo(ctx: CLIContext, client: RESTClient, info: ResourceInfo, deployment: Obj) -> None:
    plan = logic.rollback(deployment, await _selected(client, REPLICA_SETS, deployment), ctx.args.revision)
    ref = object_ref(info, deployment["metadata"]["name"])
    if plan.patch is None:
        print(f"{ref} skipped rollback (current template already matches revision "
              f"{plan.revision})", file=ctx.out)
        return
    await client.patch(info, deployment["metadata"]["name"], plan.patch,
                       patch_type=PatchType.JSON, namespace=ctx.namespace)
    print(f"{ref} rolled back", file=ctx.out)


async def _restart(ctx: CLIContext, client: RESTClient, info: ResourceInfo, deployment: Obj) -> None:
    name = deployment["metadata"]["name"]
    if (deployment.get("spec") or {}).get("paused"):
        raise CLIError(f"deployments.apps \"{name}\" can't restart paused deployment "
                       f"(run rollout resume first)")
    now = datetime.now().astimezone().isoformat(timespec="seconds")
    patch = {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": now}}}}}
    await client.patch(info, name, patch, patch_type=PatchType.STRATEGIC, namespace=ctx.namespace)
    print(f"{object_ref(info, name)} restarted", file=ctx.out)


async def _set_paused(ctx: CLIContext, client: RESTClient, info: ResourceInfo,
                      deployment: Obj) -> None:
    paused = ctx.args.action == "pause"
    name = deployment["metadata"]["name"]
    if bool((deployment.get("spec") or {}).get("paused")) == paused:
        raise CLIError(f'deployments.apps "{name}" is {"already paused" if paused else "not paused"}')
    await client.patch(info, name, {"spec": {"paused": paused}}, patch_type=PatchType.STRATEGIC,
                       namespace=ctx.namespace)
    print(f"{object_ref(info, name)} {'paused' if paused else 'resumed'}", file=ctx.out)


async def _revision_history(ctx: CLIContext, client: RESTClient, info: ResourceInfo,
                              daemon_set: Obj) -> None:
    revisions = logic.owned_revisions(daemon_set, await _selected(client, CONTROLLER_REVISIONS, daemon_set))
    _print_history(ctx, object_ref(info, daemon_set["metadata"]["name"]), revisions, logic.revision_template)


async def _revision_undo(ctx: CLIContext, client: RESTClient, info: ResourceInfo, daemon_set: Obj) -> None:
    plan = logic.rollback_daemon_set(daemon_set, await _selected(client, CONTROLLER_REVISIONS, daemon_set), ctx.args.revision)
    ref = object_ref(info, daemon_set["metadata"]["name"])
    if plan.patch is None:
        print(f"{ref} skipped rollback (current template already matches revision {plan.revision})",
              file=ctx.out)
        return
    await client.patch(info, daemon_set["metadata"]["name"], plan.patch, patch_type=PatchType.STRATEGIC,
                       namespace=ctx.namespace)
    print(f"{ref} rolled back", file=ctx.out)


HANDLERS = {"status": _status, "history": _history, "undo": _undo, "restart": _restart,
            "pause": _set_paused, "resume": _set_paused}
REVISION_HANDLERS = {"status": _status, "history": _revision_history, "undo": _revision_undo,
                     "restart": _restart}
HANDLERS_BY_KIND = {"Deployment": HANDLERS, "DaemonSet": REVISION_HANDLERS, "StatefulSet": REVISION_HANDLERS}
STATUS_VIEWERS = {"Deployment": logic.deployment_status, "DaemonSet": logic.daemon_set_status,
                  "StatefulSet": logic.stateful_set_status}
