"""Livy requests that ride out a flaky network and never run anything twice.

A read (a session's state, a statement's, a log, a list) is safe to send again: it is
retried on 502, 503 and 504 and on a connection that dropped or timed out, with a
growing wait, for up to :attr:`FaultPolicy.budget` seconds of failing in a row.

A POST is never sent again blindly. Its answer can be lost after Livy acted on it (a
proxy's 504 once the statement was queued, a connection reset on the way back), and a
second POST would run the cell twice or open a second session. After a lost answer the
client asks Livy whether it took the request (``find``: the session's statements after
the last one known, or the session by its name) and sends it again only when Livy did
not, as a careful database driver treats a commit whose answer it never saw.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import requests

from ...errors import LivyError
from ...polling import PollPolicy

log = logging.getLogger(__name__)

# What a proxy or a restarting Livy answers for a request it may or may not have passed on.
RETRIED_STATUSES = frozenset({502, 503, 504})
# A POST's answer among these says nothing of whether Livy acted: Livy's own 500 included.
UNKNOWN_OUTCOME = RETRIED_STATUSES | {500}

Send = Callable[[str, str, Any], requests.Response]


@dataclass(frozen=True)
class FaultPolicy:
    """How long a request may keep failing before the user is told, and the waits between
    tries: half the time failed so far, from 0.1 s up to 4 s (a restarting Livy is back in
    seconds; a flood of retries would slow it down), each up to half shorter at random, so
    the kernels a fault hit together do not retry together."""

    budget: float = 60.0
    waits: PollPolicy = field(default_factory=lambda: PollPolicy(floor=0.1, ceiling=4.0,
                                                                  late_share=0.5, spread=0.5))


FAULTS = FaultPolicy()


@dataclass(frozen=True)
class Answer:
    """Livy's answer to a request, or the answer it gave before (a POST found taken)."""

    status: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


# Seconds between two looks at whether the session's place is gone for good (a cluster
# terminated), while Livy keeps failing.
CHECK_EVERY = 5.0


class _Failures:
    """The failures of one request in a row, and the paragraph once they outlast the budget.
    ``check`` raises where retrying is pointless (the cluster is gone); it is asked at the
    first failure and every CHECK_EVERY seconds after."""

    def __init__(self, what: str, policy: FaultPolicy,
                 check: Callable[[], None] | None = None) -> None:
        self.what = what
        self.last = ""
        self._check = check
        self._checked = -CHECK_EVERY
        self._wait = policy.waits.start(time.monotonic() + policy.budget, self._late)

    def failed(self, reason: str) -> None:
        """Note a failure and wait before the next try; past the budget, raise instead."""
        self.last = reason
        log.info("Livy failed when %s (%s); trying again", self.what, reason)
        if self._check is not None and self._wait.elapsed - self._checked >= CHECK_EVERY:
            self._checked = self._wait.elapsed
            self._check()
        self._wait.again()

    def _late(self, elapsed: float) -> LivyError:
        return LivyError(f"Livy kept failing for {elapsed:.0f} s when {self.what} (last: "
                         f"{self.last}), so this client stopped trying. Livy may be restarting "
                         "or overloaded; run the cell again in a minute, and `%emr_sessions` "
                         "says whether the session is still there.")


def read(send: Send, method: str, path: str, what: str, policy: FaultPolicy = FAULTS,
         check: Callable[[], None] | None = None) -> Answer:
    """A request safe to repeat (GET, DELETE), sent until it gets an answer other than 502,
    503 or 504; that answer, whatever its status, is the caller's to judge."""
    failures = _Failures(what, policy, check)
    while True:
        answer = _try(send, method, path, None)
        if isinstance(answer, Answer) and answer.status not in RETRIED_STATUSES:
            return answer
        failures.failed(_reason(answer))


def post_once(send: Send, path: str, body: Any, find: Callable[[], Answer | None], what: str,
              policy: FaultPolicy = FAULTS, check: Callable[[], None] | None = None) -> Answer:
    """A POST Livy acts on once: where its answer was lost, ``find()`` says whether Livy
    took it (the answer it would have given) or not (None: sent again)."""
    failures = _Failures(what, policy, check)
    while True:
        answer = _try(send, "POST", path, body)
        if isinstance(answer, Answer) and answer.status not in UNKNOWN_OUTCOME:
            return answer
        log.info("the answer to %s was lost (%s); asking Livy whether it took it", what,
                 _reason(answer))
        taken = find()
        if taken is not None:
            return taken
        failures.failed(_reason(answer))


def _try(send: Send, method: str, path: str, body: Any) -> Answer | Exception:
    """One request: Livy's answer, or the network failure that took its place. A TLS
    failure is no fault of the network: it is raised, to be reported as it is."""
    try:
        response = send(method, path, body)
    except requests.exceptions.SSLError:
        raise
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        return exc
    return Answer(response.status_code, response.text)


def innermost(exc: BaseException) -> BaseException:
    """The innermost cause of a requests exception, under the wrapping ones."""
    cause = exc
    while cause.__context__ is not None and cause.__context__ is not cause:
        cause = cause.__context__
    return cause


def _reason(outcome: Answer | Exception) -> str:
    if isinstance(outcome, Answer):
        return f"HTTP {outcome.status}"
    cause = innermost(outcome)
    return f"{type(cause).__name__}: {str(cause)[:200]}"
