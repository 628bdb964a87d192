"""`tinykube edit TYPE NAME | TYPE/NAME`: change a live object in `$EDITOR`.

The object is written as YAML under a comment header to a temporary file and
the editor (`$KUBE_EDITOR`, `$EDITOR`, else `vi`) is run on it. On save, the
difference from the original is sent as a JSON merge patch. If the server
rejects it, the file is reopened with the error in the header, as kubectl does;
saving it unchanged then gives up. An unchanged file cancels the edit; an empty
one aborts it.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/edit/edit.go,
staging/src/k8s.io/kubectl/pkg/cmd/util/editor/editoptions.go
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import tempfile
from pathlib import Path
from typing import Any

import yaml

from tinykube.cli.context import CLIContext, CLIError, object_ref, select_objects
from tinykube.client import APIStatusError, PatchType

Obj = dict[str, Any]
HEADER = """\
# Please edit the object below. Lines beginning with a '#' will be ignored,
# and an empty file will abort the edit. If an error occurs while saving this file will be
# reopened with the relevant failures.
#
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("edit", help="edit a resource in your editor")
    parser.add_argument("targets", nargs="+", metavar="TYPE NAME | TYPE/NAME")
    parser.set_defaults(func=run)


def merge_patch(original: Any, edited: Any) -> Any:
    """The RFC 7386 merge patch that turns `original` into `edited` (lists replace)."""
    if not isinstance(original, dict) or not isinstance(edited, dict):
        return edited
    patch: Obj = {}
    for key in original.keys() - edited.keys():
        patch[key] = None
    for key, value in edited.items():
        if key not in original:
            patch[key] = value
        elif original[key] != value:
            patch[key] = merge_patch(original[key], value) if isinstance(value, dict) and \
                isinstance(original[key], dict) else value
    return patch


def to_yaml(obj: Obj) -> str:
    return yaml.safe_dump(obj, default_flow_style=False, sort_keys=True, allow_unicode=True)


def strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def editor_command() -> list[str]:
    editor = os.environ.get("KUBE_EDITOR") or os.environ.get("EDITOR") or "vi"
    return shlex.split(editor)


async def run_editor(path: Path) -> None:
    process = await asyncio.create_subprocess_exec(*editor_command(), str(path))
    if await process.wait() != 0:
        raise CLIError(f"there was a problem with the editor {' '.join(editor_command())!r}")


async def run(ctx: CLIContext) -> int:
    async with ctx.client() as client:
        objects = await select_objects(ctx, client, ctx.args.targets)
        for info, obj in objects:
            obj.get("metadata", {}).pop("managedFields", None)
            ref = object_ref(info, obj["metadata"]["name"])
            body = to_yaml(obj)
            header_error = ""
            last_text: str | None = None
            with tempfile.TemporaryDirectory(prefix="tinykube-edit-") as tmp:
                path = Path(tmp) / f"{info.plural}-{obj['metadata']['name']}.yaml"
                while True:
                    path.write_text(HEADER + header_error + body)
                    await run_editor(path)
                    text = strip_comments(path.read_text())
                    if not text.strip():
                        print("Edit cancelled, saved file was empty.", file=ctx.out)
                        break
                    if text == last_text:
                        saved = Path(tempfile.mkstemp(prefix="tinykube-edit-", suffix=".yaml")[1])
                        saved.write_text(path.read_text())
                        raise CLIError(f"Edit cancelled, no valid changes were saved.\n"
                                       f"A copy of your changes has been stored to \"{saved}\"")
                    last_text = text
                    try:
                        edited = yaml.safe_load(text)
                    except yaml.YAMLError as err:
                        header_error, body = _error_header(f"The edited file had a syntax error: {err}"), text
                        continue
                    if edited == obj:
                        print("Edit cancelled, no changes made.", file=ctx.out)
                        break
                    for key in ("apiVersion", "kind"):
                        if edited.get(key) != obj.get(key):
                            raise CLIError("At least one of apiVersion, kind and name was changed")
                    if (edited.get("metadata") or {}).get("name") != obj["metadata"]["name"]:
                        raise CLIError("At least one of apiVersion, kind and name was changed")
                    try:
                        await client.patch(info, obj["metadata"]["name"], merge_patch(obj, edited),
                                           patch_type=PatchType.MERGE,
                                           namespace=obj["metadata"].get("namespace"))
                    except APIStatusError as err:
                        header_error = _error_header(f'{info.group_resource} "{obj["metadata"]["name"]}" '
                                                     f"was not valid:\n* {err.message}")
                        body = text + "\n"
                        continue
                    print(f"{ref} edited", file=ctx.out)
                    break
    return 0


def _error_header(message: str) -> str:
    return "".join(f"# {line}\n" for line in message.splitlines()) + "#\n"
