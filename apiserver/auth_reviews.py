"""authentication.k8s.io/v1: who am I (SelfSubjectReview), whose token is this (TokenReview).

- SelfSubjectReview answers the caller's own user, uid and groups (`kubectl auth whoami`);
- TokenReview asks the HTTPS port's authenticator (`server.authenticator`, every
  authenticator in it: static tokens, service-account tokens, ...) about a bearer
  token, as a kubelet or an aggregated server does to authenticate its callers.

Kubernetes counterpart: pkg/registry/authentication/tokenreview/storage.go,
pkg/registry/authentication/selfsubjectreview/rest.go
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apiserver import errors
from apiserver.auth import Credentials, UserInfo
from apiserver.reviews import ReviewGroup, ReviewKind, review_info
from tinykube.api.validation import required

if TYPE_CHECKING:
    from apiserver.server import APIServer

Obj = dict[str, Any]
GROUP = "authentication.k8s.io"
TOKEN_REVIEW = review_info(GROUP, "TokenReview")
SELF_SUBJECT_REVIEW = review_info(GROUP, "SelfSubjectReview")


def user_info(user: UserInfo) -> Obj:
    return {"username": user.name, **({"uid": user.uid} if user.uid else {}),
            "groups": list(user.groups)}


def self_subject_review(server: APIServer, user: UserInfo, namespace: str, body: Obj) -> Obj:
    return {"userInfo": user_info(user)}


def token_review(server: APIServer, user: UserInfo, namespace: str, body: Obj) -> Obj:
    spec = body.get("spec") or {}
    token = str(spec.get("token") or "")
    if not token:
        raise errors.invalid(TOKEN_REVIEW, "", [required("spec.token", "token must be present")])
    reviewed = None
    if server.authenticator is not None:
        reviewed = server.authenticator.authenticate(Credentials(f"Bearer {token}"))
    if reviewed is None:
        return {"authenticated": False, "user": {}, "error": "invalid bearer token"}
    return {"authenticated": True, "user": user_info(reviewed),
            **({"audiences": spec["audiences"]} if spec.get("audiences") else {})}


AUTHENTICATION_REVIEWS = ReviewGroup(GROUP, "v1", [
    ReviewKind(TOKEN_REVIEW, token_review),
    ReviewKind(SELF_SUBJECT_REVIEW, self_subject_review),
])
