"""How long to wait before asking again: never more than a tenth of the time waited so far.

A connect waits on things whose timing is the server's, not ours: EMR propagating
a new login, YARN starting a driver, a first statement, a step. A fixed schedule
tuned to one server is late on another (a session ready at 0.21 s, polled at 0.2
and 0.25, costs a quarter more). Waiting a fixed share of the time already waited
bounds the lateness by that share whatever the server does, while a long wait (a
busy cluster's minute) still costs few requests.

Every wait of the project is one :class:`PollPolicy` (shaped like sparkmagic's retry
policies: an object that says how long to sleep) and one :class:`Wait` per wait, so
the deadline, the sleep and the late message are written once, not in each loop.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

LATE_SHARE = 0.1


@dataclass(frozen=True)
class PollPolicy:
    """Sleep ``late_share`` of the time waited so far, at least ``floor`` and at most
    ``ceiling`` seconds; with ``spread``, up to that share less at random, so clients that
    failed together (a Livy restarting under twenty kernels) do not all ask again together."""

    floor: float = 0.02
    ceiling: float = 1.0
    late_share: float = LATE_SHARE
    spread: float = 0.0

    def seconds_to_sleep(self, elapsed: float) -> float:
        """Seconds to wait before the next look, ``elapsed`` seconds into the wait."""
        sleep = min(self.ceiling, max(self.floor, elapsed * self.late_share))
        return sleep * (1 - random.uniform(0, self.spread)) if self.spread else sleep

    def start(self, deadline: float = math.inf,
              late: Callable[[float], Exception] | None = None,
              sleep: Callable[[float], None] = time.sleep) -> Wait:
        """A wait that starts now; given ``late``, past the monotonic ``deadline`` it raises
        ``late(elapsed)`` (the caller's one paragraph) instead of sleeping again."""
        return Wait(self, deadline, late, sleep)


class Wait:
    """One wait under a policy: look, and if not done, ``again()``, then look again."""

    def __init__(self, policy: PollPolicy, deadline: float,
                 late: Callable[[float], Exception] | None,
                 sleep: Callable[[float], None]) -> None:
        self._policy = policy
        self._deadline = deadline
        self._late = late
        self._sleep = sleep
        self._started = time.monotonic()

    @property
    def elapsed(self) -> float:
        """Seconds since the wait started."""
        return time.monotonic() - self._started

    def again(self) -> None:
        """Sleep as the policy says before the next look; past the deadline, raise what
        ``late`` makes of the time waited instead."""
        elapsed = self.elapsed
        if self._late is not None and time.monotonic() > self._deadline:
            raise self._late(elapsed)
        self._sleep(self._policy.seconds_to_sleep(elapsed))


# A connect's waits: a session starting, a first statement.
CONNECT_POLLS = PollPolicy()
