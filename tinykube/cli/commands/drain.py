"""`tinykube cordon NODE`, `tinykube uncordon NODE`, `tinykube drain NODE`.

cordon/uncordon set or clear the node's spec.unschedulable. drain cordons the node,
then evicts every pod on it through the pods/eviction subresource, so
PodDisruptionBudgets are respected: an eviction refused with 429 (the budget has no
disruption left) is retried every EVICTION_RETRY_SECONDS until --timeout, while
the pods' controllers bring replacements up elsewhere. drain ends once every
evicted pod is gone. Pods it will not evict, as kubectl:
- mirror pods (the kubelet's static pods) are skipped;
- DaemonSet pods are skipped with --ignore-daemonsets, else drain refuses;
- pods with no controller need --force, pods with emptyDir volumes
  --delete-emptydir-data; finished pods are always evicted.
Output lines are kubectl's (`evicting pod ns/name`, `pod/name evicted`).

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/drain/drain.go,
staging/src/k8s.io/kubectl/pkg/drain/{drain.go,filters.go,cordon.go}
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from tinykube.api.resources import NODES, PODS
from tinykube.cli.context import CLIContext, CLIError
from tinykube.client import APIStatusError, PatchType, RESTClient
from tinykube.component import duration

EVICTION_RETRY_SECONDS = 5.0
DELETION_POLL_SECONDS = 1.0
MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for command, help_text in (("cordon", "mark a node as unschedulable"),
                               ("uncordon", "mark a node as schedulable")):
        parser = subparsers.add_parser(command, help=help_text)
        parser.add_argument("node", metavar="NODE")
        parser.set_defaults(func=run_cordon if command == "cordon" else run_uncordon)
    parser = subparsers.add_parser("drain", help="cordon a node and evict its pods, "
                                                 "respecting PodDisruptionBudgets")
    parser.add_argument("node", metavar="NODE")
    parser.add_argument("--ignore-daemonsets", action="store_true",
                        help="skip DaemonSet-managed pods")
    parser.add_argument("--force", action="store_true",
                        help="also evict pods that no controller manages")
    parser.add_argument("--delete-emptydir-data", action="store_true",
                        help="also evict pods with emptyDir volumes (their data is lost)")
    parser.add_argument("--grace-period", type=int, default=-1,
                        help="seconds each pod gets to stop; -1 uses the pod's own")
    parser.add_argument("--timeout", type=duration, default=0.0,
                        help="give up after this long (e.g. 2m0s); 0s waits forever")
    parser.set_defaults(func=run_drain)


async def set_unschedulable(client: RESTClient, node: str, unschedulable: bool) -> bool:
    """Cordon or uncordon; False if the node already was in that state."""
    current = await client.get(NODES, node)
    if bool((current.get("spec") or {}).get("unschedulable")) == unschedulable:
        return False
    await client.patch(NODES, node, {"spec": {"unschedulable": unschedulable or None}},
                       patch_type=PatchType.MERGE)
    return True


async def run_cordon(ctx: CLIContext) -> int:
    async with ctx.client() as client:
        changed = await set_unschedulable(client, ctx.args.node, True)
    print(f"node/{ctx.args.node} {'cordoned' if changed else 'already cordoned'}", file=ctx.out)
    return 0


async def run_uncordon(ctx: CLIContext) -> int:
    async with ctx.client() as client:
        changed = await set_unschedulable(client, ctx.args.node, False)
    print(f"node/{ctx.args.node} {'uncordoned' if changed else 'already uncordoned'}",
          file=ctx.out)
    return 0


def pods_to_evict(pods: list[dict[str, Any]], args: argparse.Namespace,
                  ) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """(pods to evict, warnings, errors) after kubectl's filters."""
    evict: list[dict[str, Any]] = []
    skipped_ds: list[str] = []
    problems: dict[str, list[str]] = {}
    for pod in pods:
        meta = pod["metadata"]
        ref = f"{meta.get('namespace')}/{meta['name']}"
        if MIRROR_POD_ANNOTATION in (meta.get("annotations") or {}):
            continue
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            evict.append(pod)
            continue
        owner = next((o for o in meta.get("ownerReferences") or [] if o.get("controller")), None)
        if owner is not None and owner.get("kind") == "DaemonSet":
            if args.ignore_daemonsets:
                skipped_ds.append(ref)
            else:
                problems.setdefault("cannot delete DaemonSet-managed Pods (use "
                                    "--ignore-daemonsets to ignore)", []).append(ref)
            continue
        if owner is None and not args.force:
            problems.setdefault("cannot delete Pods that declare no controller (use --force to "
                                "override)", []).append(ref)
            continue
        if any("emptyDir" in v for v in (pod.get("spec") or {}).get("volumes") or []) \
                and not args.delete_emptydir_data:
            problems.setdefault("cannot delete Pods with local storage (use "
                                "--delete-emptydir-data to override)", []).append(ref)
            continue
        evict.append(pod)
    warnings = [f"ignoring DaemonSet-managed Pods: {', '.join(skipped_ds)}"] if skipped_ds else []
    errors = [f"{why}: {', '.join(refs)}" for why, refs in problems.items()]
    return evict, warnings, errors


def go_duration(seconds: float) -> str:
    """Go's time.Duration.String() for whole seconds: 1m30s, 2m0s, 45s."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


class Drainer:
    """Evicts one node's pods, each in its own task, until --timeout."""

    def __init__(self, ctx: CLIContext, client: RESTClient) -> None:
        self.ctx, self.client, self.args = ctx, client, ctx.args
        self.deadline = time.monotonic() + self.args.timeout if self.args.timeout > 0 else None

    def _timed_out(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def _timeout_error(self, namespace: str, name: str) -> CLIError:
        return CLIError(f'error when evicting pods/"{name}" -n "{namespace}": global timeout '
                        f"reached: {go_duration(self.args.timeout)}")

    async def evict_pod(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        namespace, name = meta.get("namespace") or "default", meta["name"]
        body: dict[str, Any] = {"apiVersion": "policy/v1", "kind": "Eviction",
                                "metadata": {"name": name, "namespace": namespace}}
        if self.args.grace_period >= 0:
            body["deleteOptions"] = {"gracePeriodSeconds": self.args.grace_period}
        print(f"evicting pod {namespace}/{name}", file=self.ctx.out, flush=True)
        while True:
            try:
                await self.client.create_subresource(PODS, name, "eviction", body, namespace)
                break
            except APIStatusError as err:
                if err.code == 404:
                    break
                if err.code != 429:
                    raise CLIError(f'error when evicting pods/"{name}" -n "{namespace}": '
                                   f"{err.message}") from None
                print(f'error when evicting pods/"{name}" -n "{namespace}" (will retry after '
                      f"{go_duration(EVICTION_RETRY_SECONDS)}): {err.message}",
                      file=self.ctx.err, flush=True)
            if self._timed_out():
                raise self._timeout_error(namespace, name)
            await asyncio.sleep(EVICTION_RETRY_SECONDS)
        await self.wait_for_delete(namespace, name, meta.get("uid"))
        print(f"pod/{name} evicted", file=self.ctx.out, flush=True)

    async def wait_for_delete(self, namespace: str, name: str, uid: str | None) -> None:
        while True:
            try:
                current = await self.client.get(PODS, name, namespace)
            except APIStatusError as err:
                if err.code == 404:
                    return
                raise
            if current["metadata"].get("uid") != uid:
                return  # a new pod of the same name (a StatefulSet's)
            if self._timed_out():
                raise self._timeout_error(namespace, name)
            await asyncio.sleep(DELETION_POLL_SECONDS)


async def run_drain(ctx: CLIContext) -> int:
    node = ctx.args.node
    async with ctx.client() as client:
        changed = await set_unschedulable(client, node, True)
        print(f"node/{node} {'cordoned' if changed else 'already cordoned'}", file=ctx.out)
        pods, _ = await client.list(PODS, None, field_selector=f"spec.nodeName={node}")
        evict, warnings, errors = pods_to_evict(pods, ctx.args)
        if errors:
            raise CLIError(f'unable to drain node "{node}" due to error: '
                           f"{', '.join(errors)}, continuing command...")
        for warning in warnings:
            print(f"Warning: {warning}", file=ctx.err)
        drainer = Drainer(ctx, client)
        try:
            async with asyncio.TaskGroup() as group:
                for pod in evict:
                    group.create_task(drainer.evict_pod(pod))
        except* CLIError as failed:
            raise failed.exceptions[0] from None
    print(f"node/{node} drained", file=ctx.out)
    return 0
