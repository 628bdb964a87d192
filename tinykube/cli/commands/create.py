"""`tinykube create`: create objects from files, or from a generator.

`create -f FILE` POSTs each document (an existing name is an error, unlike
apply). The generators build the object kubectl would build:
`create deployment NAME --image=IMG [--replicas=N] [--port=P]`,
`create configmap NAME --from-literal=k=v --from-file=[key=]path`,
`create secret generic NAME ...` (values base64-encoded), `create namespace NAME`,
`create service clusterip|nodeport NAME --tcp=port[:targetPort]`,
`create job NAME --image=IMG [-- COMMAND ARG...]` (restartPolicy Never)
or `--from=cronjob/X`, and `create cronjob NAME --image=IMG --schedule=SPEC [-- CMD]`
(both in create_cronjob.py).
`--dry-run=client -o yaml` prints the object instead of sending it.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/create/
"""

from __future__ import annotations

import argparse
import base64
import re
from pathlib import Path
from typing import Any

from tinykube.api.resources import ResourceInfo
from tinykube.cli.commands.apply import add_file_flags, load, resource_for, set_namespace
from tinykube.cli.commands.create_cronjob import create_job, cron_job, register_cron_job
from tinykube.cli.commands.create_token import register_token
from tinykube.cli.context import CLIContext, CLIError
from tinykube.cli.printers import ObjectPrinter, PrinterError, kind_prefix
from tinykube.client import APIStatusError

Obj = dict[str, Any]


def container_name(image: str) -> str:
    """`docker.io/library/nginx:1.25` → `nginx`, the way kubectl names the container."""
    base = image.split("@")[0].rsplit("/", 1)[-1].split(":")[0]
    return re.sub(r"[^a-z0-9-]", "-", base.lower()).strip("-") or "container"


def deployment(args: argparse.Namespace) -> Obj:
    if not args.image:
        raise CLIError("required flag(s) \"image\" not set")
    labels = {"app": args.name}
    container: Obj = {"name": container_name(args.image[0]), "image": args.image[0]}
    containers = [container] + [{"name": container_name(i), "image": i} for i in args.image[1:]]
    if args.port is not None:
        container["ports"] = [{"containerPort": args.port}]
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": args.name, "labels": labels},
            "spec": {"replicas": args.replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": containers}}}}


def read_sources(args: argparse.Namespace) -> dict[str, bytes]:
    data: dict[str, bytes] = {}
    for literal in args.from_literal or []:
        key, sep, value = literal.partition("=")
        if not sep or not key:
            raise CLIError(f"invalid literal source {literal}, expected key=value")
        data[key] = value.encode()
    for source in args.from_file or []:
        key, sep, path = source.partition("=")
        if not sep:
            key, path = "", source
        file = Path(path)
        files = sorted(p for p in file.iterdir() if p.is_file()) if file.is_dir() else [file]
        for entry in files:
            try:
                data[key or entry.name] = entry.read_bytes()
            except OSError as err:
                raise CLIError(f"error reading {entry}: {err.strerror}") from None
    return data


def configmap(args: argparse.Namespace) -> Obj:
    data, binary = {}, {}
    for key, value in read_sources(args).items():
        try:
            data[key] = value.decode()
        except UnicodeDecodeError:
            binary[key] = base64.b64encode(value).decode()
    obj: Obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": args.name}, "data": data}
    if binary:
        obj["binaryData"] = binary
    return obj


def secret(args: argparse.Namespace) -> Obj:
    data = {k: base64.b64encode(v).decode() for k, v in read_sources(args).items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": args.name},
            "type": args.type or "Opaque", "data": data}


def namespace(args: argparse.Namespace) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": args.name}}


def service_ports(specs: list[str], node_port: int | None) -> list[Obj]:
    ports = []
    for spec in specs:
        port, _, target = spec.partition(":")
        try:
            entry: Obj = {"name": f"{port}-{target or port}", "protocol": "TCP", "port": int(port),
                          "targetPort": int(target or port)}
        except ValueError:
            raise CLIError(f"invalid --tcp value {spec!r}, expected port[:targetPort]") from None
        if node_port is not None:
            entry["nodePort"] = node_port
        ports.append(entry)
    return ports


def service(args: argparse.Namespace) -> Obj:
    kind = {"clusterip": "ClusterIP", "nodeport": "NodePort"}[args.service_type]
    if not args.tcp and kind != "ClusterIP":
        raise CLIError("at least one tcp port specifier must be provided")
    spec: Obj = {"type": kind, "selector": {"app": args.name},
                 "ports": service_ports(args.tcp or [], getattr(args, "node_port", None))}
    if kind == "ClusterIP" and args.clusterip:
        spec["clusterIP"] = args.clusterip
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": args.name, "labels": {"app": args.name}}, "spec": spec}


def job(args: argparse.Namespace) -> Obj:
    """kubectl create job: one container named after the Job, the words after `--`
    its command."""
    if not args.image:
        raise CLIError("required flag(s) \"image\" not set")
    container: Obj = {"name": args.name, "image": args.image}
    command = list(getattr(args, "extra_args", []) or [])
    if command:
        container["command"] = command
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": args.name},
            "spec": {"template": {"spec": {"containers": [container], "restartPolicy": "Never"}}}}


async def create_objects(ctx: CLIContext, objects: list[tuple[Obj, str | None]]) -> int:
    """POST each object (or print it for --dry-run=client / -o); exit code."""
    args = ctx.args
    printer = None
    if getattr(args, "output", None):
        try:
            printer = ObjectPrinter(args.output)
        except PrinterError as err:
            raise CLIError(str(err)) from None
    dry_run = getattr(args, "dry_run", None)
    failures = 0
    async with ctx.client() as client:
        for obj, source in objects:
            info = ctx.resource_for_kind(str(obj.get("apiVersion")), str(obj.get("kind")))
            assert info is not None
            if info.namespaced:
                obj["metadata"].setdefault("namespace", ctx.namespace)
            result = obj
            if dry_run != "client":
                try:
                    result = await client.request("POST", client.path(info, obj["metadata"].get(
                        "namespace") if info.namespaced else None), body=obj, params={
                        "fieldManager": "kubectl-create", "fieldValidation": "Strict",
                        "dryRun": "All" if dry_run == "server" else None})
                except APIStatusError as err:
                    if err.code == 401:
                        raise
                    where = f'error when creating "{source}": ' if source else ""
                    print(f"Error from server ({err.reason}): {where}{err.message}", file=ctx.err)
                    failures += 1
                    continue
            report(ctx, info, result, printer, dry_run)
    return 1 if failures else 0


def report(ctx: CLIContext, info: ResourceInfo, obj: Obj, printer: ObjectPrinter | None,
           dry_run: str | None) -> None:
    if printer is not None:
        ctx.out.write(printer.render([(info, obj)], True))
        return
    suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(dry_run or "", "")
    print(f"{kind_prefix(info)}/{obj['metadata']['name']} created{suffix}", file=ctx.out)


async def run_from_files(ctx: CLIContext) -> int:
    objects = []
    for manifest in load(ctx):
        info = resource_for(manifest, ctx)
        set_namespace(ctx, info, manifest)
        objects.append((manifest.obj, manifest.source))
    return await create_objects(ctx, objects)


def generator(build: Any) -> Any:
    async def run(ctx: CLIContext) -> int:
        return await create_objects(ctx, [(build(ctx.args), None)])
    return run


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", choices=("none", "client", "server"), nargs="?", const="client",
                        help="client: only print; server: validate without saving")
    parser.add_argument("-o", "--output", help="print the object: yaml|json|name|jsonpath=...")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("create", help="create a resource from a file or a generator",
                                   description="Create objects from files or from generators.")
    add_file_flags(parser, "create")
    add_output_flags(parser)
    parser.set_defaults(func=run_from_files)
    kinds = parser.add_subparsers(dest="generator", metavar="GENERATOR")

    p = kinds.add_parser("deployment", aliases=["deploy"], help="a Deployment running an image")
    p.add_argument("name")
    p.add_argument("--image", action="append", default=[], help="container image (repeatable)")
    p.add_argument("-r", "--replicas", type=int, default=1)
    p.add_argument("--port", type=int, help="the container port to expose")
    add_output_flags(p)
    p.set_defaults(func=generator(deployment))

    for name, aliases, build, what in (("configmap", ["cm"], configmap, "a ConfigMap"),):
        p = kinds.add_parser(name, aliases=aliases, help=f"{what} from literals or files")
        p.add_argument("name")
        p.add_argument("--from-literal", action="append", help="key=value (repeatable)")
        p.add_argument("--from-file", action="append", help="[key=]path, file or directory")
        add_output_flags(p)
        p.set_defaults(func=generator(build))

    register_cron_job(kinds, add_output_flags, generator(cron_job))
    register_token(kinds)

    p = kinds.add_parser("secret", help="a Secret")
    secret_kinds = p.add_subparsers(dest="secret_type", metavar="TYPE")
    g = secret_kinds.add_parser("generic", help="a generic (Opaque) Secret")
    g.add_argument("name")
    g.add_argument("--from-literal", action="append", help="key=value (repeatable)")
    g.add_argument("--from-file", action="append", help="[key=]path, file or directory")
    g.add_argument("--type", help="the Secret's type (default Opaque)")
    add_output_flags(g)
    g.set_defaults(func=generator(secret))

    p = kinds.add_parser("namespace", aliases=["ns"], help="a Namespace")
    p.add_argument("name")
    add_output_flags(p)
    p.set_defaults(func=generator(namespace))

    p = kinds.add_parser("job", help="a Job running an image to completion",
                         usage="tinykube create job NAME (--image=IMAGE [-- COMMAND ARG...] | --from=cronjob/NAME)")
    p.add_argument("name")
    p.add_argument("--image", help="the container image")
    p.add_argument("--from", dest="from_", metavar="cronjob/NAME", help="create the Job from this CronJob's template")
    add_output_flags(p)
    p.set_defaults(func=create_job(create_objects, job), takes_extra_args=True)

    p = kinds.add_parser("service", aliases=["svc"], help="a Service")
    service_kinds = p.add_subparsers(dest="service_type", metavar="TYPE")
    for kind in ("clusterip", "nodeport"):
        s = service_kinds.add_parser(kind, help=f"a {kind} Service selecting app=NAME")
        s.add_argument("name")
        s.add_argument("--tcp", action="append", help="port[:targetPort] (repeatable)")
        if kind == "clusterip":
            s.add_argument("--clusterip", help='the cluster IP ("None" for headless)')
        else:
            s.add_argument("--node-port", type=int, help="the node port")
        add_output_flags(s)
        s.set_defaults(func=generator(service), service_type=kind)
