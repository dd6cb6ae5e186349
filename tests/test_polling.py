"""The one poll policy every wait uses: a share of the time waited, within bounds, and the
caller's paragraph instead of another sleep once the deadline has passed. Sleeps are recorded,
not slept, so nothing here depends on the machine's speed."""

from __future__ import annotations

import time

import pytest

from jupyter_emr_roles.errors import EmrRolesError
from jupyter_emr_roles.polling import CONNECT_POLLS, PollPolicy


def test_the_sleep_is_a_tenth_of_the_time_waited_within_the_policys_bounds() -> None:
    policy = PollPolicy(floor=0.05, ceiling=0.5)
    assert policy.seconds_to_sleep(0.0) == 0.05
    assert policy.seconds_to_sleep(2.0) == pytest.approx(0.2)
    assert policy.seconds_to_sleep(60.0) == 0.5
    assert CONNECT_POLLS.seconds_to_sleep(0.0) == 0.02


def test_past_its_deadline_a_wait_raises_the_callers_paragraph_instead_of_sleeping() -> None:
    slept: list[float] = []
    def late(elapsed: float) -> EmrRolesError:
        return EmrRolesError(f"still starting after {elapsed:.0f} s")

    wait = CONNECT_POLLS.start(time.monotonic() - 1.0, late, sleep=slept.append)
    with pytest.raises(EmrRolesError, match="still starting after 0 s"):
        wait.again()
    assert slept == []


def test_a_wait_with_no_late_paragraph_sleeps_as_the_policy_says_however_long() -> None:
    slept: list[float] = []
    wait = PollPolicy(floor=0.25, ceiling=10.0).start(sleep=slept.append)
    wait.again()
    wait.again()
    assert slept == [0.25, 0.25]


def test_a_spread_makes_each_sleep_up_to_that_share_shorter_and_never_longer() -> None:
    policy = PollPolicy(floor=0.1, ceiling=4.0, late_share=0.5, spread=0.5)
    sleeps = {policy.seconds_to_sleep(2.0) for _ in range(200)}
    assert all(0.5 <= sleep <= 1.0 for sleep in sleeps)
    assert len(sleeps) > 100, "clients that failed together do not retry together"
