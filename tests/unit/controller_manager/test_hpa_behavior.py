"""HPA stabilization windows and scaling policies (upstream's normalization), on a clock we move."""

from __future__ import annotations

from controller_manager.podautoscaler.behavior import Stabilizer, scale_down_limit, scale_up_limit
from tinykube.api.other import HorizontalPodAutoscalerBehavior, HPAScalingPolicy, HPAScalingRules

KEY = "default/web"


def behavior(up: HPAScalingRules | None = None, down: HPAScalingRules | None = None) -> HorizontalPodAutoscalerBehavior:
    return HorizontalPodAutoscalerBehavior(scale_up=up, scale_down=down)


def rules(*policies: tuple[str, int, int], select: str | None = None, window: int | None = None) -> HPAScalingRules:
    return HPAScalingRules(stabilization_window_seconds=window, select_policy=select,
                           policies=[HPAScalingPolicy(type=t, value=v, period_seconds=p) for t, v, p in policies])


def test_without_behavior_scale_down_waits_for_the_highest_recommendation_of_the_window() -> None:
    stabilizer = Stabilizer(downscale_stabilization_seconds=300)
    stabilizer.record_initial(KEY, 5, now=0)
    first = stabilizer.normalize(KEY, current=5, desired=2, min_replicas=1, max_replicas=10, now=10)
    assert first.replicas == 5 and first.able_to_scale[0] == "ScaleDownStabilized"
    assert stabilizer.normalize(KEY, 5, 2, 1, 10, now=299).replicas == 5  # the initial 5 is still in the window
    settled = stabilizer.normalize(KEY, 5, 2, 1, 10, now=320)
    assert (settled.replicas, settled.able_to_scale[0], settled.limited) == (2, "ReadyForNewScale", False)


def test_without_behavior_scale_up_is_capped_at_twice_or_four_and_by_max_replicas() -> None:
    stabilizer = Stabilizer(downscale_stabilization_seconds=0)
    capped = stabilizer.normalize(KEY, current=1, desired=10, min_replicas=1, max_replicas=20, now=1)
    assert (capped.replicas, capped.limited, capped.limit[0]) == (4, True, "ScaleUpLimit")
    at_max = stabilizer.normalize(KEY, current=4, desired=7, min_replicas=1, max_replicas=6, now=2)
    assert (at_max.replicas, at_max.limit) == (6, ("TooManyReplicas",
                                                   "the desired replica count is more than the maximum replica count"))
    at_min = stabilizer.normalize(KEY, current=4, desired=1, min_replicas=2, max_replicas=6, now=3)
    assert (at_min.replicas, at_min.limit[0]) == (2, "TooFewReplicas")


def test_default_behavior_scales_up_by_max_of_four_pods_and_double_per_fifteen_seconds() -> None:
    stabilizer = Stabilizer(downscale_stabilization_seconds=300)
    first = stabilizer.normalize_with_behavior(KEY, behavior(), current=2, desired=20, min_replicas=1,
                                               max_replicas=50, now=0)
    assert (first.replicas, first.limit[0]) == (6, "ScaleUpLimit")  # max(2+4, 2×2)
    stabilizer.record_scale(KEY, behavior(), 2, 6, now=0)
    # Within the same 15 s the period started at 2: nothing more is allowed.
    assert stabilizer.normalize_with_behavior(KEY, behavior(), 6, 20, 1, 50, now=10).replicas == 6
    # A period later it starts from 6: max(6+4, 12) = 12.
    assert stabilizer.normalize_with_behavior(KEY, behavior(), 6, 20, 1, 50, now=16).replicas == 12


def test_scale_down_window_keeps_the_highest_then_percent_policy_limits() -> None:
    stabilizer = Stabilizer(downscale_stabilization_seconds=300)
    down = rules(("Percent", 50, 60), window=30)
    spec = behavior(down=down)
    stabilizer.record_initial(KEY, 10, now=0)
    held = stabilizer.normalize_with_behavior(KEY, spec, current=10, desired=1, min_replicas=1, max_replicas=10, now=5)
    assert (held.replicas, held.able_to_scale[0]) == (10, "ScaleDownStabilized")
    halved = stabilizer.normalize_with_behavior(KEY, spec, 10, 1, 1, 10, now=40)
    assert (halved.replicas, halved.limit[0]) == (5, "ScaleDownLimit")
    stabilizer.record_scale(KEY, spec, 10, 5, now=40)
    assert stabilizer.normalize_with_behavior(KEY, spec, 5, 1, 1, 10, now=50).replicas == 5  # same 60 s period
    assert stabilizer.normalize_with_behavior(KEY, spec, 5, 1, 1, 10, now=101).replicas == 2  # int(5 × 0.5)


def test_scale_up_window_applies_the_lowest_recent_recommendation() -> None:
    stabilizer = Stabilizer(downscale_stabilization_seconds=0)
    spec = behavior(up=rules(("Pods", 100, 15), window=60))
    stabilizer.record_initial(KEY, 2, now=0)
    held = stabilizer.normalize_with_behavior(KEY, spec, current=2, desired=8, min_replicas=1, max_replicas=10, now=10)
    assert (held.replicas, held.able_to_scale[0]) == (2, "ScaleUpStabilized")
    assert stabilizer.normalize_with_behavior(KEY, spec, 2, 8, 1, 10, now=75).replicas == 8


def test_select_policy_min_max_and_disabled() -> None:
    policies = (("Pods", 1, 60), ("Percent", 100, 60))
    assert scale_up_limit(4, [], [], rules(*policies, select="Max"), now=0) == 8
    assert scale_up_limit(4, [], [], rules(*policies, select="Min"), now=0) == 5
    assert scale_up_limit(4, [], [], rules(*policies, select="Disabled"), now=0) == 4
    down = (("Pods", 1, 60), ("Percent", 50, 60))
    assert scale_down_limit(4, [], [], rules(*down, select="Max"), now=0) == 2
    assert scale_down_limit(4, [], [], rules(*down, select="Min"), now=0) == 3
    disabled = Stabilizer(0).normalize_with_behavior(
        KEY, behavior(down=rules(*down, select="Disabled")), current=4, desired=1, min_replicas=1, max_replicas=9,
        now=0)
    assert (disabled.replicas, disabled.limit[0]) == (4, "ScaleDownLimit")
