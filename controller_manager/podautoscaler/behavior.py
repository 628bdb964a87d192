"""Stabilization and rate limits between a metric's proposal and the new scale.

Without `spec.behavior` (upstream's normalizeDesiredReplicas): the highest
recommendation of the downscale stabilization window wins, a scale-up is at most
max(2 × current, 4), then min/max replicas apply.

With `spec.behavior` (normalizeDesiredReplicasWithBehaviors): the recommendation is
clamped between the lowest of the scale-up window and the highest of the scale-down
window; then the policies limit the change per period, counting the scale events of
each policy's period (`Pods`: ± value, `Percent`: × (1 ± value/100)); `selectPolicy`
Max picks the policy allowing the largest change, Min the smallest, Disabled none.
Missing rules take upstream's defaults (scale-up: no window, max(4 pods, 100 %) per
15 s; scale-down: the controller's --horizontal-pod-autoscaler-downscale-stabilization
window, 100 % per 15 s).

Kubernetes counterpart: pkg/controller/podautoscaler/horizontal.go (normalizeDesiredReplicas*,
stabilizeRecommendation*, convertDesiredReplicasWith*, calculateScale*Limit*),
pkg/apis/autoscaling/v2/defaults.go
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from tinykube.api.other import HorizontalPodAutoscalerBehavior, HPAScalingPolicy, HPAScalingRules

SCALE_UP_LIMIT_FACTOR = 2.0
SCALE_UP_LIMIT_MINIMUM = 4.0
DESIRED_WITHIN_RANGE = ("DesiredWithinRange", "the desired count is within the acceptable range")
SCALE_UP_LIMIT = ("ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate")
SCALE_DOWN_LIMIT = ("ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate")
TOO_MANY = ("TooManyReplicas", "the desired replica count is more than the maximum replica count")
TOO_FEW = ("TooFewReplicas", "the desired replica count is less than the minimum replica count")
READY_FOR_NEW_SCALE = ("ReadyForNewScale", "recommended size matches current size")
SCALE_UP_STABILIZED = ("ScaleUpStabilized",
                       "recent recommendations were lower than current one, applying the lowest recent recommendation")
SCALE_DOWN_STABILIZED = ("ScaleDownStabilized",
                         "recent recommendations were higher than current one, applying the highest recent "
                         "recommendation")


def default_scale_up() -> HPAScalingRules:
    return HPAScalingRules(stabilization_window_seconds=0, select_policy="Max", policies=[
        HPAScalingPolicy(type="Pods", value=4, period_seconds=15),
        HPAScalingPolicy(type="Percent", value=100, period_seconds=15)])


def default_scale_down(window_seconds: int) -> HPAScalingRules:
    return HPAScalingRules(stabilization_window_seconds=window_seconds, select_policy="Max",
                           policies=[HPAScalingPolicy(type="Percent", value=100, period_seconds=15)])


def with_defaults(rules: HPAScalingRules | None, default: HPAScalingRules) -> HPAScalingRules:
    """Fill what a user's rules leave out, as the API's defaulting does."""
    if rules is None:
        return default
    return HPAScalingRules(
        stabilization_window_seconds=(rules.stabilization_window_seconds
                                      if rules.stabilization_window_seconds is not None
                                      else default.stabilization_window_seconds),
        select_policy=rules.select_policy or default.select_policy,
        policies=rules.policies if rules.policies else default.policies)


@dataclass
class ScaleEvent:
    change: int
    timestamp: float


@dataclass(frozen=True)
class Normalized:
    replicas: int
    able_to_scale: tuple[str, str]  # (reason, message) of AbleToScale=True
    limited: bool
    limit: tuple[str, str]  # (reason, message) of ScalingLimited


def _changes_in_period(period_seconds: int, events: list[ScaleEvent], now: float) -> int:
    cutoff = now - period_seconds
    return sum(e.change for e in events if e.timestamp > cutoff)


def _policy_limit(current: int, up_events: list[ScaleEvent], down_events: list[ScaleEvent],
                  rules: HPAScalingRules, now: float, direction: int) -> int:
    """The furthest each policy lets the count move in `direction` (+1 up, -1 down) from
    where its period started, combined by selectPolicy: Max allows the largest
    change, Min the smallest, Disabled none."""
    if rules.select_policy == "Disabled":
        return current
    largest_change = rules.select_policy != "Min"
    pick: Callable[[int, int], int] = max if largest_change == (direction > 0) else min
    result: int | None = None
    for policy in rules.policies or []:
        start = (current - _changes_in_period(policy.period_seconds, up_events, now)
                 + _changes_in_period(policy.period_seconds, down_events, now))
        if policy.type == "Pods":
            proposed = start + direction * policy.value
        elif direction > 0:  # rounded up, so a small count can still grow
            proposed = int(math.ceil(start * (1 + policy.value / 100)))
        else:
            proposed = int(start * (1 - policy.value / 100))
        result = proposed if result is None else pick(result, proposed)
    return current if result is None else result


def scale_up_limit(current: int, up_events: list[ScaleEvent], down_events: list[ScaleEvent],
                   rules: HPAScalingRules, now: float) -> int:
    return _policy_limit(current, up_events, down_events, rules, now, +1)


def scale_down_limit(current: int, up_events: list[ScaleEvent], down_events: list[ScaleEvent],
                     rules: HPAScalingRules, now: float) -> int:
    return _policy_limit(current, up_events, down_events, rules, now, -1)


class Stabilizer:
    """Per-HPA memory of recommendations and scale events (the controller's maps)."""

    def __init__(self, downscale_stabilization_seconds: float) -> None:
        self.downscale_window = downscale_stabilization_seconds
        self.recommendations: dict[str, list[tuple[int, float]]] = {}
        self.up_events: dict[str, list[ScaleEvent]] = {}
        self.down_events: dict[str, list[ScaleEvent]] = {}

    def forget(self, key: str) -> None:
        for table in (self.recommendations, self.up_events, self.down_events):
            table.pop(key, None)

    def record_initial(self, key: str, current: int, now: float) -> None:
        self.recommendations.setdefault(key, [(current, now)])

    def behavior_rules(self, behavior: HorizontalPodAutoscalerBehavior) -> tuple[HPAScalingRules, HPAScalingRules]:
        return (with_defaults(behavior.scale_up, default_scale_up()),
                with_defaults(behavior.scale_down, default_scale_down(int(self.downscale_window))))

    def normalize(self, key: str, current: int, desired: int, min_replicas: int, max_replicas: int,
                  now: float) -> Normalized:
        """No behavior: downscale stabilization, then the fixed scale-up limit and min/max."""
        cutoff = now - self.downscale_window
        stabilized = desired
        kept = [(r, t) for r, t in self.recommendations.get(key, []) if t > cutoff]
        for recommendation, _ in kept:
            stabilized = max(stabilized, recommendation)
        self.recommendations[key] = [*kept, (desired, now)]
        able = SCALE_DOWN_STABILIZED if stabilized != desired else READY_FOR_NEW_SCALE
        up_limit = int(max(SCALE_UP_LIMIT_FACTOR * current, SCALE_UP_LIMIT_MINIMUM))
        maximum, reason = (up_limit, SCALE_UP_LIMIT) if max_replicas > up_limit else (max_replicas, TOO_MANY)
        if stabilized < min_replicas:
            result, reason = min_replicas, TOO_FEW
        elif stabilized > maximum:
            result = maximum
        else:
            result, reason = stabilized, DESIRED_WITHIN_RANGE
        return Normalized(result, able, result != stabilized, reason)

    def normalize_with_behavior(self, key: str, behavior: HorizontalPodAutoscalerBehavior, current: int,
                                desired: int, min_replicas: int, max_replicas: int, now: float) -> Normalized:
        up, down = self.behavior_rules(behavior)
        stabilized, reason = self._stabilize(key, up, down, current, desired, now)
        able = reason if stabilized != desired else READY_FOR_NEW_SCALE
        result, limit = self._rate_limited(key, up, down, current, stabilized, min_replicas, max_replicas, now)
        return Normalized(result, able, result != stabilized, limit)

    def _stabilize(self, key: str, up: HPAScalingRules, down: HPAScalingRules, current: int, desired: int,
                   now: float) -> tuple[int, tuple[str, str]]:
        up_cutoff = now - (up.stabilization_window_seconds or 0)
        down_cutoff = now - (down.stabilization_window_seconds or 0)
        up_recommendation = down_recommendation = desired
        kept = []
        for recommendation, stamp in self.recommendations.get(key, []):
            if stamp > up_cutoff:
                up_recommendation = min(up_recommendation, recommendation)
            if stamp > down_cutoff:
                down_recommendation = max(down_recommendation, recommendation)
            if stamp >= up_cutoff or stamp >= down_cutoff:
                kept.append((recommendation, stamp))
        self.recommendations[key] = [*kept, (desired, now)]
        result = min(max(current, up_recommendation), down_recommendation)
        return result, SCALE_UP_STABILIZED if desired >= current else SCALE_DOWN_STABILIZED

    def _rate_limited(self, key: str, up: HPAScalingRules, down: HPAScalingRules, current: int, desired: int,
                      min_replicas: int, max_replicas: int, now: float) -> tuple[int, tuple[str, str]]:
        ups, downs = self.up_events.get(key, []), self.down_events.get(key, [])
        if desired > current:
            limit = max(scale_up_limit(current, ups, downs, up, now), current)
            maximum, reason = (limit, SCALE_UP_LIMIT) if max_replicas > limit else (max_replicas, TOO_MANY)
            if desired > maximum:
                return maximum, reason
        elif desired < current:
            limit = min(scale_down_limit(current, ups, downs, down, now), current)
            minimum, reason = (limit, SCALE_DOWN_LIMIT) if min_replicas < limit else (min_replicas, TOO_FEW)
            if desired < minimum:
                return minimum, reason
        return desired, DESIRED_WITHIN_RANGE

    def record_scale(self, key: str, behavior: HorizontalPodAutoscalerBehavior | None, previous: int, new: int,
                     now: float) -> None:
        """storeScaleEvent: only HPAs with a behavior keep events, each beyond its longest period dropped."""
        if behavior is None:
            return
        up, down = self.behavior_rules(behavior)
        rules, table, change = ((up, self.up_events, new - previous) if new > previous
                                else (down, self.down_events, previous - new))
        longest = max((p.period_seconds for p in rules.policies or []), default=0)
        events = [e for e in table.get(key, []) if e.timestamp >= now - longest]
        table[key] = [*events, ScaleEvent(change, now)]
