"""RBAC's decisions as pure functions: does a rule allow a request, does a set of
rules cover another (the escalation check), does a binding's subject name a user.

- verbs, apiGroups, resources: `*` matches anything; a resource rule names
  `resource` or `resource/subresource`, and `*/subresource` matches that
  subresource of every resource; a rule with resourceNames only matches requests
  about those names (never a list or create, which carry no name);
- nonResourceURLs: exact, `*`, or a prefix ending in `*` (`/healthz*`);
- `covers(owner, servant)` breaks the servant rules into single (group, resource,
  verb, name) or (URL, verb) rules and answers the ones no owner rule covers;
- a ServiceAccount subject is the user `system:serviceaccount:NS:NAME`; with no
  namespace in a RoleBinding it means the binding's namespace.

Kubernetes counterpart: plugin/pkg/auth/authorizer/rbac/rbac.go (RuleAllows, appliesTo),
staging/src/k8s.io/component-helpers/auth/rbac/validation/policy_comparator.go,
pkg/apis/rbac/v1/evaluation_helpers.go (CompactString)
"""

from __future__ import annotations

from collections.abc import Iterable

from apiserver.auth import UserInfo
from apiserver.authorization.attributes import Attributes
from tinykube.api.rbac import GROUP_KIND, SERVICE_ACCOUNT_KIND, USER_KIND, PolicyRule, Subject

ALL = "*"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


def service_account_username(namespace: str, name: str) -> str:
    return f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"


def verb_matches(rule: PolicyRule, verb: str) -> bool:
    return ALL in rule.verbs or verb in rule.verbs


def api_group_matches(rule: PolicyRule, group: str) -> bool:
    groups = rule.api_groups or []
    return ALL in groups or group in groups


def resource_matches(rule: PolicyRule, combined: str, subresource: str) -> bool:
    for resource in rule.resources or []:
        if resource in (ALL, combined):
            return True
        if subresource and resource == f"*/{subresource}":
            return True
    return False


def resource_name_matches(rule: PolicyRule, name: str) -> bool:
    return not rule.resource_names or name in rule.resource_names


def non_resource_url_matches(rule: PolicyRule, path: str) -> bool:
    for url in rule.non_resource_urls or []:
        if url in (ALL, path) or (url.endswith("*") and path.startswith(url.rstrip("*"))):
            return True
    return False


def rule_allows(attributes: Attributes, rule: PolicyRule) -> bool:
    if not verb_matches(rule, attributes.verb):
        return False
    if not attributes.resource_request:
        return non_resource_url_matches(rule, attributes.path)
    combined = attributes.resource
    if attributes.subresource:
        combined += "/" + attributes.subresource
    return (api_group_matches(rule, attributes.api_group)
            and resource_matches(rule, combined, attributes.subresource)
            and resource_name_matches(rule, attributes.name))


def applies_to_user(user: UserInfo, subject: Subject, namespace: str) -> bool:
    if subject.kind == USER_KIND:
        return user.name == subject.name
    if subject.kind == GROUP_KIND:
        return subject.name in user.groups
    if subject.kind == SERVICE_ACCOUNT_KIND:
        sa_namespace = subject.namespace or namespace
        return bool(sa_namespace) and user.name == service_account_username(sa_namespace,
                                                                             subject.name)
    return False


# -- escalation: do the rules a user holds cover the rules they want to grant ------------

def breakdown_rule(rule: PolicyRule) -> list[PolicyRule]:
    """One rule per (group, resource, verb[, name]) and per (URL, verb)."""
    subrules = []
    for group in rule.api_groups or []:
        for resource in rule.resources or []:
            for verb in rule.verbs:
                for name in rule.resource_names or [None]:
                    subrules.append(PolicyRule(api_groups=[group], resources=[resource],
                                               verbs=[verb],
                                               resource_names=[name] if name else None))
    for url in rule.non_resource_urls or []:
        for verb in rule.verbs:
            subrules.append(PolicyRule(non_resource_urls=[url], verbs=[verb]))
    return subrules


def _resource_covered(owner: list[str], resource: str) -> bool:
    if ALL in owner or resource in owner:
        return True
    _, slash, subresource = resource.partition("/")
    return bool(slash) and f"*/{subresource}" in owner


def _url_covered(owner: list[str], url: str) -> bool:
    return any(o in (ALL, url) or (o.endswith("*") and url.startswith(o.rstrip("*")))
               for o in owner)


def rule_covers(owner: PolicyRule, sub: PolicyRule) -> bool:
    verbs = ALL in owner.verbs or set(sub.verbs) <= set(owner.verbs)
    groups = ALL in (owner.api_groups or []) or set(sub.api_groups or []) <= set(owner.api_groups or [])
    resources = all(_resource_covered(owner.resources or [], r) for r in sub.resources or [])
    urls = all(_url_covered(owner.non_resource_urls or [], u) for u in sub.non_resource_urls or [])
    if sub.resource_names:
        names = not owner.resource_names or set(sub.resource_names) <= set(owner.resource_names)
    else:
        names = not owner.resource_names
    return verbs and groups and resources and urls and names


def covers(owner_rules: Iterable[PolicyRule], servant_rules: Iterable[PolicyRule]
           ) -> list[PolicyRule]:
    """The single rules of `servant_rules` that no owner rule covers (empty: covered)."""
    owners = list(owner_rules)
    return [sub for rule in servant_rules for sub in breakdown_rule(rule)
            if not any(rule_covers(owner, sub) for owner in owners)]


def compact_rules(rules: list[PolicyRule]) -> list[PolicyRule]:
    """Single-resource rules of one group and resource merged into one rule of all
    their verbs (upstream's CompactRules); anything else kept as it is."""
    merged: dict[tuple[str, str], PolicyRule] = {}
    compacted: list[PolicyRule] = []
    for rule in rules:
        simple = (len(rule.api_groups or []) == 1 and len(rule.resources or []) == 1
                  and not rule.resource_names and not rule.non_resource_urls)
        if not simple:
            compacted.append(rule)
            continue
        key = ((rule.api_groups or [""])[0], (rule.resources or [""])[0])
        if key in merged:
            merged[key].verbs.extend(v for v in rule.verbs if v not in merged[key].verbs)
        else:
            merged[key] = rule.model_copy(deep=True)
            compacted.append(merged[key])
    return compacted


def _go_strings(values: list[str]) -> str:
    """A []string under Go's %q: `["a" "b"]`."""
    return "[" + " ".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
                          for v in values) + "]"


def compact_string(rule: PolicyRule) -> str:
    """`{APIGroups:["apps"], Resources:["deployments"], Verbs:["get" "list"]}`."""
    parts = []
    for label, values in (("APIGroups", rule.api_groups), ("Resources", rule.resources),
                          ("NonResourceURLs", rule.non_resource_urls),
                          ("ResourceNames", rule.resource_names), ("Verbs", rule.verbs)):
        if values:
            parts.append(f"{label}:{_go_strings(values)}")
    return "{" + ", ".join(parts) + "}"


def go_string_list(values: Iterable[str]) -> str:
    return _go_strings(list(values))
