"""`tinykube create token SA [--audience A] [--bound-object-kind K --bound-object-name N] [--duration D]`.

As kubectl: POST a TokenRequest to serviceaccounts/SA/token and print the token
(or, with `-o`, the TokenRequest). The bound object's uid is looked up by the API
server unless `--bound-object-uid` gives it; `--duration` (whole seconds, e.g.
`10m`) asks for a lifetime, the API server's default (1h) otherwise.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/create/create_token.go
"""

from __future__ import annotations

import argparse
from typing import Any

from tinykube.api.resources import SERVICE_ACCOUNTS
from tinykube.cli.context import CLIContext, CLIError
from tinykube.cli.printers import ObjectPrinter, PrinterError
from tinykube.component import duration

Obj = dict[str, Any]
BOUND_KINDS = ("Pod", "Secret")


def token_request(args: argparse.Namespace) -> Obj:
    spec: Obj = {}
    if args.audience:
        spec["audiences"] = list(args.audience)
    if args.duration:
        if args.duration < 0:
            raise CLIError("--duration must be greater than or equal to 0")
        if args.duration != int(args.duration):
            raise CLIError("--duration cannot be expressed in units less than seconds")
        spec["expirationSeconds"] = int(args.duration)
    if args.bound_object_kind:
        if args.bound_object_kind not in BOUND_KINDS:
            raise CLIError(f"supported --bound-object-kind values are {', '.join(BOUND_KINDS)}")
        if not args.bound_object_name:
            raise CLIError("--bound-object-name is required if --bound-object-kind is provided")
        spec["boundObjectRef"] = {"kind": args.bound_object_kind, "apiVersion": "v1",
                                  "name": args.bound_object_name,
                                  **({"uid": args.bound_object_uid} if args.bound_object_uid else {})}
    elif args.bound_object_name:
        raise CLIError("--bound-object-name can only be set if --bound-object-kind is provided")
    elif args.bound_object_uid:
        raise CLIError("--bound-object-uid can only be set if --bound-object-kind is provided")
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}


async def create_token(ctx: CLIContext) -> int:
    args = ctx.args
    body = token_request(args)
    async with ctx.client() as client:
        answer = await client.create_subresource(SERVICE_ACCOUNTS, args.name, "token", body,
                                                 ctx.namespace)
    if args.output:
        try:
            printer = ObjectPrinter(args.output)
        except PrinterError as err:
            raise CLIError(str(err)) from None
        ctx.out.write(printer.render([(SERVICE_ACCOUNTS, answer)], True))
    else:
        print(answer["status"]["token"], file=ctx.out)
    return 0


def register_token(kinds: Any) -> None:
    p = kinds.add_parser("token", help="a ServiceAccount token (TokenRequest)")
    p.add_argument("name", help="the ServiceAccount")
    p.add_argument("--audience", action="append", default=[],
                   help="an audience of the token (repeatable; default: the API server's)")
    p.add_argument("--bound-object-kind", default="", help="bind the token to a Pod or Secret")
    p.add_argument("--bound-object-name", default="", help="the name of the bound object")
    p.add_argument("--bound-object-uid", default="", help="the uid of the bound object")
    p.add_argument("--duration", type=duration, default=0.0,
                   help="the requested lifetime (e.g. 10m); 0: the server's default")
    p.add_argument("-o", "--output", help="print the TokenRequest: yaml|json|jsonpath=...")
    p.set_defaults(func=create_token)
