"""CrashLoopBackOff timing with a FakeClock: 10 s doubling to 300 s, reset after 10 min."""

from __future__ import annotations

from kubelet.backoff import Backoff
from tinykube.client.clock import FakeClock


def test_delays_double_up_to_the_cap() -> None:
    backoff, clock = Backoff(clock=FakeClock()), FakeClock()
    t = clock.wall()
    delays = [backoff.next("app", t + i) for i in range(8)]
    assert delays == [10, 20, 40, 80, 160, 300, 300, 300]


def test_in_backoff_until_the_delay_has_passed_since_the_exit() -> None:
    clock = FakeClock()
    backoff = Backoff(clock=clock)
    exited = clock.wall()
    backoff.next("app", exited)
    assert backoff.is_in_backoff_since("app", exited)
    assert backoff.remaining_seconds("app", exited) == 10
    clock.advance(9.5)
    assert backoff.is_in_backoff_since("app", exited)
    clock.advance(0.5)
    assert not backoff.is_in_backoff_since("app", exited)
    assert not backoff.is_in_backoff_since("other", exited)


def test_ten_minutes_without_a_failure_resets_the_delay() -> None:
    clock = FakeClock()
    backoff = Backoff(clock=clock)
    for _ in range(4):
        backoff.next("app", clock.wall())
    assert backoff.get("app") == 80
    clock.advance(600.5)  # ran longer than 2 × max
    assert backoff.next("app", clock.wall()) == 10


def test_lab_settings_and_gc() -> None:
    clock = FakeClock()
    backoff = Backoff(1, 4, clock=clock)
    assert [backoff.next("a", clock.wall()) for _ in range(4)] == [1, 2, 4, 4]
    assert backoff.reset_seconds == 8
    clock.advance(9)
    backoff.gc()
    assert backoff.get("a") == 0


def test_since_update_is_for_image_pulls() -> None:
    clock = FakeClock()
    backoff = Backoff(clock=clock)
    assert not backoff.is_in_backoff_since_update("img")
    backoff.next("img", clock.wall())
    assert backoff.is_in_backoff_since_update("img")
    clock.advance(10)
    assert not backoff.is_in_backoff_since_update("img")
