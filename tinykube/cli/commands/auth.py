"""`tinykube auth can-i VERB RESOURCE [NAME]`, `auth can-i --list`, `auth whoami`.

`can-i` asks the server a SelfSubjectAccessReview and prints `yes` (exit 0) or
`no` (exit 1), as kubectl does; a RESOURCE starting with `/` is a non-resource
URL (`tinykube auth can-i get /healthz`), `*` means every resource. `--list`
asks a SelfSubjectRulesReview for the namespace and prints its rules as kubectl's
table (Resources, Non-Resource URLs, Resource Names, Verbs). `whoami` asks a
SelfSubjectReview and prints the user the server sees.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/auth/cani.go, whoami.go
"""

from __future__ import annotations

from typing import Any

from tinykube.cli.context import CLIContext, CLIError

SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
SSRR = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
SELF_SUBJECT_REVIEW = "/apis/authentication.k8s.io/v1/selfsubjectreviews"


def resource_attributes(ctx: CLIContext) -> dict[str, Any]:
    """The review's spec for the command's VERB RESOURCE [NAME]."""
    args = ctx.args
    if args.resource.startswith("/"):
        return {"nonResourceAttributes": {"verb": args.verb, "path": args.resource}}
    resource, _, name = args.resource.partition("/")
    group = ""
    if resource != "*":
        info = ctx.resource(resource)
        resource, group = info.plural, info.group
    attributes = {"verb": args.verb, "resource": resource, "group": group,
                  "subresource": args.subresource or "", "name": name or args.name or "",
                  "namespace": "" if args.all_namespaces else ctx.namespace}
    return {"resourceAttributes": {k: v for k, v in attributes.items() if v}}


def rules_table(status: dict[str, Any]) -> list[list[str]]:
    rows = []
    for rule in status.get("resourceRules") or []:
        groups = rule.get("apiGroups") or [""]
        resources = [r if g in ("", None) else f"{r}.{g}"
                     for r in rule.get("resources") or [] for g in groups]
        for resource in resources:
            rows.append([resource, "[]", _brackets(rule.get("resourceNames")),
                         _brackets(rule.get("verbs"))])
    for rule in status.get("nonResourceRules") or []:
        rows.append(["", _brackets(rule.get("nonResourceURLs")), "[]",
                     _brackets(rule.get("verbs"))])
    return [["Resources", "Non-Resource URLs", "Resource Names", "Verbs"], *sorted(rows)]


def _brackets(values: list[str] | None) -> str:
    return "[" + " ".join(values or []) + "]"


def aligned(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "".join("   ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() + "\n"
                   for row in rows)


async def can_i(ctx: CLIContext) -> int:
    async with ctx.client() as client:
        if ctx.args.list:
            review = await client.request("POST", SSRR, body={
                "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
                "spec": {"namespace": ctx.namespace}})
            ctx.out.write(aligned(rules_table(review.get("status") or {})))
            return 0
        if not ctx.args.verb or not ctx.args.resource:
            raise CLIError("you must specify two arguments: verb resource or verb "
                           "resource/resourceName")
        review = await client.request("POST", SSAR, body={
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": resource_attributes(ctx)})
    allowed = bool((review.get("status") or {}).get("allowed"))
    print("yes" if allowed else "no", file=ctx.out)
    return 0 if allowed else 1


async def whoami(ctx: CLIContext) -> int:
    async with ctx.client() as client:
        review = await client.request("POST", SELF_SUBJECT_REVIEW, body={
            "apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    user = (review.get("status") or {}).get("userInfo") or {}
    rows = [["ATTRIBUTE", "VALUE"], ["Username", user.get("username", "")]]
    if user.get("uid"):
        rows.append(["UID", user["uid"]])
    if user.get("groups"):
        rows.append(["Groups", _brackets(user["groups"])])
    ctx.out.write(aligned(rows))
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("auth", help="inspect authorization")
    commands = parser.add_subparsers(dest="auth_command", metavar="SUBCOMMAND", required=True)
    can = commands.add_parser("can-i", help="check whether an action is allowed")
    can.add_argument("verb", nargs="?", default="")
    can.add_argument("resource", nargs="?", default="", help="TYPE, TYPE/NAME or /URL")
    can.add_argument("name", nargs="?", default="")
    can.add_argument("-A", "--all-namespaces", action="store_true",
                     help="ask about all namespaces")
    can.add_argument("--subresource", default="")
    can.add_argument("--list", action="store_true", help="list what you may do in the namespace")
    can.set_defaults(func=can_i)
    who = commands.add_parser("whoami", help="print the user the server sees")
    who.set_defaults(func=whoami)
