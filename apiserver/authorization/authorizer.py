"""The authorizer contract and the chain `--authorization-mode` builds.

Each authorizer answers ALLOW, DENY or NO_OPINION with a reason. The chain asks
them in the order of the flag and the first ALLOW or DENY decides; when every one
has no opinion the request is denied. `system:masters` is allowed everything
before the chain is asked (upstream's privileged-group authorizer), so the admin
credential works whatever the policy says.

Modes: `AlwaysAllow` and `AlwaysDeny` here; `RBAC` and `Node` register
themselves in `MODES` from their own modules (see `build_authorizer`).

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/authorization/union,
pkg/kubeapiserver/authorizer/config.go
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable, Protocol

from apiserver.authorization.attributes import Attributes

SYSTEM_MASTERS = "system:masters"


class Decision(enum.Enum):
    DENY = "deny"
    ALLOW = "allow"
    NO_OPINION = "no-opinion"


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW


class Authorizer(Protocol):
    def authorize(self, attributes: Attributes) -> Verdict: ...


class AlwaysAllow:
    def authorize(self, attributes: Attributes) -> Verdict:
        return Verdict(Decision.ALLOW)


class AlwaysDeny:
    def authorize(self, attributes: Attributes) -> Verdict:
        return Verdict(Decision.NO_OPINION, "Everything is forbidden.")


class Chain:
    """The union of several authorizers, in order (upstream's unionAuthzHandler)."""

    def __init__(self, authorizers: list[Authorizer]) -> None:
        self.authorizers = authorizers

    def authorize(self, attributes: Attributes) -> Verdict:
        if SYSTEM_MASTERS in attributes.user.groups:
            return Verdict(Decision.ALLOW)
        reasons = []
        for authorizer in self.authorizers:
            verdict = authorizer.authorize(attributes)
            if verdict.decision is not Decision.NO_OPINION:
                return verdict
            if verdict.reason:
                reasons.append(verdict.reason)
        return Verdict(Decision.NO_OPINION, ", ".join(reasons))


# What each mode name builds, given what the server offers authorizers (the API
# server object: RBAC and Node read their objects through it).
AuthorizerFactory = Callable[[object], Authorizer]
MODES: dict[str, AuthorizerFactory] = {
    "AlwaysAllow": lambda server: AlwaysAllow(),
    "AlwaysDeny": lambda server: AlwaysDeny(),
}


def parse_modes(flag: str) -> list[str]:
    """`--authorization-mode` as a list, refusing unknown or repeated modes the way
    kube-apiserver's flag validation does."""
    modes = [m.strip() for m in flag.split(",") if m.strip()]
    if not modes:
        raise ValueError("at least one authorization-mode must be passed")
    for mode in modes:
        if mode not in MODES:
            raise ValueError(f"authorization-mode {mode!r} is not a valid mode "
                             f"(valid: {', '.join(sorted(MODES))})")
    if len(set(modes)) != len(modes):
        raise ValueError(f"authorization-mode {flag!r} has mode specified more than once")
    return modes


def build_authorizer(modes: list[str], server: object) -> Chain:
    return Chain([MODES[mode](server) for mode in modes])
