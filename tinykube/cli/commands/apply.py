"""`tinykube apply -f`: create or update objects from manifests, kubectl-compatibly.

For each document: GET the live object; create it (with the last-applied
annotation) when missing, otherwise send the three-way strategic merge patch from
`tinykube.cli.apply` and print `created`, `configured` or `unchanged` exactly as
kubectl does, so either tool can take over from the other. Failures of one
document are reported and the others still applied; the exit code is 1 if any
failed. `--server-side` sends the file as a server-side apply patch instead.
`--wait` then follows every applied Deployment until its rollout is complete.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/apply/apply.go
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import Any, TextIO

from tinykube.api.resources import INDEX, ResourceInfo
from tinykube.cli.apply import (
    LAST_APPLIED_ANNOTATION, PatchSchema, create_three_way_json_merge_patch,
    create_three_way_merge_patch, modified_configuration, original_configuration,
)
from tinykube.cli.context import CLIContext, CLIError
from tinykube.cli.manifests import Manifest, ManifestError, read_manifests
from tinykube.cli.printers import kind_prefix
from tinykube.client import APIStatusError, Conflict, NotFound, PatchType, RESTClient
from tinykube.component import duration

FIELD_MANAGER = "kubectl-client-side-apply"
MAX_PATCH_RETRIES = 5


class SchemaCache:
    """OpenAPI v3 documents per group-version, fetched once per command."""

    def __init__(self, client: RESTClient) -> None:
        self.client = client
        self.root: dict[str, Any] | None = None
        self.documents: dict[str, dict[str, Any] | None] = {}

    async def patch_schema(self, info: ResourceInfo) -> PatchSchema | None:
        document = await self.document(info)
        return PatchSchema.for_kind(document, info.group, info.version, info.kind) if document else None

    async def document(self, info: ResourceInfo) -> dict[str, Any] | None:
        """The OpenAPI v3 document of the resource's group-version (None if not served)."""
        key = f"apis/{info.group}/{info.version}" if info.group else f"api/{info.version}"
        if key not in self.documents:
            try:
                if self.root is None:
                    self.root = await self.client.request("GET", "/openapi/v3")
                url = ((self.root or {}).get("paths") or {}).get(key, {}).get("serverRelativeURL")
                self.documents[key] = await self.client.request("GET", url) if url else None
            except NotFound:
                self.documents[key] = None
        return self.documents[key]


def resource_for(manifest: Manifest, ctx: CLIContext) -> ResourceInfo:
    obj = manifest.obj
    info = ctx.resource_for_kind(str(obj.get("apiVersion")), str(obj.get("kind")))
    if info is None:
        metadata = obj.get("metadata") or {}
        raise CLIError(f'resource mapping not found for name: "{metadata.get("name", "")}" '
                       f'namespace: "{metadata.get("namespace", "")}" from "{manifest.source}": '
                       f'no matches for kind "{obj.get("kind")}" in version "{obj.get("apiVersion")}"')
    return info


def set_namespace(ctx: CLIContext, info: ResourceInfo, manifest: Manifest) -> str | None:
    """Fill in the namespace like kubectl; a conflicting explicit -n is an error."""
    metadata = manifest.obj.setdefault("metadata", {})
    if not info.namespaced:
        metadata.pop("namespace", None)
        return None
    explicit = ctx.args.namespace
    declared = metadata.get("namespace")
    if declared and explicit and declared != explicit:
        raise CLIError(f'the namespace from the provided object "{declared}" does not match the '
                       f'namespace "{explicit}". You must pass \'--namespace={declared}\' to '
                       "perform this operation.")
    metadata["namespace"] = declared or ctx.namespace
    return str(metadata["namespace"])


def dry_run_suffix(args: argparse.Namespace) -> str:
    return {"client": " (dry run)", "server": " (server dry run)"}.get(args.dry_run or "", "")


async def apply_one(ctx: CLIContext, client: RESTClient, schemas: SchemaCache,
                    manifest: Manifest, info: ResourceInfo) -> str:
    """Apply one object; the word to print (created / configured / unchanged)."""
    args = ctx.args
    namespace = set_namespace(ctx, info, manifest)
    obj = manifest.obj
    name = str((obj.get("metadata") or {}).get("name") or "")
    if not name:
        raise CLIError(f'error when retrieving current configuration of "{manifest.source}": '
                       "resource name may not be empty")
    dry_run = "All" if args.dry_run == "server" else None
    if args.server_side:
        await client.request("PATCH", client.path(info, namespace, name), body=obj,
                             content_type=PatchType.APPLY.content_type,
                             params={"fieldManager": args.field_manager or "kubectl",
                                     "fieldValidation": "Strict", "dryRun": dry_run,
                                     "force": "true" if args.force_conflicts else "false"})
        return "serverside-applied"
    modified = modified_configuration(obj)
    for attempt in range(MAX_PATCH_RETRIES):
        try:
            current = await client.get(info, name, namespace)
        except NotFound:
            if args.dry_run != "client":
                await client.request("POST", client.path(info, namespace), body=modified, params={
                    "fieldManager": FIELD_MANAGER, "fieldValidation": "Strict", "dryRun": dry_run})
            return "created"
        if args.dry_run == "client":
            return "configured"
        original = original_configuration(current)
        if original is None and LAST_APPLIED_ANNOTATION not in (
                (current.get("metadata") or {}).get("annotations") or {}):
            print(f"Warning: resource {info.plural}/{name} is missing the {LAST_APPLIED_ANNOTATION} "
                  "annotation which is required by tinykube apply. The missing annotation will be "
                  "patched automatically.", file=ctx.err)
        # Custom resources take no strategic merge patch (kubectl sends them a JSON
        # merge patch): only built-in kinds have patch strategies.
        schema = await schemas.patch_schema(info) if INDEX.is_builtin(info) else None
        if schema is not None:
            patch = create_three_way_merge_patch(original, modified, current, schema)
            patch_type = PatchType.STRATEGIC
        else:
            patch = create_three_way_json_merge_patch(original, modified, current)
            patch_type = PatchType.MERGE
        if not patch:
            return "unchanged"
        try:
            await client.request("PATCH", client.path(info, namespace, name), body=patch,
                                 content_type=patch_type.content_type,
                                 params={"fieldManager": FIELD_MANAGER, "fieldValidation": "Strict",
                                         "dryRun": dry_run})
        except Conflict:
            if attempt + 1 == MAX_PATCH_RETRIES:
                raise
            continue
        return "configured"
    return "configured"


def rollout_progress(deployment: dict[str, Any]) -> tuple[bool, str]:
    """(done?, message) from status fields, as `kubectl rollout status` judges them."""
    name = (deployment.get("metadata") or {}).get("name")
    generation = int((deployment.get("metadata") or {}).get("generation") or 0)
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    wanted = int(spec.get("replicas", 1))
    observed = int(status.get("observedGeneration") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    replicas = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
            raise CLIError(f'deployment "{name}" exceeded its progress deadline')
    if observed < generation:
        return False, f"Waiting for deployment spec update to be observed for {name}..."
    if updated < wanted:
        return False, (f'Waiting for deployment "{name}" rollout to finish: {updated} out of '
                       f"{wanted} new replicas have been updated...")
    if replicas > updated:
        return False, (f'Waiting for deployment "{name}" rollout to finish: {replicas - updated} '
                       "old replicas are pending termination...")
    if available < updated:
        return False, (f'Waiting for deployment "{name}" rollout to finish: {available} of '
                       f"{updated} updated replicas are available...")
    return True, f'deployment "{name}" successfully rolled out'


async def wait_for_rollout(client: RESTClient, namespace: str, name: str, out: TextIO) -> None:
    """Follow one Deployment (list + watch by name) until its rollout is complete;
    the progress is one line rewritten in place on a terminal."""
    info = INDEX.by_name("deployments.apps")
    assert info is not None
    selector = f"metadata.name={name}"
    live = out.isatty()
    last = ""
    while True:
        items, resource_version = await client.list(info, namespace, field_selector=selector)
        if not items:
            raise CLIError(f'deployment "{name}" not found')
        pending = [items[0]]
        events = client.watch(info, namespace, resource_version=resource_version,
                              field_selector=selector)
        async with contextlib.aclosing(events):
            while True:
                for deployment in pending:
                    done, message = rollout_progress(deployment)
                    if message != last:
                        out.write(("\r\033[K" if live else "") + message + ("" if live and not done else "\n"))
                        out.flush()
                        last = message
                    if done:
                        if live:
                            out.write("\n")
                        return
                event = await anext(events, None)
                if event is None:
                    break  # the server ended the watch: list again
                if event.type == "DELETED":
                    raise CLIError(f'deployment "{name}" was deleted')
                pending = [event.object] if event.type in ("ADDED", "MODIFIED") else []


async def wait_for_rollouts(client: RESTClient, deployments: list[tuple[str, str]], out: TextIO) -> bool:
    for namespace, name in deployments:
        await wait_for_rollout(client, namespace, name, out)
    return True


def selected(manifests: list[Manifest], selector: str | None) -> list[Manifest]:
    if not selector:
        return manifests
    from tinykube.api.selectors import parse_label_selector  # only -l needs it (slow import)

    try:
        parsed = parse_label_selector(selector)
    except ValueError as err:
        raise CLIError(f"unable to parse selector {selector!r}: {err}") from None
    return [m for m in manifests if parsed.matches(((m.obj.get("metadata") or {}).get("labels")) or {})]


def load(ctx: CLIContext) -> list[Manifest]:
    if not ctx.args.filename:
        raise CLIError("must specify one of -f and -k")
    try:
        return list(read_manifests(ctx.args.filename, ctx.args.recursive))
    except ManifestError as err:
        raise CLIError(str(err)) from None


def verb_for(word: str) -> str:
    return {"created": "creating", "unchanged": "applying", "configured": "applying"}.get(word, "applying")


async def run(ctx: CLIContext) -> int:
    if ctx.args.dry_run == "none":
        ctx.args.dry_run = None
    manifests = selected(load(ctx), ctx.args.selector)
    failures = 0
    applied: list[tuple[ResourceInfo, str | None, str]] = []
    async with ctx.client() as client:
        schemas = SchemaCache(client)
        for manifest in manifests:
            try:
                info = resource_for(manifest, ctx)
                word = await apply_one(ctx, client, schemas, manifest, info)
            except CLIError as err:
                print(f"error: {err}", file=ctx.err)
                failures += 1
                continue
            except APIStatusError as err:
                if err.code == 401:
                    raise
                action = "creating" if isinstance(err, NotFound) or err.reason == "Invalid" and \
                    "metadata.resourceVersion" not in err.message else "applying"
                print(f'Error from server ({err.reason}): error when {action} "{manifest.source}": '
                      f"{err.message}", file=ctx.err)
                failures += 1
                continue
            metadata = manifest.obj.get("metadata") or {}
            print(f"{kind_prefix(info)}/{metadata.get('name')} {word}{dry_run_suffix(ctx.args)}",
                  file=ctx.out)
            ctx.out.flush()
            applied.append((info, metadata.get("namespace"), str(metadata.get("name"))))
        if ctx.args.wait and not ctx.args.dry_run:
            deployments = [(ns or ctx.namespace, name) for info, ns, name in applied
                           if info.kind == "Deployment"]
            try:
                await asyncio.wait_for(wait_for_rollouts(client, deployments, ctx.out),
                                       timeout=ctx.args.timeout or None)
            except TimeoutError:
                raise CLIError(f"timed out waiting for the rollout after {ctx.args.timeout:g}s") from None
    return 1 if failures else 0


def add_file_flags(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("-f", "--filename", action="append", default=[],
                        help=f"file, directory or - (stdin) with the objects to {what}")
    parser.add_argument("-R", "--recursive", action="store_true",
                        help="process directories given with -f recursively")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("apply", help="apply a configuration to resources from files",
                                   description="Create or update objects from manifests "
                                   "(kubectl's client-side three-way merge).")
    add_file_flags(parser, "apply")
    parser.add_argument("-l", "--selector", help="only apply objects with matching labels")
    parser.add_argument("--dry-run", choices=("none", "client", "server"), nargs="?",
                        const="client", help="only print what would be sent (client) or let the "
                        "server check it without saving (server)")
    parser.add_argument("--server-side", action="store_true", help="use server-side apply")
    parser.add_argument("--force-conflicts", action="store_true",
                        help="with --server-side, take over fields owned by other managers")
    parser.add_argument("--field-manager", help="manager name for --server-side (default kubectl)")
    parser.add_argument("--wait", action="store_true",
                        help="wait until applied Deployments have finished rolling out")
    parser.add_argument("--timeout", type=duration, default=0.0,
                        help="how long to wait with --wait, e.g. 30s, 2m (0: forever)")
    parser.set_defaults(func=run)


__all__ = ["add_file_flags", "register", "run"]
