"""The pods/eviction subresource: a delete that respects PodDisruptionBudgets.

`POST /api/v1/namespaces/{ns}/pods/{name}/eviction` with a policy/v1 Eviction
(JSON or protobuf) deletes the pod, unless that would violate its budget:

1. a pod that is Pending, Succeeded, Failed or already terminating causes no new
   disruption: it is deleted at once (`can_ignore_pdb`);
2. otherwise the budgets whose selector matches the pod are found: none → delete;
   more than one → 500 (the subresource does not support it);
3. an unready pod of a budget that has its desired healthy pods is deleted without
   spending the budget, on condition that its resourceVersion has not changed
   (it did not turn ready meanwhile; a conflict is answered 429);
4. otherwise the budget is checked and decremented in one guaranteed update of its
   status (`check_and_decrement`): 429 TooManyRequests when disruptionsAllowed is 0
   or the status is behind the spec; the pod is recorded in disruptedPods so the
   disruption controller does not count it healthy while it goes; then the pod is
   deleted with the Eviction's deleteOptions.

`decide_eviction` and `check_and_decrement` are pure; `evict` does the reads and writes.

Kubernetes counterpart: pkg/registry/core/pod/storage/eviction.go
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum
from typing import Any

from apiserver import deletion, errors, reading
from apiserver.admission import CREATE, AdmissionRequest
from apiserver.registry import Registry, RequestContext
from apiserver.strategy import Obj
from tinykube.api.selectors import SelectorError, label_selector_from_dict

log = logging.getLogger(__name__)

# Upstream's MaxDisruptedPodSize: more unconfirmed evictions than this are refused.
MAX_DISRUPTED_POD_SIZE = 2000
DISRUPTION_BUDGET_CAUSE = "DisruptionBudget"
# policy/v1 wire values (the API server works on dicts, not tinykube.api.policy models).
DISRUPTION_ALLOWED_CONDITION = "DisruptionAllowed"
INSUFFICIENT_PODS_REASON = "InsufficientPods"
VIOLATION_MESSAGE = "Cannot evict pod as it would violate the pod's disruption budget."
TOO_MANY_PDBS_MESSAGE = ("This pod has more than one PodDisruptionBudget, which the eviction "
                         "subresource does not support.")
SUCCESS: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "code": 201}


class Action(Enum):
    DELETE = "delete"                  # no budget applies: delete as asked
    DELETE_IF_UNCHANGED = "unchanged"  # unready pod, budget satisfied: delete at this version
    DECREMENT = "decrement"            # spend one disruption of the budget, then delete
    TOO_MANY_BUDGETS = "too-many"      # 500: more than one budget matches


@dataclass(frozen=True)
class Decision:
    action: Action
    pdb: Obj | None = None


def can_ignore_pdb(pod: Obj) -> bool:
    """A pod that is not running, or already going, costs the budget nothing."""
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Pending", "Succeeded", "Failed") or \
        bool(pod["metadata"].get("deletionTimestamp"))


def is_pod_ready(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def matching_pdbs(pod: Obj, pdbs: list[Obj]) -> list[Obj]:
    """Budgets in the pod's namespace whose selector matches it; a missing or empty
    selector matches nothing here (it must not creep in and match everything)."""
    labels = pod["metadata"].get("labels") or {}
    matched = []
    for pdb in pdbs:
        try:
            selector = label_selector_from_dict((pdb.get("spec") or {}).get("selector"))
        except SelectorError:
            continue
        if not selector.empty() and selector.matches(labels):
            matched.append(pdb)
    return matched


def decide_eviction(pod: Obj, pdbs: list[Obj]) -> Decision:
    """What evicting `pod` takes, given the budgets that match it."""
    if can_ignore_pdb(pod) or not pdbs:
        return Decision(Action.DELETE)
    if len(pdbs) > 1:
        return Decision(Action.TOO_MANY_BUDGETS)
    pdb = pdbs[0]
    spec, status = pdb.get("spec") or {}, pdb.get("status") or {}
    if not is_pod_ready(pod):
        if spec.get("unhealthyPodEvictionPolicy") == "AlwaysAllow":
            return Decision(Action.DELETE_IF_UNCHANGED, pdb)
        desired = status.get("desiredHealthy") or 0
        if (status.get("currentHealthy") or 0) >= desired > 0:
            return Decision(Action.DELETE_IF_UNCHANGED, pdb)
    return Decision(Action.DECREMENT, pdb)


def too_many_requests(pdb_name: str, cause: str) -> errors.APIError:
    return errors.APIError(429, "TooManyRequests", VIOLATION_MESSAGE, {"causes": [
        {"reason": DISRUPTION_BUDGET_CAUSE, "message": cause}]})


def check_and_decrement(pdb: Obj, pod_name: str, now: str, dry_run: bool = False) -> Obj:
    """The budget with one disruption spent on `pod_name`; raises 429/403 if it has none."""
    name, status = pdb["metadata"]["name"], pdb.setdefault("status", {})
    if (status.get("observedGeneration") or 0) < (pdb["metadata"].get("generation") or 0):
        raise too_many_requests(name, f"The disruption budget {name} is still being processed "
                                      "by the server.")
    allowed = status.get("disruptionsAllowed") or 0
    if allowed < 0:
        raise _forbidden(name, "pdb disruptions allowed is negative")
    if len(status.get("disruptedPods") or {}) > MAX_DISRUPTED_POD_SIZE:
        raise _forbidden(name, "DisruptedPods map too big - too many evictions not confirmed by "
                               "PDB controller")
    if allowed == 0:
        raise too_many_requests(name, f"The disruption budget {name} needs "
                                      f"{status.get('desiredHealthy') or 0} healthy pods and has "
                                      f"{status.get('currentHealthy') or 0} currently")
    status["disruptionsAllowed"] = allowed - 1
    if allowed - 1 == 0:
        _set_insufficient_condition(status, now)
    if not dry_run:
        status["disruptedPods"] = {**(status.get("disruptedPods") or {}), pod_name: now}
    return pdb


def _set_insufficient_condition(status: Obj, now: str) -> None:
    # pdbhelper.UpdateDisruptionAllowedCondition with no disruptions left.
    conditions = [c for c in status.get("conditions") or []
                  if c.get("type") != DISRUPTION_ALLOWED_CONDITION]
    old = next((c for c in status.get("conditions") or []
                if c.get("type") == DISRUPTION_ALLOWED_CONDITION), {})
    changed = old.get("status") != "False"
    conditions.append({**old, "type": DISRUPTION_ALLOWED_CONDITION, "status": "False",
                       "reason": INSUFFICIENT_PODS_REASON, "message": "",
                       "lastTransitionTime": now if changed else old.get("lastTransitionTime", now),
                       "observedGeneration": status.get("observedGeneration") or 0})
    status["conditions"] = conditions


def _forbidden(name: str, why: str) -> errors.APIError:
    return errors.APIError(403, "Forbidden", f'poddisruptionbudgets.policy "{name}" is '
                           f"forbidden: {why}", {"name": name, "group": "policy",
                                                 "kind": "poddisruptionbudgets"})


def parse_eviction(body: Any, name: str) -> Obj:
    if not isinstance(body, dict) or body.get("kind", "Eviction") != "Eviction":
        raise errors.bad_request("the body must be a policy/v1 Eviction object")
    evicted = (body.get("metadata") or {}).get("name")
    if evicted and evicted != name:
        raise errors.bad_request("name in URL does not match name in Eviction object")
    return body


async def evict(pods: Registry, pdbs: Registry, namespace: str, name: str, body: Any,
                ctx: RequestContext) -> tuple[Obj, int]:
    """Evict pod namespace/name; returns the Status body and its HTTP code."""
    eviction = parse_eviction(body, name)
    options = deletion.parse_delete_options(eviction.get("deleteOptions"), None, None)
    ctx.dry_run = ctx.dry_run or options.get("dryRun") == ["All"]
    pod = await pods.get(namespace, name)
    # Admission of the eviction itself (NodeRestriction: a node evicts only its pods).
    await pods.admission.validate(AdmissionRequest(
        CREATE, pods.info, namespace, name, ctx.user, obj=eviction, old=pod,
        subresource="eviction", dry_run=ctx.dry_run, warnings=ctx.warnings))
    budgets: list[Obj] = []
    if not can_ignore_pdb(pod):
        selection = reading.parse_selection(pdbs, namespace, None, None)
        budgets, _, _ = await reading.list_objects(pdbs, selection, None, None)
    decision = decide_eviction(pod, matching_pdbs(pod, budgets))
    if decision.action is Action.TOO_MANY_BUDGETS:
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": TOO_MANY_PDBS_MESSAGE, "code": 500}, 500
    if decision.action is Action.DECREMENT and decision.pdb is not None:
        pdb_name = decision.pdb["metadata"]["name"]
        now = pdbs.now()
        await pdbs.guaranteed_update(
            namespace, pdb_name, lambda current: check_and_decrement(current, name, now,
                                                                      ctx.dry_run),
            ctx, subresource="status")
        log.info("eviction allowed pod=%s/%s pdb=%s", namespace, name, pdb_name)
    pinned = decision.action is Action.DELETE_IF_UNCHANGED
    client_rv = (options.get("preconditions") or {}).get("resourceVersion")
    if pinned and not client_rv:
        options["preconditions"] = {**(options.get("preconditions") or {}),
                                    "resourceVersion": pod["metadata"]["resourceVersion"]}
    try:
        await deletion.delete(pods, namespace, name, options, ctx)
    except errors.APIError as err:
        if err.code == 409 and pinned and not client_rv and decision.pdb is not None:
            raise too_many_requests(decision.pdb["metadata"]["name"],
                                    f"The disruption budget {decision.pdb['metadata']['name']} "
                                    "is still being processed by the server.") from None
        raise
    return SUCCESS, 201
