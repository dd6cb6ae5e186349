"""The Livy credentials' rules, on a clock the test moves: propagation, renewal that keeps the
old login until Livy accepts the new one, and a renewed login Livy refuses for the session.
The same rules run against the emulator in tests/test_connect_magic.py."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

import pytest

from jupyter_emr_roles.engines.livy.credentials import (
    PROPAGATION_WINDOW,
    LivyCredentials,
    LivyLogin,
)
from jupyter_emr_roles.errors import LivyError


class Clock:
    """Wall time and monotonic time that move together, only when the test (or a sleep) says."""

    def __init__(self) -> None:
        self.wall = datetime(2026, 1, 1, tzinfo=timezone.utc)
        self.seconds = 1000.0
        self.slept = 0.0

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.seconds

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        self.slept += seconds

    def advance(self, seconds: float) -> None:
        self.seconds += seconds
        self.wall += timedelta(seconds=seconds)


def issuing(clock: Clock, ttl: timedelta) -> tuple[list[LivyLogin], LivyCredentials]:
    issued: list[LivyLogin] = []

    def fetch() -> LivyLogin:
        issued.append(LivyLogin(f"user-{len(issued)}", f"secret-{len(issued)}", clock.wall + ttl))
        return issued[-1]

    return issued, LivyCredentials(fetch, now=clock.now, clock=clock.monotonic, sleep=clock.sleep)


class Livy:
    """Answers like the emulator's Livy: 401 until a login has propagated, 404 for a session
    tied to another login when ``tied`` is set."""

    def __init__(self, clock: Clock, propagation: float, issued: list[LivyLogin]) -> None:
        self.clock, self.propagation, self.issued = clock, propagation, issued
        self.born: dict[str, float] = {}
        self.tied_to: str | None = None

    def status(self, login: LivyLogin) -> int:
        born = self.born.setdefault(login.username, self.clock.seconds)
        if self.clock.wall >= login.expires_at or self.clock.seconds - born < self.propagation:
            return 401
        if self.tied_to is not None and login.username != self.tied_to:
            return 404
        return 200

    def request(self, credentials: LivyCredentials) -> int:
        """One request as the authenticator makes it: send, then resend as told."""
        login = credentials.for_request()
        while True:
            status = self.status(login)
            again = credentials.after_response(login, status)
            if again is None:
                return status
            login = again


def test_a_fresh_login_is_sent_again_until_it_has_propagated_without_a_second_fetch() -> None:
    clock = Clock()
    issued, credentials = issuing(clock, timedelta(hours=1))
    livy = Livy(clock, propagation=2.0, issued=issued)
    assert livy.request(credentials) == 200
    assert len(issued) == 1 and 2.0 <= clock.slept < 2.6


def test_a_login_refused_past_the_window_is_replaced_once_then_the_refusal_stands() -> None:
    clock = Clock()
    issued, credentials = issuing(clock, timedelta(hours=1))
    livy = Livy(clock, propagation=10_000, issued=issued)
    assert livy.request(credentials) == 401
    assert len(issued) == 2, "at most two GetClusterSessionCredentials calls per connect"
    assert clock.slept <= 2 * PROPAGATION_WINDOW


def test_the_deadline_of_a_connect_bounds_the_waiting() -> None:
    clock = Clock()
    issued, credentials = issuing(clock, timedelta(hours=1))
    credentials.deadline = clock.seconds + 1.0
    livy = Livy(clock, propagation=10_000, issued=issued)
    assert livy.request(credentials) == 401
    assert clock.slept <= 1.0


def test_credentials_renew_ahead_of_expiry_and_keep_the_old_login_until_the_new_one_is_accepted(
        ) -> None:
    clock = Clock()
    issued, credentials = issuing(clock, timedelta(hours=1))
    livy = Livy(clock, propagation=3.0, issued=issued)
    livy.request(credentials)
    clock.advance(54 * 60)
    assert livy.request(credentials) == 200 and len(issued) == 1  # 6 minutes left
    clock.advance(2 * 60)
    assert livy.request(credentials) == 200 and len(issued) == 2, "renewed 4 minutes ahead"
    assert credentials.expires_at == issued[0].expires_at, "the new one is not accepted yet"
    clock.advance(3.0)
    assert livy.request(credentials) == 200
    assert credentials.expires_at == issued[1].expires_at and len(issued) == 2


def test_short_lived_credentials_use_a_quarter_of_their_life_as_margin() -> None:
    clock = Clock()
    issued, credentials = issuing(clock, timedelta(seconds=20))
    credentials.for_request()
    clock.advance(14)
    credentials.for_request()
    assert len(issued) == 1
    clock.advance(2)  # 4 s left < 5 s (a quarter of 20 s)
    credentials.for_request()
    assert len(issued) == 2


def test_a_renewed_login_refused_for_the_session_is_said_once_the_old_one_runs_out() -> None:
    clock = Clock()
    issued, credentials = issuing(clock, timedelta(minutes=10))
    credentials.label = "session sales on j-ABC"
    livy = Livy(clock, propagation=0.0, issued=issued)
    livy.request(credentials)
    livy.tied_to = issued[0].username
    clock.advance(8 * 60)
    assert livy.request(credentials) == 200, "the old login still serves"
    assert credentials.stranded and "session sales on j-ABC" in credentials.stranded
    fetched = len(issued)
    for _ in range(5):
        assert livy.request(credentials) == 200
    assert len(issued) == fetched, "no new login per request once Livy refused one"
    clock.advance(3 * 60)
    with pytest.raises(LivyError) as caught:
        credentials.for_request()
    assert "Run the connect cell again" in str(caught.value) and "\n" not in str(caught.value)


def test_many_threads_seeing_one_expired_login_renew_it_once() -> None:
    clock = Clock()
    issued, credentials = issuing(clock, timedelta(hours=1))
    livy = Livy(clock, propagation=0.0, issued=issued)
    livy.request(credentials)
    clock.advance(59 * 60)
    threads = [threading.Thread(target=livy.request, args=(credentials,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(issued) == 2


def test_no_password_in_repr_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    issued, credentials = issuing(clock, timedelta(hours=1))
    with caplog.at_level(logging.DEBUG):
        login = credentials.for_request()
    assert login.password not in repr(credentials) + repr(login) + caplog.text
    assert "fetched" in caplog.text and login.username not in caplog.text
