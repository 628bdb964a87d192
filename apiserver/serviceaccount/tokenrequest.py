"""The serviceaccounts/token subresource: TokenRequest in, a signed token out.

`POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token` with an
authentication.k8s.io/v1 TokenRequest:

1. `spec.expirationSeconds` defaults to 3600 and must be at least 600 (and below
   2^32); `--service-account-max-token-expiration` lowers it;
2. `spec.audiences` default to the API server's audiences;
3. the ServiceAccount must exist (404 otherwise);
4. `spec.boundObjectRef` may name a Pod (running as this account) or a Secret of
   the namespace; it must exist, and its uid match when one is given (409);
5. the answer (201) is the request with `status.token` and
   `status.expirationTimestamp`. Nothing is stored.

The request passes admission as a CREATE of serviceaccounts/token, so a plugin
(NodeRestriction) can limit who mints tokens for which pods.

Kubernetes counterpart: pkg/registry/core/serviceaccount/storage/token.go,
pkg/apis/authentication/validation/validation.go (ValidateTokenRequest)
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from apiserver import errors
from apiserver.admission import CREATE, AdmissionRequest
from apiserver.registry import RequestContext, rfc3339
from apiserver.serviceaccount.claims import ObjectRef, PrivateClaims
from apiserver.serviceaccount.issuer import TokenIssuer
from tinykube.api.resources import PODS, SECRETS, SERVICE_ACCOUNTS, ResourceInfo
from tinykube.api.validation import FieldError, invalid

Obj = dict[str, Any]

API_VERSION = "authentication.k8s.io/v1"
DEFAULT_EXPIRATION_SECONDS = 3600
MIN_EXPIRATION_SECONDS = 600  # 10 minutes
MAX_EXPIRATION_SECONDS = 1 << 32
# For error messages only: TokenRequest is not a stored resource.
TOKEN_REQUESTS = ResourceInfo("authentication.k8s.io", "v1", "TokenRequest", "tokenrequests",
                              "tokenrequest", True, "AuthenticationV1TokenRequest")
_BOUND_KINDS = {"Pod": PODS, "Secret": SECRETS}


def _validate(body: Obj, namespace: str, name: str) -> None:
    meta, spec = body.get("metadata") or {}, body.get("spec") or {}
    problems: list[FieldError] = []
    for key, want in (("name", name), ("namespace", namespace)):
        if meta.get(key) and meta[key] != want:
            problems.append(invalid(f"metadata.{key}", meta[key],
                                    f"must match the service account {key} if specified"))
    seconds = spec["expirationSeconds"]
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        problems.append(invalid("spec.expirationSeconds", seconds, "must be an integer"))
    elif seconds < MIN_EXPIRATION_SECONDS:
        problems.append(invalid("spec.expirationSeconds", seconds,
                                "may not specify a duration less than 10 minutes"))
    elif seconds > MAX_EXPIRATION_SECONDS:
        problems.append(invalid("spec.expirationSeconds", seconds,
                                "may not specify a duration larger than 2^32 seconds"))
    if problems:
        raise errors.invalid(TOKEN_REQUESTS, name, problems)


async def _bound_object(server: Any, namespace: str, account: str, ref: Obj) -> ObjectRef:
    kind, ref_name = ref.get("kind") or "", ref.get("name") or ""
    info = _BOUND_KINDS.get(kind)
    if info is None:
        raise errors.bad_request(f'cannot bind token for serviceaccount "{account}" to object of '
                                 f'kind "{kind}": only Pod and Secret are supported')
    obj = await server.registries[info].get(namespace, ref_name)  # 404 when it is gone
    uid = obj["metadata"].get("uid", "")
    if ref.get("uid") and ref["uid"] != uid:
        raise errors.conflict(info, ref_name, f"the UID in the bound object reference "
                              f"({ref['uid']}) does not match the UID in record. The object "
                              "might have been deleted and then recreated")
    if kind == "Pod" and ((obj.get("spec") or {}).get("serviceAccountName") or "default") != account:
        raise errors.bad_request(f'cannot bind token for serviceaccount "{account}" to pod '
                                 "running with different serviceaccount name.")
    return ObjectRef(ref_name, uid)


async def create_token(server: Any, issuer: TokenIssuer | None, namespace: str, name: str,
                       body: Any, ctx: RequestContext) -> Obj:
    if issuer is None:  # no signing key: kube-apiserver does not install the subresource
        raise errors.route_not_found()
    if not isinstance(body, dict) or body.get("kind", "TokenRequest") != "TokenRequest":
        raise errors.bad_request("the body of the request must be an authentication.k8s.io/v1 "
                                 "TokenRequest")
    spec = dict(body.get("spec") or {})
    spec.setdefault("expirationSeconds", DEFAULT_EXPIRATION_SECONDS)
    body = {**body, "spec": spec}
    _validate(body, namespace, name)
    account = await server.registries[SERVICE_ACCOUNTS].get(namespace, name)
    bound_ref = spec.get("boundObjectRef")
    bound = await _bound_object(server, namespace, name, bound_ref) if bound_ref else None
    await server.admission.validate(AdmissionRequest(
        CREATE, SERVICE_ACCOUNTS, namespace, name, ctx.user, obj=body, subresource="token",
        dry_run=ctx.dry_run, warnings=ctx.warnings))
    private = PrivateClaims(namespace, ObjectRef(name, account["metadata"]["uid"]),
                            pod=bound if bound_ref and bound_ref.get("kind") == "Pod" else None,
                            secret=bound if bound_ref and bound_ref.get("kind") == "Secret" else None)
    spec["expirationSeconds"] = issuer.capped(spec["expirationSeconds"])
    spec["audiences"] = list(spec.get("audiences") or issuer.api_audiences)
    if bound is not None:
        spec["boundObjectRef"] = {**bound_ref, "uid": bound.uid}
    issued = issuer.issue(private, spec["audiences"], spec["expirationSeconds"])
    expires = datetime.fromtimestamp(issued.expiration_timestamp, timezone.utc)
    return {
        "kind": "TokenRequest", "apiVersion": API_VERSION,
        "metadata": {"name": name, "namespace": namespace,
                     "creationTimestamp": (body.get("metadata") or {}).get("creationTimestamp")},
        "spec": spec,
        "status": {"token": "" if ctx.dry_run else issued.token,
                   "expirationTimestamp": rfc3339(expires)},
    }
