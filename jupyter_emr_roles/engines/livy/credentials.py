"""The Livy engine's logins: GetClusterSessionCredentials, and credentials that renew
themselves and wait for EMR to propagate them.

GetClusterSessionCredentials (called here, as Spark Connect's session calls are in
``engines/spark_connect/emr_sessions.py``) hands out a user name and password that live a
short while (an hour on EMR), and that Livy accepts only after a few seconds:
AWS's own notebook client sleeps 3 s "for EMR token propagation". A notebook
runs for days, and sparkmagic's heartbeat thread talks to Livy in the
background, so the credentials are an object every thread asks for the login
of each request, and tells how Livy answered:

- a fresh login that Livy refuses (401) is sent again, unchanged, with
  backoff, for up to 15 s; only then is one new login asked for, so a connect
  costs at most two GetClusterSessionCredentials calls;
- ahead of ``ExpiresAt`` a new login is fetched and tried, but the old one
  stays in use, and is sent again whenever Livy refuses the new one, until
  Livy has accepted the new one;
- if Livy keeps refusing the new login for the session (EMR tied the session to
  the login it started with), that is said once, as one paragraph with the fix,
  when the old login runs out, instead of a puzzling failure per cell.

The password is never part of a ``repr``, a log line or an exception.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ...aws.clients import Emr
from ...aws.calls import answer_field, aws_call
from ...errors import AwsCallError, LivyError
from ...identifiers import ClusterId, RoleArn
from ...polling import PollPolicy

log = logging.getLogger(__name__)

DEFAULT_MARGIN = timedelta(minutes=5)
# Never renew earlier than this share of a login's lifetime before it ends, so that
# short-lived credentials (20 s in tests) are not renewed on every request.
MAX_MARGIN_SHARE = 0.25
# How long Livy may refuse a login that EMR has just issued.
PROPAGATION_WINDOW = 15.0
REFUSED = (401, 403, 404)
# A refused fresh login is sent again after a tenth of the time since it was issued, 50 ms to 0.5 s.
PROPAGATION_POLLS = PollPolicy(floor=0.05, ceiling=0.5)


@dataclass(frozen=True)
class LivyLogin:
    username: str
    password: str
    expires_at: datetime

    def __repr__(self) -> str:
        return (f"LivyLogin(username={self.username!r}, password='***', "
                f"expires_at={self.expires_at.isoformat()})")


def session_login(emr: Emr, cluster_id: ClusterId, role_arn: RoleArn) -> LivyLogin:
    """GetClusterSessionCredentials: a Livy login of ``role_arn`` on the cluster, from the EMR
    client that may ask for it (the caller's, or an access role's)."""
    what = f"GetClusterSessionCredentials for {role_arn} on {cluster_id}"
    answer = aws_call(
        what, lambda: emr.client.get_cluster_session_credentials(ClusterId=cluster_id,
                                                                 ExecutionRoleArn=role_arn),
        denied_fix=("Your identity needs elasticmapreduce:GetClusterSessionCredentials on this "
                    "cluster, with its elasticmapreduce:ExecutionRoleArn condition allowing "
                    f"{role_arn}; ask your admin, or pick a role you are allowed to use."))
    login = answer_field(answer, what, "Credentials", "UsernamePassword")
    expires = answer_field(answer, what, "ExpiresAt")
    if not hasattr(expires, "tzinfo"):
        raise AwsCallError(f"The answer to {what} has no expiry time.", "BadAnswer")
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=timezone.utc)
    return LivyLogin(answer_field(login, what, "Username"),
                     answer_field(login, what, "Password"), expires)


@dataclass
class _Held:
    """A login with what we learnt about it."""

    login: LivyLogin
    fetched: float  # monotonic seconds
    fetched_at: datetime
    accepted: bool = False
    refusals: int = 0
    renewed: bool = False


class LivyCredentials:
    """The logins of one session (cluster and role); thread-safe.

    ``deadline`` (monotonic seconds) bounds every wait while a connect is in progress;
    ``label`` says whose credentials these are in messages ("session sales on j-...");
    ``on_renewed`` is called once Livy has accepted a renewed login."""

    def __init__(self, fetch: Callable[[], LivyLogin], margin: timedelta = DEFAULT_MARGIN,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._fetch = fetch
        self._margin = margin
        self._now = now
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._current: _Held | None = None
        self._pending: _Held | None = None
        self._stranded: str | None = None
        self.fetches = 0
        self.deadline: float | None = None
        self.label = "this session"
        self.on_renewed: Callable[[], None] = lambda: None

    def for_request(self) -> LivyLogin:
        """The login to send now: a new one while it is being tried, else the current one."""
        with self._lock:
            if self._current is None:
                self._current = self._fetch_held()
            current = self._current
            if self._stranded is not None:
                if self._expired(current):
                    raise LivyError(self._stranded)
                return current.login
            if self._pending is None and self._due(current):
                self._pending = self._fetch_held()
            return (self._pending or current).login

    def after_response(self, login: LivyLogin, status: int) -> LivyLogin | None:
        """How Livy answered a request sent with ``login``: None to keep the answer, or the
        login to send the same request again with (after waiting, if it must)."""
        if status not in REFUSED:
            if status < 500:  # a proxy's 5xx says nothing of whether Livy took the login
                self._accept(login)
            return None
        with self._lock:
            fallback = self._fall_back(login, status)
            if fallback is not None or status != 401:
                return fallback
            held = self._holding(login)
            if held is None:
                return self._current.login if self._current else None
            wait = self._propagation_wait(held)
            if wait is None:
                return self._renewed(held)
        self._sleep(wait)
        return login

    def _fall_back(self, login: LivyLogin, status: int) -> LivyLogin | None:
        """A new login refused while the old one is valid: send with the old one, and once the
        new one is refused past the propagation window, or not found the session, say so."""
        pending, current = self._pending, self._current
        if pending is None or login is not pending.login or current is None \
                or self._expired(current):
            return None
        pending.refusals += 1
        if status == 401 and self._clock() - pending.fetched < PROPAGATION_WINDOW:
            return current.login
        self._stranded = self._stranded_message(status, current.login)
        self._pending = None
        log.warning("%s", self._stranded)
        return current.login

    def _holding(self, login: LivyLogin) -> _Held | None:
        for held in (self._pending, self._current):
            if held is not None and held.login is login:
                return held
        return None

    def _propagation_wait(self, held: _Held) -> float | None:
        """Seconds to wait before sending ``held`` again, or None when it is not worth it (it
        was accepted before, it is no longer fresh, or the connect's deadline comes first)."""
        if held.accepted:
            return None
        elapsed = self._clock() - held.fetched
        wait = PROPAGATION_POLLS.seconds_to_sleep(elapsed)
        held.refusals += 1
        late = self.deadline is not None and self._clock() + wait > self.deadline
        return None if elapsed + wait > PROPAGATION_WINDOW or late else wait

    def _renewed(self, held: _Held) -> LivyLogin | None:
        """One new login after a login was refused for good; None once that was tried."""
        if held.renewed:
            return None
        fresh = self._fetch_held()
        fresh.renewed = True
        self._current, self._pending = fresh, None
        log.info("Livy kept refusing a login; asked EMR for a new one")
        return fresh.login

    def _accept(self, login: LivyLogin) -> None:
        with self._lock:
            pending = self._pending
            promoted = pending is not None and login is pending.login
            if pending is not None and promoted:
                pending.accepted = True
                self._current, self._pending = pending, None
                log.info("Livy accepted the renewed login, valid until %s",
                         login.expires_at.isoformat())
            elif self._current is not None and login is self._current.login:
                self._current.accepted = True
        if promoted:
            self.on_renewed()

    def _stranded_message(self, status: int, old: LivyLogin) -> str:
        return (f"Livy refuses the renewed login for {self.label} (HTTP {status}): EMR tied the "
                "Livy session to the login it was started with, which runs out at "
                f"{old.expires_at.isoformat(timespec='seconds')}. Run the connect cell again "
                "(same --name) to start a new session under the same role; the variables of "
                "the old session are lost, and its cells fail once that login runs out.")

    def _fetch_held(self) -> _Held:
        held = _Held(self._fetch(), self._clock(), self._now())
        self.fetches += 1
        log.info("Livy credentials fetched, valid until %s", held.login.expires_at.isoformat())
        return held

    def _due(self, held: _Held) -> bool:
        lifetime = held.login.expires_at - held.fetched_at
        margin = min(self._margin, lifetime * MAX_MARGIN_SHARE)
        return self._now() >= held.login.expires_at - margin

    def _expired(self, held: _Held) -> bool:
        return self._now() >= held.login.expires_at

    @property
    def expires_at(self) -> datetime | None:
        held = self._current
        return held.login.expires_at if held else None

    @staticmethod
    def sign(request: Any, login: LivyLogin) -> None:
        """Put ``login`` on a requests PreparedRequest, as HTTP Basic (EMR's Livy login)."""
        request.prepare_auth((login.username, login.password))

    @staticmethod
    def refusal(url: str, status: int, text: str) -> str:
        """The paragraph for a POST /sessions Livy refused even after the waits above."""
        return (f"Livy at {url} refused the credentials from GetClusterSessionCredentials "
                f"(HTTP {status}: {text[:200].strip()}), even after waiting for EMR to propagate "
                "them and asking for a second login. Check that the cluster's security "
                "configuration enables runtime roles and that Livy runs with it, then try again "
                "(a longer --timeout helps if EMR is slow to propagate logins).")

    @property
    def stranded(self) -> str | None:
        """The paragraph about a renewed login Livy refused for this session, if it happened."""
        return self._stranded

    def __repr__(self) -> str:
        return f"LivyCredentials(expires_at={self.expires_at}, fetches={self.fetches})"
