"""How long to wait before asking again: never more than a tenth of the time waited so far.

A connect waits on things whose timing is the server's, not ours: EMR propagating
a new login, YARN starting a driver, a first statement. A fixed schedule tuned to
one server is late on another (a session ready at 0.21 s, polled at 0.2 and 0.25,
costs a quarter more). Waiting a fixed share of the time already waited bounds
the lateness by that share whatever the server does, while a long wait (a busy
cluster's minute) still costs few requests.
"""

from __future__ import annotations

LATE_SHARE = 0.1


def next_poll(elapsed: float, floor: float = 0.02, ceiling: float = 1.0) -> float:
    """Seconds to wait before the next look, ``elapsed`` seconds into the wait."""
    return min(ceiling, max(floor, elapsed * LATE_SHARE))
