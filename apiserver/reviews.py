"""Create-only "review" resources: a POST asks a question, the answer comes back in
`status`, and nothing is stored (authorization.k8s.io's access reviews,
authentication.k8s.io's TokenReview and SelfSubjectReview).

A `ReviewGroup` serves one group version: its POST routes (namespaced kinds under
`namespaces/{ns}/`), a 405 MethodNotAllowed for every other method, as
kube-apiserver answers for a resource whose only verb is create, and its
discovery entries (verbs ["create"]), through discovery's own-routes hook.
Each kind's `answer(server, user, namespace, body)` returns the status.

Kubernetes counterpart: pkg/registry/authorization/*/rest.go,
pkg/registry/authentication/tokenreview/storage.go (rest.Creater without storage)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from apiserver import errors
from apiserver.auth import ANONYMOUS, UserInfo
from apiserver.handlers import json_response, read_body
from tinykube.api.resources import ResourceInfo

if TYPE_CHECKING:
    from apiserver.server import APIServer

Obj = dict[str, Any]
Answer = Callable[["APIServer", UserInfo, str, Obj], Obj]


@dataclass(frozen=True)
class ReviewKind:
    info: ResourceInfo
    answer: Answer


def review_info(group: str, kind: str, namespaced: bool = False) -> ResourceInfo:
    plural = kind.lower() + "s"
    return ResourceInfo(group, "v1", kind, plural, kind.lower(), namespaced, f"V1{kind}",
                        verbs=("create",))


class ReviewGroup:
    def __init__(self, group: str, version: str, kinds: list[ReviewKind]) -> None:
        self.group, self.version, self.kinds = group, version, kinds

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}"

    # -- discovery (apiserver/discovery.py's own-routes protocol) ----------------------
    def aggregated_group(self) -> Obj:
        resources = [{"resource": k.info.plural, "singularResource": k.info.singular,
                      "responseKind": {"group": self.group, "version": self.version,
                                       "kind": k.info.kind},
                      "scope": "Namespaced" if k.info.namespaced else "Cluster",
                      "verbs": ["create"]} for k in self.kinds]
        return {"metadata": {"name": self.group, "creationTimestamp": None}, "versions": [
            {"version": self.version, "resources": resources, "freshness": "Current"}]}

    def legacy_group(self) -> Obj:
        version = {"groupVersion": self.group_version, "version": self.version}
        return {"name": self.group, "versions": [version], "preferredVersion": version}

    def resource_list(self) -> Obj:
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": self.group_version,
                "resources": [{"name": k.info.plural, "singularName": k.info.singular,
                               "namespaced": k.info.namespaced, "kind": k.info.kind,
                               "verbs": ["create"]} for k in self.kinds]}

    # -- serving ------------------------------------------------------------------------
    def install_routes(self, app: FastAPI, server: APIServer) -> None:
        for kind in self.kinds:
            path = f"/apis/{self.group}/{self.version}/" + (
                f"namespaces/{{namespace}}/{kind.info.plural}" if kind.info.namespaced
                else kind.info.plural)
            app.add_api_route(path, self._create_handler(server, kind), methods=["POST"])
            app.add_api_route(path, _method_not_allowed,
                              methods=["GET", "PUT", "PATCH", "DELETE"])

    def _create_handler(self, server: APIServer, kind: ReviewKind) -> Callable[..., Any]:
        async def create(request: Request) -> Response:
            body = await read_body(request, server.config.max_request_bytes)
            if not isinstance(body, dict):
                raise errors.bad_request("the body of the request could not be decoded: "
                                         f"expected a {kind.info.kind} object")
            if body.get("kind") not in (None, kind.info.kind):
                raise errors.bad_request(f"the body kind {body.get('kind')!r} is not "
                                         f"{kind.info.kind}")
            user = getattr(request.state, "user", None) or ANONYMOUS
            namespace = request.path_params.get("namespace", "")
            status = kind.answer(server, user, namespace, body)
            metadata = {**(body.get("metadata") or {}), "creationTimestamp": None}
            return json_response({"kind": kind.info.kind, "apiVersion": self.group_version,
                                  "metadata": metadata, "spec": body.get("spec") or {},
                                  "status": status}, 201)
        return create


async def _method_not_allowed(request: Request) -> Response:
    raise errors.APIError(405, "MethodNotAllowed",
                          "the server does not allow this method on the requested resource")
