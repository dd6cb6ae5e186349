"""The Livy credentials the emulated control plane has issued, shared with the Livy gateway.

Real EMR hands out a short-lived user name and password from
GetClusterSessionCredentials, and the cluster's Livy accepts exactly those
until they expire, but not at once: AWS's own notebook client waits 3 s "for
EMR token propagation", and Livy answers 401 until then. Here the control
plane and the gateway live in one process and share this registry: ``issue``
on one side, ``check`` on the other, with the same propagation delay.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone


class CredentialRejected(Exception):
    """The user name or password is unknown, wrong, expired, or for another cluster."""


@dataclass(frozen=True)
class Identity:
    """Who a Livy request acts for: the runtime role, and who asked for it."""

    cluster_id: str
    role_arn: str
    caller_arn: str
    source_identity: str | None
    login: str = ""  # the Livy user name the request came with (set by ``check``)


@dataclass(frozen=True)
class IssuedCredential:
    username: str
    password: str
    expires_at: datetime
    identity: Identity
    valid_from: float = 0.0  # time.monotonic() after which Livy accepts it

    def __repr__(self) -> str:
        return (f"IssuedCredential(username={self.username!r}, password='***', "
                f"expires_at={self.expires_at.isoformat()}, identity={self.identity!r})")


class CredentialRegistry:
    """Thread-safe: the control plane issues from werkzeug's threads, the gateway checks from tornado's."""

    def __init__(self, propagation: float = 0.0) -> None:
        self.propagation = propagation
        self._lock = threading.Lock()
        self._issued: dict[str, IssuedCredential] = {}
        self.issued_count = 0

    def issue(self, identity: Identity, ttl: timedelta) -> IssuedCredential:
        credential = IssuedCredential(
            username=f"emr-{secrets.token_hex(8)}",
            password=secrets.token_urlsafe(32),
            expires_at=datetime.now(timezone.utc).replace(microsecond=0) + ttl,
            identity=identity,
            valid_from=time.monotonic() + self.propagation,
        )
        with self._lock:
            self._drop_expired()
            self._issued[credential.username] = credential
            self.issued_count += 1
        return credential

    def check(self, cluster_id: str, username: str, password: str) -> Identity:
        with self._lock:
            credential = self._issued.get(username)
        if credential is None or not hmac.compare_digest(credential.password, password):
            raise CredentialRejected("unknown user name or wrong password")
        if credential.identity.cluster_id != cluster_id:
            raise CredentialRejected("the credentials were issued for another cluster")
        if credential.expires_at <= datetime.now(timezone.utc):
            raise CredentialRejected("the credentials have expired")
        if time.monotonic() < credential.valid_from:
            raise CredentialRejected("the credentials have not propagated to the cluster yet")
        return replace(credential.identity, login=username)

    def _drop_expired(self) -> None:
        """Forget credentials long past expiry so a long-running emulator does not grow."""
        horizon = datetime.now(timezone.utc) - timedelta(hours=1)
        for username in [u for u, c in self._issued.items() if c.expires_at < horizon]:
            del self._issued[username]
