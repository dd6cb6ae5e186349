"""EMR's Spark Connect sessions, as the emulated control plane answers for them.

StartSession, GetSession, ListSessions, GetSessionEndpoint and TerminateSession
with EMR's rules in EMR's words: the cluster must be RUNNING or WAITING, on
release emr-spark-8.0.0 or later, have sessions enabled (``SessionEnabled`` at
RunJobFlow) and runtime roles, and the role must trust the cluster's instance
profile, as for GetClusterSessionCredentials. Each session goes SUBMITTED,
STARTING, STARTED, then IDLE and BUSY as calls come, and ends TERMINATED (or
FAILED with its reason) by TerminateSession, at its idle timeout or when it
has lived 24 hours. Its server (``server.py``) runs with the runtime role's own
credentials, behind a front (``front.py``) that plays EMR's authentication
proxy: it admits a call that names the session's ID and carries a token
GetSessionEndpoint handed out for that session, until that token expires. The
endpoint is ``https://<session id>.elasticmapreduce-services.<region>`` under
``.localhost`` (a name that resolves to loopback), as AWS's is under
``.amazonaws.com``; its host is lower-case, as DNS gives it back. A
ClientRequestToken makes StartSession idempotent: a retried call starts no
second session.

The book also keeps EMR Serverless's sessions (``serverless_sessions.py``
checks and answers for them, and hands them to ``add`` and ``launch``): the
same servers, fronts, tokens and ends, with the proxy taking the token alone.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import select
import string
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..callers import AwsError
from ..issued import Identity
from ..runtime_roles import check_ready, check_role_exists, check_sessions_supported
from ..tls import LocalTls

log = logging.getLogger(__name__)

# "This operation is supported in Amazon EMR Spark 8.0.0 and later" (StartSession's docs).
SESSIONS_RELEASE = (8, 0, 0)
LIVE_STATES = ("STARTED", "IDLE", "BUSY")
ENDED_STATES = ("TERMINATED", "FAILED")
DEFAULT_IDLE_MINUTES = 60
# "A session lives until TerminateSession, its idle timeout or 24 h" (AWS's sessions page).
MAX_LIFETIME_SECONDS = 24 * 3600.0
# Session IDs read is-XXXXXXXXXXXXX.
_ID_CHARACTERS = string.ascii_uppercase + string.digits
_ID_LENGTH = 13
# Where a session's endpoint answers: a name under .localhost, which gRPC's resolver maps to
# loopback, and which the AWS endpoint's certificate names by a wildcard.
ENDPOINT_DOMAIN = "elasticmapreduce-services.{region}.localhost"


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidRequestException", message)


@dataclass
class BookSettings:
    """How the book runs sessions: the TLS of their fronts (the AWS endpoint's), how the
    runtime role's credentials are made, how long a token lives and a server may take to start,
    and where the servers' logs go."""

    tls: LocalTls | None
    credentials: Callable[[Identity], dict[str, str]]
    log_dir: Path
    token_ttl: float = 3600.0
    start_timeout: float = 180.0
    max_lifetime: float = MAX_LIFETIME_SECONDS


@dataclass
class Session:
    """One session, EMR's or EMR Serverless's: ``cluster_id`` is the ID of what it runs on
    (a cluster, or a Serverless application). ``id_header`` names the metadata entry that must
    carry the session's ID (EMR's proxy: ``authorization``; None where the proxy takes the token
    alone, as Serverless's does); ``minute`` is how many seconds a minute of its idle timeout
    lasts."""

    id: str
    cluster_id: str
    arn: str
    account: str
    region: str
    release: str
    role_arn: str
    name: str | None
    idle_minutes: int
    configurations: list[dict[str, Any]]
    tags: list[dict[str, str]]
    state: str = "SUBMITTED"
    reason: str = ""
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    started: float | None = None
    ended: float | None = None
    idle_since: float | None = None
    tokens: dict[str, float] = field(default_factory=dict)  # token -> when it expires
    process: subprocess.Popen[str] | None = None
    front: Any = None
    id_header: str | None = "authorization"
    minute: float = 60.0

    def start_answer(self) -> dict[str, Any]:
        return {"Id": self.id, "ClusterId": self.cluster_id, "Arn": self.arn,
                "AccountId": self.account, "State": self.state}

    def to_json(self) -> dict[str, Any]:
        times = {"CreatedAt": self.created, "UpdatedAt": self.updated,
                 "StartedAt": self.started, "EndedAt": self.ended, "IdleSince": self.idle_since}
        answer: dict[str, Any] = {
            "Id": self.id, "ClusterId": self.cluster_id, "Arn": self.arn, "State": self.state,
            "ReleaseLabel": self.release, "ExecutionRoleArn": self.role_arn,
            "AccountId": self.account, "SessionIdleTimeoutInMinutes": self.idle_minutes,
            "EngineConfigurations": self.configurations, "Tags": self.tags,
            **{key: value for key, value in times.items() if value is not None}}
        if self.name:
            answer["Name"] = self.name
        if self.reason:
            answer["StateChangeReason"] = self.reason
        return answer


class SessionBook:
    """Every session of the emulator, by (cluster, session ID); thread-safe."""

    def __init__(self, settings: BookSettings) -> None:
        self.settings = settings
        self.enabled: set[str] = set()  # clusters created with SessionEnabled
        self._sessions: dict[tuple[str, str], Session] = {}
        # (cluster, ClientRequestToken) -> the parameters it came with and the session it started
        self._requests: dict[tuple[str, str], tuple[dict[str, Any], Session]] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        threading.Thread(target=self._reap, name="session-reaper", daemon=True).start()

    def start(self, cluster: Any, params: dict[str, Any], identity: Identity,
              region: str) -> dict[str, Any]:
        """StartSession, once IAM allowed it: EMR's checks, then a session SUBMITTED; a
        ClientRequestToken seen before answers with the session it started."""
        earlier = self.earlier(cluster.id, params.get("ClientRequestToken"))
        if earlier is not None:
            if earlier[0] != params:
                raise _invalid(f"ClientRequestToken {params['ClientRequestToken']} was used "
                               "with other parameters; use a new token for a new session.")
            return earlier[1].start_answer()
        role_arn = params.get("ExecutionRoleArn")
        check_ready(cluster, SESSIONS_RELEASE, "Spark Connect sessions")
        check_sessions_supported(cluster)
        if cluster.id not in self.enabled:
            raise _invalid(f"Spark Connect sessions are not enabled on cluster {cluster.id}. "
                           "Create the cluster with SessionEnabled set to true.")
        if not role_arn:
            raise _invalid(f"Cluster {cluster.id} has runtime roles enabled: StartSession needs "
                           "an ExecutionRoleArn.")
        check_role_exists(cluster, role_arn)
        session = self._new_session(cluster, params, region)
        self.launch(session, lambda: self.settings.credentials(identity))
        return session.start_answer()

    def earlier(self, owner: str, token: str | None) -> tuple[dict[str, Any], Session] | None:
        """The parameters and the session of an earlier StartSession on ``owner`` with the
        same client token (a retried call starts no second session); None for a new token."""
        if not token:
            return None
        with self._lock:
            return self._requests.get((owner, token))

    def add(self, session: Session, token: str | None, params: dict[str, Any]) -> None:
        """Keep a new session, and the client token that started it."""
        with self._lock:
            self._sessions[(session.cluster_id, session.id)] = session
            if token:
                self._requests[(session.cluster_id, token)] = (params, session)

    def launch(self, session: Session, environment: Callable[[], dict[str, str]],
               before: Callable[[], None] | None = None) -> None:
        """Run the session's life on a thread of its own: ``before`` (what must happen first,
        e.g. its application starting), then its server with the variables ``environment``
        gives (the role's credentials), then its front."""
        def life() -> None:
            if before is not None:
                try:
                    before()
                except Exception as exc:  # the session fails; the emulator goes on
                    self._stop(session, "FAILED", str(exc))
                    return
            self._run(session, environment)

        threading.Thread(target=life, name=f"session-{session.id}", daemon=True).start()

    def _new_session(self, cluster: Any, params: dict[str, Any], region: str) -> Session:
        configurations = params.get("EngineConfigurations") or []
        for configuration in configurations:
            if configuration.get("Classification") != "spark-defaults":
                raise _invalid("Only runtime configuration overrides are supported: "
                               "EngineConfigurations takes the classification spark-defaults.")
        session_id = "is-" + "".join(secrets.choice(_ID_CHARACTERS) for _ in range(_ID_LENGTH))
        account = cluster.emr_backend.account_id
        session = Session(
            session_id, cluster.id,
            f"arn:aws:elasticmapreduce:{region}:{account}:cluster/{cluster.id}/session/"
            f"{session_id}", account, region, cluster.release_label, params["ExecutionRoleArn"],
            params.get("Name"), int(params.get("SessionIdleTimeoutInMinutes")
                                    or DEFAULT_IDLE_MINUTES),
            configurations, params.get("Tags") or [])
        self.add(session, params.get("ClientRequestToken"), params)
        return session

    def get(self, cluster_id: str, session_id: Any) -> dict[str, Any]:
        return {"Session": self._find(cluster_id, session_id).to_json()}

    def list(self, cluster_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """Newest first, filtered by state, a page at a time."""
        states = params.get("SessionStates") or None
        found = [s for s in self.sessions_of(cluster_id) if states is None or s.state in states]
        found.sort(key=lambda session: session.created, reverse=True)
        start = int(params.get("NextToken") or 0)
        size = int(params.get("MaxResults") or 50)
        answer: dict[str, Any] = {"Sessions": [s.to_json() for s in found[start:start + size]]}
        if start + size < len(found):
            answer["NextToken"] = str(start + size)
        return answer

    def endpoint(self, cluster_id: str, session_id: Any) -> dict[str, Any]:
        """A new token for a live session, good until it expires. Tokens handed out before
        are kept (until the session ends) so that an expired one is told apart from a wrong
        one, as AWS's proxy tells them apart."""
        session = self._find(cluster_id, session_id)
        issued = self.token(session)
        if issued is None:
            raise _invalid(f"Session {session.id} is {session.state}; its endpoint is "
                           "available once the session has STARTED.")
        token, expires, port = issued
        host = f"{session.id}.{ENDPOINT_DOMAIN.format(region=session.region)}".lower()
        return {"Endpoint": f"https://{host}:{port}", "AuthToken": token,
                "AuthTokenExpirationTime": expires}

    def token(self, session: Session) -> tuple[str, float, int] | None:
        """A new token for a live session, when it expires, and its front's port; None while
        the session is not live."""
        with self._lock:
            if session.state not in LIVE_STATES or session.front is None:
                return None
            token, expires = secrets.token_urlsafe(32), time.time() + self.settings.token_ttl
            session.tokens[token] = expires
            return token, expires, session.front.port

    def terminate(self, cluster_id: str, session_id: Any) -> dict[str, Any]:
        session = self._find(cluster_id, session_id)
        self.end(session, "Terminated by the user (TerminateSession).")
        return {"ClusterId": cluster_id, "SessionId": session.id, "State": session.state}

    def end(self, session: Session, reason: str) -> None:
        """TERMINATING now, TERMINATED once its server and front are gone (a session already
        ending or over is left as it is, its reason kept)."""
        if session.state not in ("TERMINATING", *ENDED_STATES):
            self._set(session, "TERMINATING", reason)
            threading.Thread(target=self._stop, args=(session, "TERMINATED"),
                             daemon=True).start()

    def lookup(self, owner: str, session_id: Any) -> Session | None:
        """The session ``owner`` (a cluster or application ID) has by that ID."""
        with self._lock:
            return self._sessions.get((owner, session_id)) if isinstance(session_id, str) \
                else None

    def sessions_of(self, owner: str) -> list[Session]:
        with self._lock:
            return [s for (kept, _), s in self._sessions.items() if kept == owner]

    def close(self) -> None:
        """Stop every session's server (the emulator is shutting down)."""
        self._closed.set()
        with self._lock:
            sessions = list(self._sessions.values())
        for session in sessions:
            if session.state not in ENDED_STATES:
                self._stop(session, "TERMINATED")

    def check(self, session: Session, sent: Mapping[str, str]) -> str:
        """The proxy's verdict on a call to ``session``'s endpoint, from the metadata ``sent``:
        "admitted" for a token handed out for the session (and, where the proxy wants it, the
        session's own ID, to the letter); "expired" for such a token past its time; "refused"
        for anything else."""
        token = sent.get("x-aws-proxy-auth", "")
        sent_id = sent.get(session.id_header, "") if session.id_header else session.id
        with self._lock:
            expires = next((when for known, when in session.tokens.items()
                            if hmac.compare_digest(token.encode(), known.encode())), None)
        if expires is None or not hmac.compare_digest(sent_id.encode(), session.id.encode()):
            return "refused"
        return "admitted" if time.time() < expires else "expired"

    def _find(self, cluster_id: str, session_id: Any) -> Session:
        session = self.lookup(cluster_id, session_id)
        if session is None:
            raise _invalid(f"Session {session_id} was not found on cluster {cluster_id}.")
        return session

    def _set(self, session: Session, state: str, reason: str = "") -> None:
        """A session over stays over, and one TERMINATING only ends: a TerminateSession while
        it starts wins over its start (which used to bring it back to IDLE)."""
        with self._lock:
            if session.state in ENDED_STATES or (session.state == "TERMINATING"
                                                 and state not in ENDED_STATES):
                return
            session.state, session.updated = state, time.time()
            if reason:
                session.reason = reason
            if state == "STARTED":
                session.started = session.updated
            if state == "IDLE":
                session.idle_since = session.updated
            if state in ENDED_STATES:
                session.ended = session.updated
        log.info("session %s on %s: %s %s", session.id, session.cluster_id, state, reason)

    def _busy(self, session: Session, busy: bool) -> None:
        if session.state in ("IDLE", "BUSY", "STARTED"):
            self._set(session, "BUSY" if busy else "IDLE")

    def _run(self, session: Session, environment: Callable[[], dict[str, str]]) -> None:
        """The session's life: its server started as the role, then its front; FAILED with the
        reason when either cannot start."""
        try:
            self._set(session, "STARTING")
            session.process = self._launch(session, environment)
            port = _wait_ready(session.process, self.settings.start_timeout,
                               self._log_path(session))
            session.front = self._front(session, port)
            self._set(session, "STARTED")
            self._set(session, "IDLE")
        except Exception as exc:  # the session fails; the emulator goes on
            log.warning("session %s failed to start: %s", session.id, exc)
            self._stop(session, "FAILED", f"The session failed to start: {exc}")
            return
        if session.state in ("TERMINATING", *ENDED_STATES):  # terminated while it started
            self._stop(session, "TERMINATED")
            return
        threading.Thread(target=self._watch_server, args=(session,), daemon=True).start()

    def _log_path(self, session: Session) -> Path:
        return self.settings.log_dir / f"{session.id}.log"

    def _launch(self, session: Session,
                environment: Callable[[], dict[str, str]]) -> subprocess.Popen[str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        env.update(environment())
        conf = [f"{key}={value}" for configuration in session.configurations
                for key, value in (configuration.get("Properties") or {}).items()]
        self.settings.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self._log_path(session), "wb") as log_file:
            return subprocess.Popen(
                [sys.executable, "-m", "jupyter_emr_roles.local.connect.server",
                 "--name", f"emr-session-{session.id}",
                 *(argument for item in conf for argument in ("--conf", item))],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log_file, env=env,
                text=True, start_new_session=True)

    def _front(self, session: Session, port: int) -> Any:
        from .front import Activity, SessionFront, refused

        if self.settings.tls is None:
            raise RuntimeError("the emulator serves session endpoints over TLS only; start it "
                               "with --aws-tls (or --strict)")
        return SessionFront(port, self.settings.tls, lambda sent: self.check(session, sent),
                            Activity(lambda busy: self._busy(session, busy)),
                            refused(session.id_header))

    def _watch_server(self, session: Session) -> None:
        """A server that exits on its own fails its session, as a dead driver does on EMR."""
        assert session.process is not None
        code = session.process.wait()
        if session.state not in ("TERMINATING", *ENDED_STATES):
            self._stop(session, "FAILED", f"The Spark Connect server exited with code {code}.")

    def _stop(self, session: Session, state: str, reason: str = "") -> None:
        if session.front is not None:
            session.front.close()
        process = session.process
        if process is not None and process.poll() is None:
            _end_process(process)
        with self._lock:
            session.tokens.clear()
        self._set(session, state, reason)

    def _reap(self) -> None:
        """Sessions idle longer than their idle timeout, or alive longer than the maximum
        lifetime, are terminated, with which of the two as the reason."""
        while not self._closed.wait(1):
            for session, reason in self._expired(time.time()):
                self._set(session, "TERMINATING", reason)
                self._stop(session, "TERMINATED")

    def _expired(self, now: float) -> list[tuple[Session, str]]:
        lifetime = self.settings.max_lifetime
        with self._lock:
            live = [s for s in self._sessions.values() if s.state in LIVE_STATES]
        ended = []
        for session in live:
            if session.started and now - session.started > lifetime:
                ended.append((session, f"Session reached its maximum lifetime of "
                                       f"{_duration(lifetime)}."))
            elif session.state == "IDLE" and session.idle_since \
                    and now - session.idle_since > session.idle_minutes * session.minute:
                ended.append((session, f"Session idle for more than {session.idle_minutes} "
                                       "minutes."))
        return ended


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:g} hours" if seconds >= 3600 else f"{seconds:g} seconds"


def _wait_ready(process: subprocess.Popen[str], timeout: float, log_path: Path) -> int:
    """The port from the server's ready line, within ``timeout`` seconds; a server that exits
    first is reported with the last error its log holds, so the session's reason says why."""
    stdout: IO[str] | None = process.stdout
    assert stdout is not None
    readable, _, _ = select.select([stdout], [], [], timeout)
    if not readable:
        raise RuntimeError(f"the Spark Connect server did not start within {timeout:g} s")
    line = stdout.readline()
    try:
        return int(json.loads(line)["port"])
    except (ValueError, KeyError, TypeError):
        code = process.wait()
        raise RuntimeError(f"the Spark Connect server exited with code {code} before it was "
                           f"ready{_last_error(log_path)}") from None


def _last_error(log_path: Path) -> str:
    """``: <the log's last error line>``, or nothing when the log names none."""
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    errors = [line.strip() for line in lines
              if "Error" in line or "Exception" in line or line.startswith("ERROR")]
    return f": {errors[-1]}" if errors else ""


def _end_process(process: subprocess.Popen[str]) -> None:
    """Close the server's standard input (it stops Spark), then kill it if it lingers."""
    try:
        if process.stdin is not None:
            process.stdin.close()
        process.wait(timeout=15)
    except (OSError, subprocess.TimeoutExpired):
        process.kill()
        process.wait()
