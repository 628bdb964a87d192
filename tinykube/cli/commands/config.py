"""`tinykube config`: read and edit kubeconfig files the way `kubectl config` does.

`view` prints the merged configuration (secrets shown as REDACTED / DATA+OMITTED
unless `--raw`; `--minify` keeps only the current context). `use-context`,
`set-context [NAME] [--current] [--namespace] [--cluster] [--user]`,
`get-contexts` and `current-context` work on the same files kubectl reads
(`--kubeconfig`, else every file of `$KUBECONFIG`, else ~/.kube/config); an edit
goes to the file that defines the entry (the first file for a new one), and the
result stays a valid kubeconfig for kubectl.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/config/
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from tinykube.cli.context import CLIContext, CLIError
from tinykube.cli.printers import dump_json, render_rows
from tinykube.client.config import kubeconfig_paths

Obj = dict[str, Any]
SECRET_FIELDS = {"token": "REDACTED", "client-key-data": "DATA+OMITTED",
                 "client-certificate-data": "DATA+OMITTED",
                 "certificate-authority-data": "DATA+OMITTED", "password": "REDACTED"}


class KubeconfigFiles:
    """The kubeconfig files in precedence order, loaded as plain documents."""

    def __init__(self, explicit: str | None) -> None:
        self.paths = kubeconfig_paths(explicit)
        self.documents: list[Obj] = []
        for path in self.paths:
            document: Obj = {}
            if path.exists():
                try:
                    document = yaml.safe_load(path.read_text()) or {}
                except yaml.YAMLError as err:
                    raise CLIError(f"cannot read kubeconfig {path}: {err}") from None
            self.documents.append(document)

    def current_context(self) -> str:
        return next((str(d["current-context"]) for d in self.documents if d.get("current-context")), "")

    def entries(self, section: str) -> list[Obj]:
        """Merged entries: the first definition of a name wins."""
        seen: dict[str, Obj] = {}
        for document in self.documents:
            for entry in document.get(section) or []:
                seen.setdefault(str(entry.get("name")), entry)
        return list(seen.values())

    def owner(self, section: str, name: str) -> int | None:
        for index, document in enumerate(self.documents):
            if any(e.get("name") == name for e in document.get(section) or []):
                return index
        return None

    def save(self, index: int) -> None:
        document = self.documents[index]
        document.setdefault("apiVersion", "v1")
        document.setdefault("kind", "Config")
        for section in ("clusters", "contexts", "users"):
            document.setdefault(section, [])
        document.setdefault("preferences", {})
        path: Path = self.paths[index]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(document, default_flow_style=False, sort_keys=False))


def redact(document: Obj) -> Obj:
    result = copy.deepcopy(document)
    for section, field in (("clusters", "cluster"), ("users", "user")):
        for entry in result.get(section) or []:
            body = entry.get(field) or {}
            for key, replacement in SECRET_FIELDS.items():
                if key in body:
                    body[key] = replacement
    return result


def view(ctx: CLIContext, files: KubeconfigFiles) -> int:
    current = ctx.args.context or files.current_context()
    merged: Obj = {"apiVersion": "v1", "kind": "Config", "clusters": files.entries("clusters"),
                   "contexts": files.entries("contexts"), "current-context": current,
                   "preferences": {}, "users": files.entries("users")}
    if ctx.args.minify:
        context = next((c for c in merged["contexts"] if c.get("name") == current), None)
        if context is None:
            raise CLIError(f'current-context must exist in order to minify')
        body = context.get("context") or {}
        merged["contexts"] = [context]
        merged["clusters"] = [c for c in merged["clusters"] if c.get("name") == body.get("cluster")]
        merged["users"] = [u for u in merged["users"] if u.get("name") == body.get("user")]
    if not ctx.args.raw:
        merged = redact(merged)
    if ctx.args.output == "json":
        ctx.out.write(dump_json(merged))
    else:
        ctx.out.write(yaml.safe_dump(merged, default_flow_style=False, sort_keys=True))
    return 0


def use_context(ctx: CLIContext, files: KubeconfigFiles) -> int:
    name = ctx.args.name
    if files.owner("contexts", name) is None:
        raise CLIError(f'no context exists with the name: "{name}"')
    index = next((i for i, d in enumerate(files.documents) if d.get("current-context")), 0)
    files.documents[index]["current-context"] = name
    files.save(index)
    print(f'Switched to context "{name}".', file=ctx.out)
    return 0


def set_context(ctx: CLIContext, files: KubeconfigFiles) -> int:
    args = ctx.args
    name = files.current_context() if args.current else args.name
    if not name:
        raise CLIError("you must specify a context name or --current")
    if args.current and args.name:
        raise CLIError("you cannot specify a context name and --current")
    index = files.owner("contexts", name)
    created = index is None
    index = 0 if index is None else index
    contexts = files.documents[index].setdefault("contexts", [])
    entry = next((c for c in contexts if c.get("name") == name), None)
    if entry is None:
        entry = {"name": name, "context": {}}
        contexts.append(entry)
    body = entry.setdefault("context", {}) or {}
    entry["context"] = body
    for key, value in (("namespace", args.context_namespace), ("cluster", args.cluster),
                       ("user", args.user)):
        if value is not None:
            body[key] = value
    files.save(index)
    print(f'Context "{name}" {"created" if created else "modified"}.', file=ctx.out)
    return 0


def get_contexts(ctx: CLIContext, files: KubeconfigFiles) -> int:
    current = files.current_context()
    contexts = files.entries("contexts")
    if ctx.args.names:
        contexts = [c for c in contexts if c.get("name") in ctx.args.names]
        missing = set(ctx.args.names) - {c.get("name") for c in contexts}
        if missing:
            raise CLIError(f"context {sorted(missing)[0]} not found")
    if ctx.args.output == "name":
        for context in contexts:
            print(context.get("name"), file=ctx.out)
        return 0
    rows = [["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"]]
    for context in sorted(contexts, key=lambda c: str(c.get("name"))):
        body = context.get("context") or {}
        rows.append(["*" if context.get("name") == current else "", str(context.get("name")),
                     str(body.get("cluster", "")), str(body.get("user", "")),
                     str(body.get("namespace", ""))])
    ctx.out.write(render_rows(rows))
    return 0


def current_context(ctx: CLIContext, files: KubeconfigFiles) -> int:
    name = files.current_context()
    if not name:
        raise CLIError("current-context is not set")
    print(name, file=ctx.out)
    return 0


ACTIONS = {"view": view, "use-context": use_context, "set-context": set_context,
           "get-contexts": get_contexts, "current-context": current_context}


async def run(ctx: CLIContext) -> int:
    files = KubeconfigFiles(ctx.args.kubeconfig)
    return ACTIONS[ctx.args.config_action](ctx, files)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("config", help="read or edit kubeconfig files",
                                   description="View and edit kubeconfig files (kubectl's format).")
    actions = parser.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    p = actions.add_parser("view", help="print the merged kubeconfig")
    p.add_argument("--minify", action="store_true", help="only the current context's entries")
    p.add_argument("--raw", action="store_true", help="show tokens and certificate data")
    p.add_argument("-o", "--output", choices=("yaml", "json"), default="yaml")
    p = actions.add_parser("use-context", help="set the current-context")
    p.add_argument("name")
    p = actions.add_parser("set-context", help="create or modify a context")
    p.add_argument("name", nargs="?")
    p.add_argument("--current", action="store_true", help="modify the current context")
    p.add_argument("--namespace", dest="context_namespace", help="the context's namespace")
    p.add_argument("--cluster", help="the context's cluster")
    p.add_argument("--user", help="the context's user")
    p = actions.add_parser("get-contexts", help="list contexts")
    p.add_argument("names", nargs="*")
    p.add_argument("-o", "--output", choices=("name",))
    actions.add_parser("current-context", help="print the current-context")
    parser.set_defaults(func=run)


__all__ = ["KubeconfigFiles", "register", "run"]
