"""The one module that imports sparkmagic: the Livy engine's sessions, handed to sparkmagic.

The session is created through the session manager of the sparkmagic magics
already living in the IPython shell (``%%spark``, ``%%sql``, ``%spark info``,
``%manage_spark`` and, in sparkmagic's wrapper kernels, every plain cell), so
those magics see it and clean it up like one of their own. What differs from
``%spark add``:

- the authenticator holds no password and builds no widget (sparkmagic's Basic
  keeps the password in an ipywidget whose state can be saved in the
  notebook); it asks a :class:`Signer` for the login of every request (EMR's Livy login,
  or SigV4 on a Serverless Livy endpoint, the custom-authenticator way AWS's own client
  takes), and tells it how Livy answered, which sends the request again while a fresh
  login propagates or a renewed one is tried;
- TLS is verified against Livy's own CA bundle, always given as a path
  (requests lets ``REQUESTS_CA_BUNDLE`` replace ``verify=True``, never a path);
- the start is ours: the session's POST is the first request (its failures
  each one paragraph), progress while Livy starts the session, and one
  deadline of the user's choosing for all of it, the first statement included;
- the heartbeat thread stops at once when the session is deleted (sparkmagic's
  sleeps out its refresh interval first, so every delete took up to 30 s).
"""

from __future__ import annotations

import copy
import json
import logging
import secrets
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
import sparkmagic.utils.configuration as conf
import sparkmagic.utils.constants as constants
from sparkmagic.auth.customauth import Authenticator
from sparkmagic.livyclientlib.endpoint import Endpoint
from sparkmagic.livyclientlib.exceptions import HttpClientException, LivyClientLibException
from sparkmagic.livyclientlib.livyreliablehttpclient import LivyReliableHttpClient
from sparkmagic.livyclientlib.livysession import LivySession
from sparkmagic.magics.sparkmagicsbase import SparkMagicBase
from urllib3.exceptions import InsecureRequestWarning, NewConnectionError

from . import resilience
from ..base import ENDED, GONE, Progress
from ...errors import LivyError, LivyUnreachable
from ...polling import CONNECT_POLLS

log = logging.getLogger(__name__)

# The request's languages (connect_request.LANGUAGES) in sparkmagic's words. sparkmagic has no
# SQL session kind (Livy's "sql" kind is not one of its languages): an SQL session is a PySpark
# session, made for sparkmagic's %%sql cells.
SPARKMAGIC_LANGUAGES = {"python": constants.LANG_PYTHON, "scala": constants.LANG_SCALA,
                        "r": constants.LANG_R, "sql": constants.LANG_PYTHON}
_REJECTED = (401, 403)
_PROBE_TIMEOUT = 15
_FORGOTTEN = "Livy no longer knows it (Livy restarted, or an administrator deleted it)"
_CONNECT_TIMEOUT = 10
# Livy answers every request at once (a statement is queued, not run, by its POST): a read
# this long is a hung connection.
_READ_TIMEOUT = 60
_LOG_TAIL = 15
_STATEMENT_DONE = ("available", "error", "cancelled")


def _keep_other_loggers() -> None:
    """sparkmagic runs ``logging.config.dictConfig`` for every logger it makes; without
    ``disable_existing_loggers: false`` that silences every logger created before, ours included."""
    config = conf.logging_config()
    if config.get("disable_existing_loggers", True):
        conf.override(conf.logging_config.__name__, {**config, "disable_existing_loggers": False})
    for name, logger in logging.root.manager.loggerDict.items():
        if isinstance(logger, logging.Logger) and name.startswith(__package__ or "jupyter_emr_roles"):
            logger.disabled = False


_keep_other_loggers()


class LoginUnusable(HttpClientException):
    """Raised from the authenticator when no login can be sent (Livy refused the renewed one
    for this session): sparkmagic shows an HttpClientException as its message alone."""


class Signer(Protocol):
    """What signs a session's requests: EMR's Livy login as HTTP Basic (``LivyCredentials``),
    or SigV4 with the caller's own refreshing keys on a Serverless Livy endpoint
    (``signed.SignedRequests``). A login is whatever ``for_request`` hands out and ``sign``
    puts on the request; none is ever kept beyond the request."""

    on_renewed: Callable[[], None]

    @property
    def expires_at(self) -> datetime | None:
        """When the login in use runs out (renewed before it does)."""

    def for_request(self) -> Any:
        """The login to send now."""

    def sign(self, request: requests.PreparedRequest, login: Any) -> None:
        """Put ``login`` on ``request``."""

    def after_response(self, login: Any, status: int) -> Any | None:
        """The login to send the request again with, or None to take the answer."""

    def refusal(self, url: str, status: int, text: str) -> str:
        """The paragraph for a POST /sessions that Livy refused (401 or 403)."""


class LivyAuth(Authenticator):
    """The session's current login on every request; the request is sent again as the
    signer says while Livy refuses a login that is propagating or being tried.

    It holds a reference to the signer only, never a password or a key, and compares by
    identity: sparkmagic caches HTTP clients by endpoint, and two sessions on one Livy URL
    under different roles must never share one.
    """

    def __init__(self, url: str, credentials: Signer) -> None:
        # Authenticator.__init__ is not called: it builds ipywidgets.
        self.url = url
        self.credentials = credentials
        self.widgets: list[Any] = []

    def get_widgets(self, widget_width: str) -> list[Any]:
        return []

    def update_with_widget_values(self) -> None:
        """Nothing to read: the login comes from GetClusterSessionCredentials, not a form."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        try:
            login = self.credentials.for_request()
        except LivyError as exc:
            raise LoginUnusable(str(exc)) from None
        self.credentials.sign(request, login)
        request.register_hook("response", lambda response, **kwargs:
                              self._resend_while_refused(response, login, **kwargs))
        return request

    def _resend_while_refused(self, response: requests.Response, login: Any,
                              **kwargs: Any) -> requests.Response:
        while True:
            again = self.credentials.after_response(login, response.status_code)
            if again is None:
                return response
            log.info("Livy answered %d; sending the request again", response.status_code)
            response.content  # noqa: B018  read it, so the connection can be reused
            response.close()
            retry = response.request.copy()
            retry.hooks = {"response": []}
            self.credentials.sign(retry, again)
            resent = response.connection.send(retry, **kwargs)
            resent.history.append(response)
            resent.request = retry
            response, login = resent, again

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"LivyAuth(url={self.url!r}, credentials={self.credentials!r})"


class LivyFault(HttpClientException):
    """Livy kept failing past the fault budget, or a lost answer cannot be settled: one
    paragraph, shown by sparkmagic's cells as its message alone."""


class SessionGone(LivyFault):
    """The session ended under the notebook (its cluster terminated, Livy restarted, an admin
    deleted it): why, and the %connect line that opens a new one; ``reason`` is the why
    alone."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class _NeverAgain:
    """sparkmagic's retry policy shape, retrying nothing: sparkmagic would send a POST again
    on any 5xx (a cell run twice) and never retries a dropped connection; the client below
    decides instead (``resilience``)."""

    @staticmethod
    def should_retry(status: int | None, error: bool, retry_count: int) -> bool:
        return False

    @staticmethod
    def seconds_to_sleep(retry_count: int) -> float:
        return 0.0


class _LivyClient(LivyReliableHttpClient):
    """sparkmagic's Livy client with reads retried through faults and POSTs acted on once
    (``resilience``), every request with a timeout (sparkmagic's have none, so a hung Livy
    hung the cell). It keeps the appInfo of Livy's latest answer about each session (every
    poll brings one), so showing a session's links costs no request of its own, and the last
    statement ID it saw per session, which tells a lost statement's answer from an older
    one."""

    def __init__(self, endpoint: Endpoint) -> None:
        base = LivyReliableHttpClient.from_endpoint(endpoint)
        super().__init__(base._http_client, base.endpoint)
        base._http_client._retry_policy = _NeverAgain()
        self.app_info: dict[int, dict[str, Any]] = {}
        self.last_statement: dict[int, int] = {}
        self.target: LivyTarget | None = None

    def get_session(self, session_id: int) -> Any:
        path = self._session_url(session_id)
        answer = self._answer("GET", path, f"reading Livy session {session_id}")
        if answer.status == 404:
            raise self.gone(session_id)
        return self.seen(session_id, self._accepted(answer, (200,), path))

    def get_sessions(self) -> Any:
        return self._read("/sessions", (200,), "listing Livy sessions")

    def get_statement(self, session_id: int, statement_id: int) -> Any:
        return self._read(self._statement_url(session_id, statement_id), (200,),
                          f"reading statement {statement_id} of Livy session {session_id}")

    def get_all_session_logs(self, session_id: int) -> Any:
        return self._read(self._session_url(session_id) + "/log?from=0", (200,),
                          f"reading the log of Livy session {session_id}")

    def delete_session(self, session_id: int) -> None:
        self._read(self._session_url(session_id), (200, 404),
                   f"deleting Livy session {session_id}", method="DELETE")

    def state_of(self, session_id: int) -> str:
        """Livy's word on the session now: its state, or :data:`GONE` where Livy forgot it."""
        answer = self._answer("GET", self._session_url(session_id),
                              f"reading Livy session {session_id}")
        if answer.status == 404:
            return GONE
        return str(self.seen(session_id, answer.json()).get("state"))

    def post_statement(self, session_id: int, data: dict[str, Any]) -> Any:
        code, known = data.get("code"), self.last_statement.get(session_id, -1)

        def taken() -> resilience.Answer | None:
            listed = self._read(self._statements_url(session_id), (200,),
                                f"listing the statements of Livy session {session_id}")
            mine = [s for s in listed.get("statements") or []
                    if s.get("id", -1) > known and s.get("code") == code]
            return resilience.Answer(201, json.dumps(mine[0])) if mine else None

        answer = self._post(self._statements_url(session_id), data, taken,
                            f"sending a statement to Livy session {session_id}")
        if answer.status == 404:
            raise self.gone(session_id)
        statement = self._accepted(answer, (201,), self._statements_url(session_id))
        self.last_statement[session_id] = max(known, int(statement["id"]))
        return statement

    def post_session(self, properties: dict[str, Any], key: str | None = None) -> Any:
        answer = self._post("/sessions", properties, lambda: self.find_session(key),
                            "starting a Livy session")
        if key and _landed(answer.status, answer.text):
            answer = self.find_session(key) or answer
        return self._accepted(answer, (201,), "/sessions")

    def find_session(self, key: str | None) -> resilience.Answer | None:
        """The session a POST made, by the unique name ``key`` it carried; without one (a name
        the user chose may be another session's) Livy's list cannot tell it from the caller's
        others, so the connect stops there."""
        if not key:
            raise LivyFault("The answer to the session's POST was lost, and the session's "
                            "name is the one the session settings give, which another session "
                            "may have, so it cannot be found by it: Livy may have started a "
                            "session that nothing will use, which ends at Livy's session "
                            "timeout. Connect again (without a name in the settings, a lost "
                            "answer is found).")
        start = 0
        while True:
            page = self._read(f"/sessions?from={start}&size=100", (200,), "listing Livy sessions")
            sessions = page.get("sessions") or []
            found = [s for s in sessions if s.get("name") == key]
            if found:
                return resilience.Answer(201, json.dumps(found[0]))
            if not sessions:
                return None
            start += len(sessions)

    def cancel_statement(self, session_id: int, statement_id: int) -> Any:
        path = f"{self._statement_url(session_id, statement_id)}/cancel"
        return self._read(path, (200,), f"cancelling statement {statement_id}", method="POST")

    def _read(self, path: str, accepted: tuple[int, ...], what: str,
              method: str = "GET") -> Any:
        return self._accepted(self._answer(method, path, what), accepted, path)

    def gone(self, session_id: int | None, reason: str | None = None) -> SessionGone:
        """The session is gone: why (its place's end where the service says so, a cluster's
        StateChangeReason; else Livy forgot it), and the line that opens a new one."""
        target = self.target
        reason = reason or (target.gone() if target else None) or _FORGOTTEN
        again = f" {target.again} opens a new one." if target and target.again else ""
        which = f"Livy session {session_id}" if session_id is not None else "The Livy session"
        return SessionGone(f"{which} is gone: {reason}.{again}", reason)

    def _check_place(self) -> None:
        """While Livy keeps failing: stop retrying where the session's place is gone."""
        reason = self.target.gone() if self.target else None
        if reason:
            raise self.gone(None, reason)

    def _answer(self, method: str, path: str, what: str) -> resilience.Answer:
        try:
            return resilience.read(self._send, method, path, what, check=self._check_place)
        except LivyError as exc:
            raise LivyFault(str(exc)) from None

    def _post(self, path: str, body: Any, taken: Callable[[], resilience.Answer | None],
              what: str) -> resilience.Answer:
        try:
            return resilience.post_once(self._send, path, body, taken, what,
                                        check=self._check_place)
        except LivyError as exc:
            raise LivyFault(str(exc)) from None

    def _accepted(self, answer: resilience.Answer, accepted: tuple[int, ...], path: str) -> Any:
        """The answer's JSON, or sparkmagic's own words for an unexpected status."""
        if answer.status not in accepted:
            raise HttpClientException(f"Invalid status code '{answer.status}' from "
                                      f"{self._http_client.compose_url(path)} with error "
                                      f"payload: {answer.text[:500]}")
        return answer.json() if answer.text.strip() else {}

    def _send(self, method: str, path: str, body: Any) -> requests.Response:
        """One request through sparkmagic's HTTP session (its adapters, its login), with a
        timeout."""
        client = self._http_client
        return client._session.request(
            method, client.compose_url(path), headers=client.get_headers(), auth=client._auth,
            data=None if body is None else json.dumps(body), verify=client.verify_ssl,
            timeout=(_CONNECT_TIMEOUT, _READ_TIMEOUT))

    def seen(self, session_id: int, answer: Any) -> Any:
        """Keep the appInfo of an answer about the session; the answer itself is returned."""
        self.app_info[session_id] = answer.get("appInfo") or {}
        return answer


def livy_state(session: LivySession) -> str:
    """The session's state as Livy says it now, ``gone`` when Livy no longer knows it (deleted
    behind our back, or forgotten after it died)."""
    return str(session.http_client.state_of(session.id))


class _Heartbeat(threading.Thread):
    """sparkmagic's heartbeat contract (``daemon``, ``start``, ``stop``) with a stop that does
    not wait out the refresh interval, and a call of ``on_change`` when the session's state
    changes (a session that died says so without anybody asking)."""

    def __init__(self, refresh_seconds: float, retry_seconds: float) -> None:
        super().__init__(name="jupyter-emr-roles-heartbeat", daemon=True)
        self.refresh_seconds = refresh_seconds
        self.retry_seconds = retry_seconds
        self.livy_session: LivySession | None = None
        self.on_change: Callable[[], None] = lambda: None
        self.ended = ""  # why the session is gone, once a refresh found its place gone
        self._attached = threading.Event()
        self._stopped = threading.Event()

    def attach(self, session: LivySession) -> None:
        self.livy_session = session
        self._attached.set()

    def run(self) -> None:
        """Refresh ``refresh_seconds`` apart, the first after that long: while the session
        starts, the connect itself polls it."""
        self._attached.wait()
        wait = self.refresh_seconds
        while not self._stopped.wait(wait):
            session = self.livy_session
            if session is None:
                return
            wait, before = self.refresh_seconds, session.status
            try:
                session.status = livy_state(session)
            except SessionGone as gone:  # its place is gone for good: nothing more to ask
                session.status, self.ended = ENDED, gone.reason
                self.on_change()
                return
            except Exception as exc:  # noqa: BLE001  a failed refresh is retried, as sparkmagic does
                log.debug("heartbeat of Livy session %s failed: %s", session.id, exc)
                wait = self.retry_seconds
            if session.status != before:
                self.on_change()

    def stop(self) -> None:
        self._stopped.set()
        self._attached.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join()


def spark_magics(shell: Any) -> Any:
    """The sparkmagic magics object of this shell, loading ``sparkmagic.magics`` if none is.

    In sparkmagic's wrapper kernels (PySpark, Spark) it is their KernelMagics."""
    found = _registered_spark_magics(shell)
    if found is None:
        shell.extension_manager.load_extension("sparkmagic.magics")
        _keep_other_loggers()
        found = _registered_spark_magics(shell)
    return found


def _registered_spark_magics(shell: Any) -> Any:
    """By base class, not name: ipykernel has a ``KernelMagics`` of its own."""
    return next((magics for magics in shell.magics_manager.registry.values()
                 if isinstance(magics, SparkMagicBase)), None)


@dataclass(frozen=True)
class Fixes:
    """What to do when Livy's certificate does not verify, and when Livy cannot be reached
    (``{port}`` its port): a cluster's Livy and an application's endpoint differ in both."""

    tls: str = ("Give the PEM file of the CA that signed the cluster's certificate with "
                "--ca-bundle PATH or JUPYTER_EMR_ROLES_CA_BUNDLE (AWS_CA_BUNDLE is for AWS "
                "only); --no-verify works too but lets anyone in the network path read your "
                "session.")
    network: str = ("Check that the cluster's primary node security group allows inbound TCP "
                    "{port} from this notebook's network, and that Livy runs on the cluster.")


@dataclass(frozen=True)
class LivyTarget:
    """Where and how to start a session: Livy's URL, what verifies its certificate (a path, or
    False), whether plain HTTP was the user's explicit choice, the session's language and
    settings, the monotonic deadline of the whole connect and its length in seconds, and what
    to do when Livy cannot be reached or trusted."""

    url: str
    verify: str | bool
    language: str
    config: dict[str, Any]
    deadline: float
    timeout: float
    insecure_http: bool = False
    fixes: Fixes = Fixes()
    # Why the session's place is gone for good (a terminated cluster, with EMR's reason), or
    # None while it stands; and the %connect line that opens a new session.
    gone: Callable[[], str | None] = lambda: None
    again: str = ""


class LivyHandle:
    """A Livy session, seen through sparkmagic: the engine session of the Livy engine.

    sparkmagic's session manager is the registry of record once the session is registered:
    ``%spark delete`` and ``%spark cleanup`` remove sessions from it without telling us, so a
    handle asks it whether it is still there rather than keeping its own word for it."""

    kind = "Livy"
    _reason = ""

    @property
    def reason(self) -> str:
        """Why the session ended, as its state or its heartbeat last found it."""
        return self._reason or getattr(self.session._heartbeat_thread, "ended", "")

    def __init__(self, magics: Any, name: str, session: LivySession, target: LivyTarget,
                 credentials: Signer) -> None:
        self._magics = magics
        self._target = target
        self._credentials = credentials
        self.name = name
        self.session = session
        self.id: int = session.id

    @property
    def last_state(self) -> str:
        return str(self.session.status)

    @property
    def credentials_expire(self) -> datetime | None:
        return self._credentials.expires_at

    def watch(self, on_change: Callable[[], None]) -> None:
        heartbeat = self.session._heartbeat_thread
        if isinstance(heartbeat, _Heartbeat):
            heartbeat.on_change = on_change
        self._credentials.on_renewed = on_change

    def state(self) -> str:
        try:
            self.session.status = livy_state(self.session)
        except SessionGone as exc:
            self._reason, self.session.status = exc.reason, ENDED
        except (LivyClientLibException, requests.RequestException) as exc:
            log.debug("could not refresh Livy session %s: %s", self.id, exc)
            return f"unknown ({type(exc).__name__})"
        return self.session.status

    def statement(self, code: str, deadline: float) -> str:
        """Polled here rather than with sparkmagic's Command, whose first poll waits 0.2 s."""
        http, session = self.session.http_client, self.session
        wait = CONNECT_POLLS.start(deadline, lambda elapsed: _late(
            session, f"Livy session {self.id} started, but its statement `{code}` did not "
            f"finish within {self._target.timeout:g} s", "may be busy"))
        statement = _livy(f"running `{code}` in Livy session {self.id}",
                          lambda: http.post_statement(session.id, {"code": code}))
        while statement.get("state") not in _STATEMENT_DONE:
            wait.again()
            statement = _livy(f"polling a statement of Livy session {self.id}",
                              lambda: http.get_statement(session.id, statement["id"]))
        output = statement.get("output") or {}
        if output.get("status") != "ok":
            reason = f"{output.get('ename', statement.get('state'))}: {output.get('evalue', '')}"
            raise LivyError(f"Livy session {self.id} started but `{code}` does not evaluate in "
                            f"it ({reason[:300]}). The end of its log: {_log_tail(session)}")
        return str((output.get("data") or {}).get("text/plain", ""))

    def whereabouts(self) -> dict[str, Any]:
        """Livy's URL and what verifies its certificate (a path, or False): no login."""
        return {"url": self._target.url, "verify": self._target.verify}

    def links(self) -> dict[str, str]:
        """Spark UI and driver log URLs, when Livy reports them, as its latest answer about the
        session gave them (Livy is asked only if none came yet)."""
        http = self.session.http_client
        if self.id not in http.app_info:
            try:
                http.get_session(self.id)
            except (LivyClientLibException, requests.RequestException):
                return {}
        info = http.app_info[self.id]
        return {label: info[key] for label, key in (("Spark UI", "sparkUiUrl"),
                                                    ("driver log", "driverLogUrl")) if info.get(key)}

    def register(self) -> None:
        """Into sparkmagic's session manager; in a wrapper kernel it also becomes the kernel's
        session, so plain cells run in it."""
        self.session.sql_context_variable_name = "spark"
        self._manager().add_session(self.name, self.session)
        if hasattr(self._magics, "session_started"):
            self._magics.session_name = self.name
            self._magics.session_started = True

    def registered(self) -> bool:
        return self._manager().sessions.get(self.name) is self.session

    def forget(self) -> None:
        if self.registered():
            del self._manager().sessions[self.name]
        if getattr(self._magics, "session_name", None) == self.name:
            self._magics.session_started = False
        self.session._stop_heartbeat_thread()

    def close(self) -> None:
        self.forget()
        _delete_quietly(self.session)

    def _manager(self) -> Any:
        return self._magics.spark_controller.session_manager


class Posted:
    """A session's POST sent ahead, on a thread of its own, while the connect still reads the
    application (a repeat connect's; see ``Engine.early``): the client it used and Livy's
    answer, handed to :func:`start_session` by ``adopt``, or the session deleted again by
    ``discard`` when the connect does not use it. Where the POST fails (Livy made no session
    that its unique name finds), the connect posts as usual, with its own messages."""

    def __init__(self, target: LivyTarget, credentials: Signer, name: str) -> None:
        check_scheme(target)
        self.target = target
        self.credentials = credentials
        self.http = _client(target, credentials)
        # Named as every session's POST is, so an answer lost here is found, not posted again.
        key = _session_key(name)
        self.properties = _properties(target.language, target.config, key)
        self.answer: dict[str, Any] | None = _post_session(self.http, target, self.properties,
                                                           key)
        self._lock = threading.Lock()

    def adopt(self) -> dict[str, Any] | None:
        """Livy's answer, now the connect's to use (and delete on failure); None twice."""
        with self._lock:
            answer, self.answer = self.answer, None
        return answer

    def discard(self) -> None:
        answer = self.adopt()
        if answer is not None:
            log.info("deleting Livy session %s, posted ahead and not used", answer["id"])
            _livy(f"deleting Livy session {answer['id']}",
                  lambda: self.http.delete_session(answer["id"]))


def delete_left(whereabouts: dict[str, Any], session_id: str, credentials: Signer) -> bool:
    """DELETE a session another process left, at the Livy URL its ledger gives: True where
    Livy had it, False where it had forgotten it already."""
    url = str(whereabouts.get("url") or "")
    verify = whereabouts.get("verify", True)
    if not url.startswith(("https://", "http://")):
        raise LivyError(f"The session ledger gives no Livy URL for session {session_id}.")
    try:
        with requests.Session() as http:
            response = http.delete(f"{url}/sessions/{session_id}", auth=LivyAuth(url, credentials),
                                   verify=verify if isinstance(verify, (str, bool)) else True,
                                   timeout=(_CONNECT_TIMEOUT, _READ_TIMEOUT))
    except requests.RequestException as exc:
        raise LivyError(f"Livy at {url} could not be reached to delete session {session_id} "
                        f"({_reason(exc)}); try again once it answers.") from None
    if response.status_code in _REJECTED:
        raise LivyError(credentials.refusal(url, response.status_code, response.text))
    if response.status_code not in (200, 404):
        raise LivyError(f"Livy at {url} did not delete session {session_id} (HTTP "
                        f"{response.status_code}: {response.text[:200]}).")
    return response.status_code == 200


def check_scheme(target: LivyTarget) -> None:
    if urlsplit(target.url).scheme != "https" and not target.insecure_http:
        raise LivyError(f"Refusing to send Livy credentials to {target.url}: only https is used.")


def _client(target: LivyTarget, credentials: Signer) -> _LivyClient:
    http = _LivyClient(Endpoint(target.url, LivyAuth(target.url, credentials)))
    http.target = target
    http._http_client.verify_ssl = target.verify  # sparkmagic passes it to requests as ``verify``
    return http


def start_session(shell: Any, name: str, target: LivyTarget, credentials: Signer,
                  progress: Progress, posted: Posted | None = None) -> LivyHandle:
    """Start a Livy session and wait until it is idle; registering it is the caller's next step.
    ``posted``: the session's POST sent ahead, used where Livy made the session.

    On any failure after Livy created the session, the session is deleted again."""
    check_scheme(target)
    magics = spark_magics(shell)
    answer = posted.adopt() if posted is not None else None
    if posted is not None and answer is not None:
        http, properties, credentials = posted.http, posted.properties, posted.credentials
    else:
        http = _client(target, credentials)
        key = _session_key(name)
        properties = _properties(target.language, target.config, key)
        answer = _post_session(http, target, properties, key)
    try:
        session = _attach(http, properties, magics.ipython_display, answer)
    except BaseException:
        _livy(f"deleting Livy session {answer['id']}", lambda: http.delete_session(answer["id"]))
        raise
    try:
        _wait_until_idle(session, target, progress)
    except BaseException:
        _delete_quietly(session)
        raise
    return LivyHandle(magics, name, session, target, credentials)


def allow_unverified(url: str) -> None:
    """With --no-verify the user was warned once per connect; do not repeat it on every request."""
    host = urlsplit(url).hostname or ""
    warnings.filterwarnings("ignore", category=InsecureRequestWarning,
                            message=f".*host '{host}'")


def _post_session(http: _LivyClient, target: LivyTarget, properties: dict[str, Any],
                  key: str | None = None) -> dict[str, Any]:
    """The session's POST, sent first by us, so TLS, network and login problems get their own
    message instead of "Error sending http request", with no request before it (a probe cost
    a round trip per connect). While EMR propagates the fresh login, the credentials send it
    again (up to 15 s). Where the answer was lost (a 5xx, a dropped connection) or Livy says
    the name is taken (the lost POST landed after all), the session is looked for by ``key``,
    the unique name the POST gave it, and the POST sent again only where Livy made none: one
    connect, one session. A name the user chose is no key (another session may have it)."""
    response = _send_post(http, target, properties)
    if response is not None and response.status_code in _REJECTED:
        raise LivyError(http._http_client._auth.credentials.refusal(
            target.url, response.status_code, response.text))
    if response is not None and response.status_code == 201:
        answer: dict[str, Any] = response.json()
        return answer
    key = key if key is not None and properties.get("name") == key else None
    if response is not None and response.status_code not in resilience.UNKNOWN_OUTCOME and not (
            key is not None and _landed(response.status_code, response.text)):
        return dict(_livy(f"starting a Livy session at {target.url}", lambda: http._accepted(
            resilience.Answer(response.status_code, response.text), (201,), "/sessions")))
    found = _livy(f"finding the Livy session just started at {target.url}",
                  lambda: http.find_session(key))
    if found is not None:
        return dict(found.json())
    return dict(_livy(f"starting a Livy session at {target.url}",
                      lambda: http.post_session(properties, key)))


def _landed(status: int, text: str) -> bool:
    """Livy's answer to a named session's POST sent again: the name is taken, so the POST
    whose answer was lost landed after all."""
    return status == 400 and "Duplicate session name" in text


def _session_key(name: str) -> str:
    """A Livy session name no other session has: Livy refuses a second live session of one
    name, which makes it the POST's idempotency key."""
    return f"{name}-{secrets.token_hex(4)}"


def _send_post(http: LivyReliableHttpClient, target: LivyTarget,
               properties: dict[str, Any]) -> requests.Response | None:
    """POST /sessions through sparkmagic's own HTTP session (its adapters, and the connection
    its polls reuse), each failure to reach Livy as one paragraph; None where the request
    went out and its answer was lost (Livy may have made the session, so no other name is
    tried)."""
    url, client = target.url, http._http_client
    parts = urlsplit(url)
    timeout = max(1.0, min(_PROBE_TIMEOUT, target.deadline - time.monotonic()))
    try:
        return client._session.post(url + "/sessions", data=json.dumps(properties),
                                    headers=client.get_headers(), auth=client._auth,
                                    verify=target.verify, timeout=timeout)
    except requests.exceptions.SSLError as exc:
        raise LivyError(f"The TLS certificate of Livy at {url} could not be verified "
                        f"({_reason(exc)}). {target.fixes.tls}") from None
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        if not _never_sent(exc):
            log.info("the answer to the session's POST at %s was lost: %s", url, _reason(exc))
            return None
        raise LivyUnreachable(f"Livy at {parts.hostname} port {parts.port} could not be "
                              f"reached ({_reason(exc)}). "
                              f"{target.fixes.network.format(port=parts.port)}") from None


def _never_sent(exc: Exception) -> bool:
    """Whether the request never left: no connection was made (refused, no route, a name that
    does not resolve, a connect timeout), as opposed to an answer lost on the way back."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, NewConnectionError):
            return True
        reason = getattr(cause, "reason", None)
        cause = reason if isinstance(reason, BaseException) else (
            cause.args[0] if cause.args and isinstance(cause.args[0], BaseException)
            else cause.__context__)
    return False


def _reason(exc: Exception) -> str:
    """The innermost cause of a requests exception, without the wrapping reprs."""
    return str(resilience.innermost(exc))[:300]


def _properties(language: str, config: dict[str, Any],
                session_key: str | None = None) -> dict[str, Any]:
    """sparkmagic's session_configs for the language, with the cell's JSON on top, and
    ``session_key`` as the session's name where neither names it."""
    properties = conf.get_session_properties(SPARKMAGIC_LANGUAGES[language])
    for key, value in copy.deepcopy(config).items():
        if isinstance(value, dict) and isinstance(properties.get(key), dict):
            properties[key] = {**properties[key], **value}
        else:
            properties[key] = value
    if session_key is not None and not properties.get("name"):
        properties["name"] = session_key
    heartbeat = conf.livy_server_heartbeat_timeout_seconds()
    if heartbeat > 0:
        properties[constants.LIVY_HEARTBEAT_TIMEOUT_PARAM] = heartbeat
    return properties


def _livy(what: str, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except LivyClientLibException as exc:
        raise LivyError(f"Livy failed when {what}: {exc}") from None


def _attach(http: LivyReliableHttpClient, properties: dict[str, Any], display: Any,
            answer: dict[str, Any]) -> LivySession:
    """sparkmagic's LivySession for a session Livy already created (``answer`` is Livy's answer
    to the POST), with our heartbeat, in the state that answer gave."""
    heartbeat = _Heartbeat(conf.heartbeat_refresh_seconds(), conf.heartbeat_retry_seconds())
    session = LivySession(http, properties, display, session_id=answer["id"],
                          heartbeat_timeout=conf.livy_server_heartbeat_timeout_seconds(),
                          heartbeat_thread=heartbeat)
    heartbeat.attach(session)
    if not session._should_heartbeat:
        # sparkmagic runs no heartbeat unless Livy's heartbeat timeout is set; ours runs
        # anyway, so a session that dies is seen (refresh_seconds apart) without a cell.
        session._heartbeat_thread = heartbeat
        heartbeat.start()
    session.status = str(answer.get("state") or constants.STARTING_SESSION_STATUS)
    return session


def _wait_until_idle(session: LivySession, target: LivyTarget, progress: Progress) -> None:
    """Until Livy says idle; the first look is the POST's answer, as a careful client's is."""
    wait = CONNECT_POLLS.start(target.deadline, lambda elapsed: _late(
        session, f"Livy session {session.id} was still '{session.status}' after "
        f"{target.timeout:g} s", "may be short of resources (YARN queue full)"))
    while True:
        progress(wait.elapsed, f"Livy session {session.status}")
        if session.status == constants.IDLE_SESSION_STATUS:
            return
        if session.status in constants.FINAL_STATUS:
            raise LivyError(f"Livy session {session.id} ended as '{session.status}' while "
                            f"starting. The end of its log: {_log_tail(session)}")
        wait.again()
        _livy(f"polling Livy session {session.id}", session.refresh_status_and_info)


def _late(session: LivySession, stuck: str, cause: str) -> LivyError:
    """Past the connect's deadline: one paragraph with what was stuck, its likely cause and the
    end of the session's log (the connect deletes the session)."""
    return LivyError(f"{stuck}, so the session was deleted. The cluster {cause}; try again "
                     f"with a longer --timeout. The end of its log: {_log_tail(session)}")


def _log_tail(session: LivySession) -> str:
    try:
        lines = session.http_client.get_all_session_logs(session.id)["log"]
    except (LivyClientLibException, requests.RequestException, KeyError):
        lines = session.session_info.splitlines()
    return " | ".join(line.strip() for line in lines[-_LOG_TAIL:] if line.strip()) or "(empty)"


def _delete_quietly(session: LivySession) -> None:
    if session.id == -1:
        return
    session_id = session.id
    try:
        session.delete()
    except (LivyClientLibException, requests.RequestException) as exc:
        log.warning("Could not delete Livy session %s: %s", session_id, exc)
    finally:
        session._stop_heartbeat_thread()  # sparkmagic skips it when the DELETE fails
