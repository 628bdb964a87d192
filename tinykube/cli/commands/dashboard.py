"""`tinykube dashboard [--open]`: where the web dashboard add-on answers.

`tinykube up` installs the dashboard behind the LoadBalancer Service
kube-system/dashboard; its external address, given by the cloud controller,
is reachable from the host and stays the same across `down`/`up`. This prints
`http://ADDRESS/` and, with `--open`, opens it in the host's browser when
Python's webbrowser module finds one.

Kubernetes counterpart: none in kubectl (`minikube dashboard --url` plays this
part for minikube)
"""

from __future__ import annotations

import argparse
import webbrowser
from typing import Any

from tinykube.api.resources import SERVICES
from tinykube.cli.context import CLIContext, CLIError
from tinykube.client import NotFound

NAMESPACE, NAME = "kube-system", "dashboard"


def url_of(service: dict[str, Any]) -> str | None:
    """http://ADDRESS[:PORT]/ of a LoadBalancer Service's first ingress, or None."""
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    address = next((i.get("ip") or i.get("hostname") for i in ingress if i.get("ip") or i.get("hostname")),
                   None)
    if address is None:
        return None
    ports = (service.get("spec") or {}).get("ports") or []
    port = int(ports[0].get("port", 80)) if ports else 80
    return f"http://{address}/" if port == 80 else f"http://{address}:{port}/"


async def run(ctx: CLIContext) -> int:
    async with ctx.client() as client:
        try:
            service = await client.get(SERVICES, NAME, NAMESPACE)
        except NotFound:
            raise CLIError(f"the dashboard add-on is not installed (no Service {NAMESPACE}/{NAME}); "
                           "`tinykube up` installs it") from None
    url = url_of(service)
    if url is None:
        raise CLIError(f"the Service {NAMESPACE}/{NAME} has no load balancer address yet; "
                       "is the cloud controller running? (tinykube status)")
    print(url, file=ctx.out)
    if ctx.args.open:
        try:
            webbrowser.get()
        except webbrowser.Error:
            print("no browser found here: open the address above yourself", file=ctx.err)
        else:
            webbrowser.open(url)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("dashboard", help="print (or open) the web dashboard's address")
    parser.add_argument("--open", action="store_true", help="open it in a browser, if there is one")
    parser.set_defaults(func=run)
