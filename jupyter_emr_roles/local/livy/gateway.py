"""A Livy-compatible REST gateway, one listening port per emulated cluster.

It speaks the part of Apache Livy 0.7/0.8's REST API that sparkmagic uses
(sessions, statements, cancel, logs), authenticates every request with the
short-lived user name and password that the emulated
GetClusterSessionCredentials issued (``issued.CredentialRegistry``), and runs
each session's code in its own worker process under the session's runtime
role. It runs on the current asyncio loop (tornado), next to the emulated
control plane.

Who may use an endpoint, and whose sessions a request reaches, is its front's
(``LivyFront``): a cluster's checks HTTP Basic; another (EMR Serverless's Livy
endpoint, ``serverless_livy.py``) serves many applications on one port, each
under a path prefix of its own, and checks a SigV4 signature instead.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import http
import json
import logging
import socket
import ssl
import sys
from typing import Any, Protocol

import tornado.httpserver
import tornado.iostream
import tornado.netutil
import tornado.web
from tornado.httputil import HTTPServerRequest
from tornado.ioloop import PeriodicCallback

from ..faults import DROP, NO_FAULTS, Dice, Injector, ServiceFaults
from ..issued import CredentialRegistry, CredentialRejected, Identity
from .sessions import (
    ClusterBehaviour,
    ClusterSessions,
    EngineName,
    LivyRefusal,
    SessionRequest,
    WorkerEnv,
    WorkerSpec,
    statement_kind,
)

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 100
# A TLS record starts with its content type; 0x16 is a handshake (a client's hello).
_TLS_HANDSHAKE = b"\x16"
# What Livy's Jetty answers when a request's first byte is a control character.
_JETTY_BAD_MESSAGE = b"<h1>Bad Message 400</h1><pre>reason: Illegal character CNTL=0x16</pre>"
_JETTY_400 = (b"HTTP/1.1 400 Illegal character CNTL=0x16\r\n"
              b"Content-Type: text/html;charset=iso-8859-1\r\n"
              b"Content-Length: " + str(len(_JETTY_BAD_MESSAGE)).encode() + b"\r\n"
              b"Connection: close\r\n\r\n" + _JETTY_BAD_MESSAGE)


class LivyFront(Protocol):
    """Who may use a Livy endpoint, and whose sessions a request reaches."""

    def admit(self, request: HTTPServerRequest, endpoint: str | None) -> tuple[
            ClusterSessions, Identity]:
        """The sessions the request reaches (``endpoint``: the path's first segment where the
        front serves several under prefixes) and who it acts for; LivyRefusal otherwise."""

    def creating(self, request: HTTPServerRequest, identity: Identity,
                 session: SessionRequest) -> Identity:
        """Who a new session runs as, from the request, its identity and its POST /sessions
        body; LivyRefusal where it may not be created."""


class _ClusterFront:
    """A cluster's Livy: HTTP Basic with a login GetClusterSessionCredentials issued, which
    names the runtime role every session of that login runs as."""

    def __init__(self, sessions: ClusterSessions, registry: CredentialRegistry) -> None:
        self.sessions = sessions
        self.registry = registry

    def admit(self, request: HTTPServerRequest, endpoint: str | None) -> tuple[
            ClusterSessions, Identity]:
        self.sessions.requests += 1
        return self.sessions, self._authenticate(request)

    def creating(self, request: HTTPServerRequest, identity: Identity,
                 session: SessionRequest) -> Identity:
        return identity

    def _authenticate(self, request: HTTPServerRequest) -> Identity:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic" or not encoded.strip():
            raise LivyRefusal(401, "HTTP Basic credentials are required: get a user name and "
                                 "password from GetClusterSessionCredentials")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise LivyRefusal(401, "the HTTP Basic credentials are malformed") from None
        username, separator, password = decoded.partition(":")
        if not separator:
            raise LivyRefusal(401, "the HTTP Basic credentials are malformed")
        try:
            return self.registry.check(self.sessions.cluster_id, username, password)
        except CredentialRejected as exc:
            raise LivyRefusal(401, f"access denied: {exc}") from None


class _LivyHandler(tornado.web.RequestHandler):
    """Admits every request by its front and answers every error as Livy does: JSON
    ``{"msg": ...}`` (or the front's own refusal)."""

    identity: Identity
    sessions: ClusterSessions

    def initialize(self, front: LivyFront, injector: Injector) -> None:
        self.front = front
        self.injector = injector
        self._after: int | str | None = None

    async def prepare(self) -> None:
        """The injected faults first (``local up --faults``): the latency, then a proxy's
        answer in Livy's place, or one noted for after Livy acted."""
        if self.injector.faults.latency:
            await asyncio.sleep(self.injector.faults.latency)
        fault = self.injector.decide()
        if Injector.before(fault):
            raise LivyRefusal(int(fault or 0), f"injected fault: HTTP {fault} before Livy")
        self._after = fault
        endpoint = self.path_kwargs.pop("endpoint", None)
        self.sessions, self.identity = self.front.admit(self.request, endpoint)

    def finish(self, chunk: Any = None) -> Any:
        """Livy's answer, unless an injected fault takes its place now that Livy acted: the
        connection closed without an answer, or a proxy's 504."""
        after, self._after = self._after, None
        if after == DROP:
            log.info("injected fault: %s %s done, its answer dropped", self.request.method,
                     self.request.path)
            self.request.connection.stream.close()
        elif after is not None:
            self.clear()
            self.set_status(int(after))
            chunk = {"msg": f"injected fault: HTTP {after} after Livy acted"}
        return super().finish(chunk)

    def body(self) -> dict[str, Any]:
        if not self.request.body.strip():
            return {}
        try:
            body = json.loads(self.request.body)
        except ValueError as exc:
            raise LivyRefusal(400, f"the request body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise LivyRefusal(400, "the request body must be a JSON object")
        return body

    def int_argument(self, name: str) -> int | None:
        """A non-negative integer query argument, or None when it is absent."""
        value = self.get_query_argument(name, None)
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            raise LivyRefusal(400, f"'{name}' must be an integer, not {value!r}") from None
        if number < 0:
            raise LivyRefusal(400, f"'{name}' must not be negative")
        return number

    def reply(self, document: dict[str, Any], status: int = 200) -> None:
        self.set_status(status)
        self.finish(document)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """A LivyRefusal is an answer, not a fault of the gateway: only log the others."""
        if not isinstance(value, LivyRefusal):
            super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs["exc_info"][1] if "exc_info" in kwargs else None
        if isinstance(error, LivyRefusal):
            self.set_status(error.status)
            for name, value in error.headers.items():
                self.set_header(name, value)
            document = error.document
        elif isinstance(error, tornado.web.HTTPError):
            document = {"msg": error.log_message or http.HTTPStatus(error.status_code).phrase}
        else:
            document = {"msg": "internal error of the local Livy gateway; see its log"}
        if self.get_status() == 401:
            self.set_header("WWW-Authenticate", 'Basic realm="Livy"')
        self.finish(document)


class _SessionsHandler(_LivyHandler):
    def get(self) -> None:
        start = self.int_argument("from") or 0
        size = self.int_argument("size")
        own = self.sessions.owned_by(self.identity)
        page = own[start:start + (DEFAULT_PAGE_SIZE if size is None else size)]
        self.reply({"from": start, "total": len(own), "sessions": [s.to_json() for s in page]})

    def post(self) -> None:
        request = SessionRequest.parse(self.body())
        session = self.sessions.create(self.front.creating(self.request, self.identity, request),
                                       request)
        self.set_header("Location", f"/sessions/{session.id}")
        self.reply(session.to_json(), 201)


class _SessionHandler(_LivyHandler):
    def get(self, session_id: str) -> None:
        self.reply(self.sessions.get(self.identity, int(session_id)).to_json())

    async def delete(self, session_id: str) -> None:
        await self.sessions.delete(self.identity, int(session_id))
        self.reply({"msg": "deleted"})


class _SessionStateHandler(_LivyHandler):
    def get(self, session_id: str) -> None:
        session = self.sessions.get(self.identity, int(session_id))
        self.reply({"id": session.id, "state": session.state})


class _SessionLogHandler(_LivyHandler):
    def get(self, session_id: str) -> None:
        session = self.sessions.get(self.identity, int(session_id))
        size = self.int_argument("size")
        self.reply(session.log_page(self.int_argument("from"),
                                    DEFAULT_PAGE_SIZE if size is None else size))


class _StatementsHandler(_LivyHandler):
    def get(self, session_id: str) -> None:
        session = self.sessions.get(self.identity, int(session_id))
        statements = session.statements()
        self.reply({"total_statements": len(statements),
                    "statements": [s.to_json() for s in statements]})

    def post(self, session_id: str) -> None:
        session = self.sessions.get(self.identity, int(session_id))
        body = self.body()
        code = body.get("code")
        if not isinstance(code, str):
            raise LivyRefusal(400, "code must be a string")
        statement = session.submit(code, statement_kind(session.request.kind, body.get("kind")))
        self.set_header("Location", f"/sessions/{session.id}/statements/{statement.id}")
        self.reply(statement.to_json(), 201)


class _StatementHandler(_LivyHandler):
    def get(self, session_id: str, statement_id: str) -> None:
        session = self.sessions.get(self.identity, int(session_id))
        self.reply(session.statement(int(statement_id)).to_json())


class _CancelHandler(_LivyHandler):
    def post(self, session_id: str, statement_id: str) -> None:
        self.sessions.get(self.identity, int(session_id)).cancel(int(statement_id))
        self.reply({"msg": "canceled"})


class _NotFoundHandler(_LivyHandler):
    async def prepare(self) -> None:
        await super().prepare()
        raise LivyRefusal(404, f"no such resource: {self.request.path}")


class _PlainHttpServer(tornado.httpserver.HTTPServer):
    """Livy on a plain-HTTP port, as Jetty serves it: a TLS hello is not HTTP, and Jetty answers
    its first byte at once with 400 and closes, so a client that tries HTTPS first gets a
    protocol error straight away. (tornado alone would wait for a request line that never
    comes, and the client would see a time-out instead.)"""

    async def handle_stream(self, stream: tornado.iostream.IOStream,
                            address: tuple[Any, ...]) -> None:
        if await _first_byte(stream.socket) == _TLS_HANDSHAKE:
            try:
                stream.socket.recv(65536)  # the hello, read so that closing sends no reset
            except OSError:
                pass
            try:
                await stream.write(_JETTY_400)
            except tornado.iostream.StreamClosedError:
                pass
            stream.close()
            return
        super().handle_stream(stream, address)


async def _first_byte(sock: socket.socket) -> bytes:
    """The first byte the client sent, left unread for the HTTP parser (empty if it hung up)."""
    loop = asyncio.get_running_loop()
    readable = loop.create_future()
    loop.add_reader(sock.fileno(), lambda: readable.done() or readable.set_result(None))
    try:
        await readable
    finally:
        loop.remove_reader(sock.fileno())
    try:
        return sock.recv(1, socket.MSG_PEEK)
    except OSError:
        return b""


def _log_request(handler: tornado.web.RequestHandler) -> None:
    """Access log at debug level: method, path and status only (never headers)."""
    log.debug("%s %s -> %d", handler.request.method, handler.request.path, handler.get_status())


def _application(front: LivyFront, injector: Injector,
                 prefix: str = "") -> tornado.web.Application:
    """Livy's routes, each under ``prefix`` (a pattern whose group ``endpoint`` names which
    of the front's endpoints a request is for)."""
    args = {"front": front, "injector": injector}
    sid = prefix + r"/sessions/(?P<session_id>\d+)"
    statement = sid + r"/statements/(?P<statement_id>\d+)"
    return tornado.web.Application(
        [
            (prefix + r"/sessions/?", _SessionsHandler, args),
            (sid + r"/?", _SessionHandler, args),
            (sid + r"/state/?", _SessionStateHandler, args),
            (sid + r"/log/?", _SessionLogHandler, args),
            (sid + r"/statements/?", _StatementsHandler, args),
            (statement + r"/?", _StatementHandler, args),
            (statement + r"/cancel/?", _CancelHandler, args),
        ],
        default_handler_class=_NotFoundHandler, default_handler_args=args,
        log_function=_log_request, compress_response=False)


class LivyGateway:
    """Livy endpoints for the emulated clusters: one port per cluster, one process per session;
    and other fronts' endpoints (``serve``), whose sessions it keeps in groups of their own.

    ``worker_env(identity)`` returns the extra environment (the runtime role's
    AWS credentials and endpoint) for a session's worker; it may block, so it
    runs in a thread. The gateway must be used from one asyncio loop: the one
    ``add_cluster`` is first awaited on. ``sessions_summary`` may be called
    from any thread. ``faults`` are injected into every endpoint's requests, decided by
    ``dice``.
    """

    def __init__(self, registry: CredentialRegistry, worker_env: WorkerEnv,
                 engine: EngineName = "fake", ssl_context: ssl.SSLContext | None = None,
                 session_timeout: float = 3600.0, host: str = "127.0.0.1",
                 python: str = sys.executable, *, start_timeout: float = 180.0,
                 stop_timeout: float = 5.0, dead_retention: float = 600.0,
                 log_lines: int = 1000, faults: ServiceFaults = NO_FAULTS,
                 dice: Dice | None = None) -> None:
        if engine not in ("fake", "real"):
            raise ValueError(f"engine must be 'fake' or 'real', not {engine!r}")
        self._registry = registry
        self._spec = WorkerSpec(engine=engine, python=python, worker_env=worker_env,
                                start_timeout=start_timeout, stop_timeout=stop_timeout,
                                log_lines=log_lines)
        self._ssl_context = ssl_context
        self._session_timeout = session_timeout
        self._dead_retention = dead_retention
        self._host = host
        self._clusters: dict[str, tuple[ClusterSessions, tornado.httpserver.HTTPServer, int]] = {}
        self._groups: dict[str, ClusterSessions] = {}  # other fronts' sessions, by endpoint
        self._servers: list[tornado.httpserver.HTTPServer] = []  # other fronts' servers
        self._sweeper: PeriodicCallback | None = None
        self._closed = False
        self._injector = Injector(faults, dice or Dice(None))

    async def add_cluster(self, cluster_id: str, port: int = 0, *,
                          behaviour: ClusterBehaviour = ClusterBehaviour(),
                          tls: bool = True) -> int:
        """Serve Livy for ``cluster_id`` on ``host:port`` (0 picks a free port); returns the port.

        ``behaviour`` says how busy the cluster is and whether sessions are tied to the
        login that created them.
        ``tls=False`` serves plain HTTP even when the gateway has a certificate, as Livy on
        EMR 6.9 to 7.3 does unless the admin enables TLS for it.

        Adding a cluster that is already served returns its port when ``port``
        is 0 or that same port, and raises ValueError for a different port.
        """
        if self._closed:
            raise RuntimeError("the Livy gateway is closed")
        if cluster_id in self._clusters:
            existing = self._clusters[cluster_id][2]
            if port in (0, existing):
                return existing
            raise ValueError(f"cluster {cluster_id} is already served on port {existing}")
        sessions = ClusterSessions(cluster_id, self._spec, self._session_timeout,
                                   self._dead_retention, behaviour)
        ssl_context = self._ssl_context if tls else None
        server, bound = self._listen(
            _application(_ClusterFront(sessions, self._registry), self._injector), port, ssl_context,
            tornado.httpserver.HTTPServer if ssl_context else _PlainHttpServer)
        self._clusters[cluster_id] = (sessions, server, bound)
        log.info("Livy for %s listening on %s:%d (%s)", cluster_id, self._host, bound,
                 "https" if ssl_context else "http")
        return bound

    async def serve(self, front: LivyFront, prefix: str, port: int = 0,
                    ssl_context: ssl.SSLContext | None = None) -> int:
        """Serve ``front``'s endpoints on one port (0 picks a free one), each under ``prefix``
        (a pattern with a group ``endpoint``), over HTTPS where ``ssl_context`` is given;
        returns the port."""
        if self._closed:
            raise RuntimeError("the Livy gateway is closed")
        server, bound = self._listen(_application(front, self._injector, prefix), port, ssl_context,
                                     tornado.httpserver.HTTPServer)
        self._servers.append(server)
        return bound

    def sessions(self, endpoint: str, behaviour: ClusterBehaviour, worker_env: WorkerEnv,
                 kind: str) -> ClusterSessions:
        """The sessions of one of a front's endpoints (made on first use), whose workers get
        ``worker_env``'s environment; ``kind`` names what the endpoint's ID is."""
        if endpoint not in self._groups:
            spec = dataclasses.replace(self._spec, worker_env=worker_env)
            self._groups[endpoint] = ClusterSessions(endpoint, spec, self._session_timeout,
                                                     self._dead_retention, behaviour, kind)
        return self._groups[endpoint]

    def _listen(self, application: tornado.web.Application, port: int,
                ssl_context: ssl.SSLContext | None,
                server_class: type[tornado.httpserver.HTTPServer]) -> tuple[
                    tornado.httpserver.HTTPServer, int]:
        server = server_class(application, ssl_options=ssl_context)
        sockets = tornado.netutil.bind_sockets(port, address=self._host)
        server.add_sockets(sockets)
        if self._sweeper is None:
            interval = min(1.0, self._session_timeout / 4)
            self._sweeper = PeriodicCallback(self._sweep, interval * 1000)
            self._sweeper.start()
        return server, sockets[0].getsockname()[1]

    async def remove_cluster(self, cluster_id: str) -> None:
        """Stop serving one cluster and kill its sessions' workers (a terminated cluster)."""
        entry = self._clusters.pop(cluster_id, None)
        if entry is not None:
            await self._shut(*entry[:2])

    async def restart(self, cluster_id: str) -> None:
        """The cluster's Livy restarted: its sessions are gone (their drivers stopped, and
        Livy forgets them); it serves again at once, with none."""
        await self._cluster(cluster_id).forget_all("Livy restarted")

    async def kill(self, cluster_id: str, session_id: int) -> bool:
        """An admin deleted one session of the cluster's Livy; False if Livy had none."""
        return await self._cluster(cluster_id).kill(session_id, "killed by an administrator")

    def _cluster(self, cluster_id: str) -> ClusterSessions:
        if cluster_id not in self._clusters:
            raise KeyError(f"no Livy is served for cluster {cluster_id}")
        return self._clusters[cluster_id][0]

    def request_counts(self) -> dict[str, int]:
        """Requests each cluster's Livy has had, for ``local status`` (a client's cost)."""
        return {cluster_id: sessions.requests
                for cluster_id, (sessions, _, _) in list(self._clusters.items())}

    def injected_faults(self) -> dict[str, int]:
        """The faults injected into Livy's requests so far, by kind (502, 503, 504, drop)."""
        return self._injector.counts()

    def _all_sessions(self) -> list[ClusterSessions]:
        return [entry[0] for entry in list(self._clusters.values())] + \
            list(self._groups.values())

    def sessions_summary(self) -> list[dict[str, Any]]:
        """Every session of every cluster and endpoint, for ``local status``; holds no
        secrets."""
        return [row for sessions in self._all_sessions() for row in sessions.summaries()]

    async def close(self) -> None:
        """Stop listening everywhere and kill every worker; the gateway cannot be reused."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.stop()
        entries = list(self._clusters.values())
        self._clusters.clear()
        for server in self._servers:
            server.stop()
        await asyncio.gather(*(self._shut(sessions, server) for sessions, server, _ in entries),
                             *(sessions.close() for sessions in self._groups.values()))
        await asyncio.gather(*(server.close_all_connections() for server in self._servers))

    @staticmethod
    async def _shut(sessions: ClusterSessions, server: tornado.httpserver.HTTPServer) -> None:
        server.stop()
        await sessions.close()
        await server.close_all_connections()

    def _sweep(self) -> None:
        for sessions in self._all_sessions():
            sessions.sweep()
