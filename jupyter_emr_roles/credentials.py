"""Livy credentials that renew themselves before they expire.

GetClusterSessionCredentials hands out a user name and password that live a
short while (an hour on EMR). A notebook runs for days, and sparkmagic's
heartbeat thread talks to Livy in the background, so the credentials are an
object both threads ask for the current login: it renews ahead of
``ExpiresAt`` and once more when Livy answers 401/403. The password is never
part of its ``repr``, a log line or an exception.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

log = logging.getLogger(__name__)

DEFAULT_MARGIN = timedelta(minutes=5)
# Never renew earlier than this share of a login's lifetime before it ends, so that
# short-lived credentials (20 s in tests) are not renewed on every request.
MAX_MARGIN_SHARE = 0.25


@dataclass(frozen=True)
class LivyLogin:
    username: str
    password: str
    expires_at: datetime

    def __repr__(self) -> str:
        return (f"LivyLogin(username={self.username!r}, password='***', "
                f"expires_at={self.expires_at.isoformat()})")


class LivyCredentials:
    """The current login for one cluster and role; thread-safe."""

    def __init__(self, fetch: Callable[[], LivyLogin], margin: timedelta = DEFAULT_MARGIN,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self._fetch = fetch
        self._margin = margin
        self._now = now
        self._lock = threading.Lock()
        self._login: LivyLogin | None = None
        self._fetched_at: datetime | None = None
        self.renewals = 0

    def current(self) -> LivyLogin:
        """The login to use now, renewed first if it ends within the margin."""
        with self._lock:
            if self._login is None or self._due(self._login):
                self._renew()
            assert self._login is not None
            return self._login

    def renew_after_rejection(self, rejected: LivyLogin) -> LivyLogin:
        """Livy refused ``rejected``: renew once, unless another thread already did."""
        with self._lock:
            if self._login is None or self._login.username == rejected.username:
                self._renew()
            assert self._login is not None
            return self._login

    @property
    def expires_at(self) -> datetime | None:
        login = self._login
        return login.expires_at if login else None

    def _due(self, login: LivyLogin) -> bool:
        assert self._fetched_at is not None
        lifetime = login.expires_at - self._fetched_at
        margin = min(self._margin, lifetime * MAX_MARGIN_SHARE)
        return self._now() >= login.expires_at - margin

    def _renew(self) -> None:
        fetched_at = self._now()
        self._login = self._fetch()
        self._fetched_at = fetched_at
        self.renewals += 1
        log.info("Livy credentials renewed, valid until %s", self._login.expires_at.isoformat())

    def __repr__(self) -> str:
        return f"LivyCredentials(expires_at={self.expires_at}, renewals={self.renewals})"
