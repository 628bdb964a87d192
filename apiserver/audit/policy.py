"""`--audit-policy-file`: which requests are audited, and how much of each.

An audit.k8s.io/v1 Policy is an ordered list of rules; the first rule matching a
request sets its level, and a request no rule matches is not audited (None):

- `None`: no event; `Metadata`: who, what, when, the answer's status;
- `Request`: also the request body; `RequestResponse`: also the response body.

A rule matches when every selector it has matches: `users` (the user's name),
`userGroups` (any of the user's groups), `verbs` (the authorizer's verb), and then
either resource selectors (`namespaces`, `resources` of a `group` with optional
`resourceNames`; `pods/log`, `*/status`, `deployments/*` forms) which only match
resource requests, or `nonResourceURLs` (`/healthz`, `/metrics*`, `*`) which only
match the others. `omitStages` of the policy and of the rule are both left out;
`omitManagedFields` drops metadata.managedFields from logged bodies.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/audit/policy/checker.go,
staging/src/k8s.io/apiserver/pkg/apis/audit/validation/validation.go
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from apiserver.authorization.attributes import Attributes

API_VERSION = "audit.k8s.io/v1"


class Level(enum.IntEnum):
    NONE = 0
    METADATA = 1
    REQUEST = 2
    REQUEST_RESPONSE = 3

    @property
    def wire(self) -> str:
        return LEVEL_NAMES[self]


LEVEL_NAMES = {Level.NONE: "None", Level.METADATA: "Metadata", Level.REQUEST: "Request",
               Level.REQUEST_RESPONSE: "RequestResponse"}
STAGES = ("RequestReceived", "ResponseStarted", "ResponseComplete", "Panic")
RULE_FIELDS = {"level", "users", "userGroups", "verbs", "resources", "namespaces",
               "nonResourceURLs", "omitStages", "omitManagedFields"}


class PolicyError(ValueError):
    pass


@dataclass(frozen=True)
class GroupResources:
    group: str = ""
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()

    def matches(self, attributes: Attributes) -> bool:
        if self.group != attributes.api_group:
            return False
        if not self.resources:
            return True
        if self.resource_names and attributes.name not in self.resource_names:
            return False
        resource, sub = attributes.resource, attributes.subresource
        combined = f"{resource}/{sub}" if sub else resource
        return any(r in (combined, "*") or (sub and r == f"*/{sub}") or r == f"{resource}/*"
                   for r in self.resources)


@dataclass(frozen=True)
class Rule:
    level: Level
    users: tuple[str, ...] = ()
    user_groups: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    resources: tuple[GroupResources, ...] = ()
    namespaces: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()
    omit_stages: frozenset[str] = frozenset()
    omit_managed_fields: bool | None = None

    def matches(self, attributes: Attributes) -> bool:
        user = attributes.user
        if self.users and user.name not in self.users:
            return False
        if self.user_groups and not set(user.groups) & set(self.user_groups):
            return False
        if self.verbs and attributes.verb not in self.verbs:
            return False
        if self.namespaces or self.resources:
            if not attributes.resource_request:
                return False
            if self.namespaces and attributes.namespace not in self.namespaces:
                return False
            return not self.resources or any(gr.matches(attributes) for gr in self.resources)
        if self.non_resource_urls:
            return not attributes.resource_request and any(
                _path_matches(attributes.path, spec) for spec in self.non_resource_urls)
        return True


def _path_matches(path: str, spec: str) -> bool:
    return spec in ("*", path) or (spec.endswith("*") and path.startswith(spec.rstrip("*")))


@dataclass(frozen=True)
class Decision:
    """What the policy says about one request."""

    level: Level
    omit_stages: frozenset[str] = frozenset()
    omit_managed_fields: bool = False


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...] = ()
    omit_stages: frozenset[str] = field(default_factory=frozenset)
    omit_managed_fields: bool = False

    def decide(self, attributes: Attributes) -> Decision:
        for rule in self.rules:
            if rule.matches(attributes):
                omit = rule.omit_managed_fields
                return Decision(rule.level, self.omit_stages | rule.omit_stages,
                                self.omit_managed_fields if omit is None else omit)
        return Decision(Level.NONE)


def _strings(value: Any, where: str, errors: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.append(f"{where}: Invalid value: must be a list of strings")
        return ()
    return tuple(value)


def _stages(value: Any, where: str, errors: list[str]) -> frozenset[str]:
    stages = _strings(value, where, errors)
    for i, stage in enumerate(stages):
        if stage not in STAGES:
            errors.append(f'{where}[{i}]: Unsupported value: "{stage}": supported values: '
                          + ", ".join(f'"{s}"' for s in STAGES))
    return frozenset(stages)


def _rule(raw: Any, where: str, errors: list[str]) -> Rule | None:
    if not isinstance(raw, dict):
        errors.append(f"{where}: Invalid value: must be an object")
        return None
    for unknown in sorted(set(raw) - RULE_FIELDS):
        errors.append(f'{where}: Invalid value: unknown field "{unknown}"')
    level = {name: level for level, name in LEVEL_NAMES.items()}.get(raw.get("level"))
    if level is None:
        errors.append(f'{where}.level: Unsupported value: "{raw.get("level", "")}": supported values: '
                      '"None", "Metadata", "Request", "RequestResponse"')
        return None
    resources = []
    for j, gr in enumerate(raw.get("resources") or []):
        gr = gr if isinstance(gr, dict) else {}
        at = f"{where}.resources[{j}]"
        names = _strings(gr.get("resourceNames"), f"{at}.resourceNames", errors)
        plural = _strings(gr.get("resources"), f"{at}.resources", errors)
        if names and any("*" in r for r in plural):
            errors.append(f"{at}.resourceNames: Invalid value: using resource names with wildcard "
                          "resources is not supported")
        resources.append(GroupResources(str(gr.get("group") or ""), plural, names))
    urls = _strings(raw.get("nonResourceURLs"), f"{where}.nonResourceURLs", errors)
    if urls and (resources or raw.get("namespaces")):
        errors.append(f"{where}.nonResourceURLs: Invalid value: rules cannot apply to both "
                      "regular resources and non-resource URLs")
    managed = raw.get("omitManagedFields")
    return Rule(level, _strings(raw.get("users"), f"{where}.users", errors),
                _strings(raw.get("userGroups"), f"{where}.userGroups", errors),
                _strings(raw.get("verbs"), f"{where}.verbs", errors), tuple(resources),
                _strings(raw.get("namespaces"), f"{where}.namespaces", errors), urls,
                _stages(raw.get("omitStages"), f"{where}.omitStages", errors),
                None if managed is None else bool(managed))


def parse_policy(document: Any) -> Policy:
    if not isinstance(document, dict) or (document.get("apiVersion"), document.get("kind")) != \
            (API_VERSION, "Policy"):
        got = document if isinstance(document, dict) else {}
        raise PolicyError(f'no kind "{got.get("kind", "")}" is registered for version '
                          f'"{got.get("apiVersion", "")}"; expected kind Policy in {API_VERSION}')
    errors: list[str] = []
    rules = [_rule(raw, f"rules[{i}]", errors) for i, raw in enumerate(document.get("rules") or [])]
    policy = Policy(tuple(r for r in rules if r is not None),
                    _stages(document.get("omitStages"), "omitStages", errors),
                    bool(document.get("omitManagedFields", False)))
    if errors:
        raise PolicyError(errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")
    return policy


def load_policy(path: str | Path) -> Policy:
    try:
        document = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as err:
        raise PolicyError(f"failed to read audit policy file {str(path)!r}: {err}") from None
    try:
        return parse_policy(document)
    except PolicyError as err:
        raise PolicyError(f"invalid audit policy file {str(path)!r}: {err}") from None
