"""ControllerExpectations: a key is held back until its own writes are observed."""

from __future__ import annotations

from tinykube.client.clock import FakeClock
from tinykube.client.expectations import ControllerExpectations


def test_unknown_key_is_satisfied() -> None:
    assert ControllerExpectations(FakeClock()).satisfied_expectations("ns/rs")


def test_creations_must_all_be_observed() -> None:
    exp = ControllerExpectations(FakeClock())
    exp.expect_creations("ns/rs", 2)
    exp.expect_creations("ns/other", 1)
    assert not exp.satisfied_expectations("ns/rs")
    exp.creation_observed("ns/rs")
    assert not exp.satisfied_expectations("ns/rs")
    exp.creation_observed("ns/rs")
    assert exp.satisfied_expectations("ns/rs")
    assert not exp.satisfied_expectations("ns/other")


def test_deletions_must_all_be_observed() -> None:
    exp = ControllerExpectations(FakeClock())
    exp.expect_deletions("ns/rs", 1)
    assert not exp.satisfied_expectations("ns/rs")
    exp.deletion_observed("ns/rs")
    assert exp.satisfied_expectations("ns/rs")


def test_expectations_expire_after_five_minutes() -> None:
    clock = FakeClock()
    exp = ControllerExpectations(clock)
    exp.expect_creations("ns/rs", 3)
    clock.advance(299)
    assert not exp.satisfied_expectations("ns/rs")
    clock.advance(2)
    assert exp.satisfied_expectations("ns/rs")


def test_setting_again_restarts_the_ttl_and_delete_forgets() -> None:
    clock = FakeClock()
    exp = ControllerExpectations(clock)
    exp.expect_creations("ns/rs", 1)
    clock.advance(200)
    exp.expect_creations("ns/rs", 1)
    clock.advance(200)
    assert not exp.satisfied_expectations("ns/rs")
    exp.delete_expectations("ns/rs")
    assert exp.satisfied_expectations("ns/rs")
    assert exp.get_expectations("ns/rs") is None


def test_lowering_for_a_failed_create_unblocks_the_key() -> None:
    exp = ControllerExpectations(FakeClock())
    exp.expect_creations("ns/rs", 2)
    exp.creation_observed("ns/rs")
    exp.lower_expectations("ns/rs", 1, 0)  # the second create failed: it will never be observed
    assert exp.satisfied_expectations("ns/rs")
