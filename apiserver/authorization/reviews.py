"""authorization.k8s.io/v1: ask the authorizer a question without making the request.

- SelfSubjectAccessReview: may *I* do this (`kubectl auth can-i`)?
- SubjectAccessReview: may this user with these groups (cluster-wide)?
- LocalSubjectAccessReview: the same, within the namespace of the URL;
- SelfSubjectRulesReview: what may I do in a namespace (`kubectl auth can-i --list`),
  from every authorizer that can list rules (RBAC, system:masters, AlwaysAllow);
  `incomplete` when another one might allow more.

The answer is the chain's verdict (`allowed`, `denied` only for an explicit
deny, `reason`); on a server without authorization everything is allowed.

Kubernetes counterpart: pkg/registry/authorization/{selfsubjectaccessreview,
subjectaccessreview,localsubjectaccessreview,selfsubjectrulesreview}/rest.go,
pkg/registry/authorization/util/helpers.go
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apiserver import errors
from apiserver.auth import UserInfo
from apiserver.authorization.attributes import Attributes
from apiserver.authorization.authorizer import SYSTEM_MASTERS, AlwaysAllow, Chain, Decision
from apiserver.reviews import ReviewGroup, ReviewKind, review_info
from tinykube.api.rbac import PolicyRule
from tinykube.api.validation import FieldError, invalid, required

if TYPE_CHECKING:
    from apiserver.server import APIServer

Obj = dict[str, Any]
GROUP = "authorization.k8s.io"
FULL_RULES = [PolicyRule(verbs=["*"], api_groups=["*"], resources=["*"]),
              PolicyRule(verbs=["*"], non_resource_urls=["*"])]
SELF_SUBJECT_ACCESS_REVIEW = review_info(GROUP, "SelfSubjectAccessReview")
SUBJECT_ACCESS_REVIEW = review_info(GROUP, "SubjectAccessReview")
LOCAL_SUBJECT_ACCESS_REVIEW = review_info(GROUP, "LocalSubjectAccessReview", namespaced=True)
SELF_SUBJECT_RULES_REVIEW = review_info(GROUP, "SelfSubjectRulesReview")


def spec_attributes(user: UserInfo, spec: Obj) -> tuple[Attributes | None, list[FieldError]]:
    """The attributes a review's spec asks about (ResourceAttributesFrom)."""
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if bool(resource) == bool(non_resource):
        return None, [invalid("spec.resourceAttributes", resource or None, "exactly one of "
                              "nonResourceAttributes or resourceAttributes must be specified")]
    if non_resource:
        return Attributes(user, str(non_resource.get("verb") or ""), False,
                          path=str(non_resource.get("path") or "")), []
    return Attributes(user, str(resource.get("verb") or ""), True,
                      str(resource.get("group") or ""), str(resource.get("version") or ""),
                      str(resource.get("resource") or ""), str(resource.get("subresource") or ""),
                      str(resource.get("namespace") or ""), str(resource.get("name") or "")), []


def access_status(server: APIServer, attributes: Attributes) -> Obj:
    if server.authorizer is None:
        return {"allowed": True}
    verdict = server.authorizer.authorize(attributes)
    status: Obj = {"allowed": verdict.allowed}
    if verdict.decision is Decision.DENY:
        status["denied"] = True
    if verdict.reason:
        status["reason"] = verdict.reason
    return status


def _review(server: APIServer, user: UserInfo, info: Any, body: Obj) -> Obj:
    attributes, errs = spec_attributes(user, body.get("spec") or {})
    if attributes is None:
        raise errors.invalid(info, "", errs)
    return access_status(server, attributes)


def self_subject_access_review(server: APIServer, user: UserInfo, namespace: str,
                               body: Obj) -> Obj:
    return _review(server, user, SELF_SUBJECT_ACCESS_REVIEW, body)


def _subject(spec: Obj, info: Any) -> UserInfo:
    if not spec.get("user") and not spec.get("groups"):
        raise errors.invalid(info, "", [required("spec.user", "at least one of user or group "
                                                 "must be specified")])
    return UserInfo(str(spec.get("user") or ""), str(spec.get("uid") or ""),
                    tuple(spec.get("groups") or ()))


def subject_access_review(server: APIServer, user: UserInfo, namespace: str, body: Obj) -> Obj:
    spec = body.get("spec") or {}
    return _review(server, _subject(spec, SUBJECT_ACCESS_REVIEW), SUBJECT_ACCESS_REVIEW, body)


def local_subject_access_review(server: APIServer, user: UserInfo, namespace: str,
                                body: Obj) -> Obj:
    spec = body.get("spec") or {}
    asked = (spec.get("resourceAttributes") or {}).get("namespace", "")
    if asked != namespace:
        raise errors.bad_request(f"spec.resourceAttributes.namespace must match namespace: "
                                 f"{namespace}")
    return _review(server, _subject(spec, LOCAL_SUBJECT_ACCESS_REVIEW),
                   LOCAL_SUBJECT_ACCESS_REVIEW, body)


def rules_for(server: APIServer, user: UserInfo, namespace: str
              ) -> tuple[list[PolicyRule], bool, list[str]]:
    """(rules, incomplete, errors) over the chain, as the union's RulesFor."""
    chain = server.authorizer
    if chain is None or SYSTEM_MASTERS in user.groups:
        return list(FULL_RULES), False, []
    rules: list[PolicyRule] = []
    incomplete, problems = False, []
    for authorizer in chain.authorizers if isinstance(chain, Chain) else [chain]:
        if isinstance(authorizer, AlwaysAllow):
            rules += FULL_RULES
        elif hasattr(authorizer, "rules_for"):
            held, errs = authorizer.rules_for(user, namespace)
            rules += held
            problems += errs
        else:
            incomplete = True
    return rules, incomplete or bool(problems), problems


def self_subject_rules_review(server: APIServer, user: UserInfo, namespace: str,
                              body: Obj) -> Obj:
    asked = str((body.get("spec") or {}).get("namespace") or "")
    rules, incomplete, problems = rules_for(server, user, asked)
    status: Obj = {
        "resourceRules": [{"verbs": r.verbs, "apiGroups": r.api_groups or [],
                           "resources": r.resources or [],
                           **({"resourceNames": r.resource_names} if r.resource_names else {})}
                          for r in rules if not r.non_resource_urls],
        "nonResourceRules": [{"verbs": r.verbs, "nonResourceURLs": r.non_resource_urls}
                             for r in rules if r.non_resource_urls],
        "incomplete": incomplete,
    }
    if problems:
        status["evaluationError"] = ", ".join(problems)
    return status


AUTHORIZATION_REVIEWS = ReviewGroup(GROUP, "v1", [
    ReviewKind(SELF_SUBJECT_ACCESS_REVIEW, self_subject_access_review),
    ReviewKind(SELF_SUBJECT_RULES_REVIEW, self_subject_rules_review),
    ReviewKind(SUBJECT_ACCESS_REVIEW, subject_access_review),
    ReviewKind(LOCAL_SUBJECT_ACCESS_REVIEW, local_subject_access_review),
])
