"""`tinykube api-resources`: the kinds the server serves, from its discovery documents.

Reads `/api/v1` and every group-version listed by `/apis` (legacy discovery) and
prints kubectl's columns: NAME SHORTNAMES APIVERSION NAMESPACED KIND (`-o wide`
adds VERBS and CATEGORIES; `-o name` prints `plural.group`).

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/apiresources/apiresources.go
"""

from __future__ import annotations

from typing import Any

from tinykube.cli.context import CLIContext
from tinykube.cli.printers import render_rows

Obj = dict[str, Any]


async def discover(ctx: CLIContext) -> list[tuple[str, Obj]]:
    """(groupVersion, APIResource) for every top-level resource the server lists."""
    found: list[tuple[str, Obj]] = []
    async with ctx.client() as client:
        core = await client.request("GET", "/api/v1")
        found.extend(("v1", r) for r in core.get("resources") or [])
        groups = await client.request("GET", "/apis")
        for group in sorted(groups.get("groups") or [], key=lambda g: str(g.get("name"))):
            version = (group.get("preferredVersion") or {}).get("groupVersion")
            if not version:
                continue
            document = await client.request("GET", f"/apis/{version}")
            found.extend((version, r) for r in document.get("resources") or [])
    return [(gv, r) for gv, r in found if "/" not in str(r.get("name"))]


async def run(ctx: CLIContext) -> int:
    args = ctx.args
    resources = await discover(ctx)
    if args.namespaced is not None:
        wanted = args.namespaced == "true"
        resources = [(gv, r) for gv, r in resources if bool(r.get("namespaced")) == wanted]
    if args.api_group is not None:
        resources = [(gv, r) for gv, r in resources
                     if (gv.split("/")[0] if "/" in gv else "") == args.api_group]
    resources.sort(key=lambda item: (item[0].split("/")[0] if "/" in item[0] else "", item[1]["name"]))
    if args.output == "name":
        for gv, resource in resources:
            group = gv.split("/")[0] if "/" in gv else ""
            print(f"{resource['name']}.{group}" if group else resource["name"], file=ctx.out)
        return 0
    header = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    if args.output == "wide":
        header += ["VERBS", "CATEGORIES"]
    rows = [] if args.no_headers else [header]
    for gv, resource in resources:
        row = [str(resource["name"]), ",".join(resource.get("shortNames") or []), gv,
               "true" if resource.get("namespaced") else "false", str(resource.get("kind", ""))]
        if args.output == "wide":
            row += [f"[{' '.join(resource.get('verbs') or [])}]",
                    ",".join(resource.get("categories") or [])]
        rows.append(row)
    ctx.out.write(render_rows(rows))
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("api-resources", help="print the supported API resources")
    parser.add_argument("-o", "--output", choices=("wide", "name"))
    parser.add_argument("--namespaced", choices=("true", "false"), help="only (non-)namespaced kinds")
    parser.add_argument("--api-group", help='only this group ("" for core)')
    parser.add_argument("--no-headers", action="store_true")
    parser.set_defaults(func=run)
